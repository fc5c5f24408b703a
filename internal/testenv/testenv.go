// Package testenv is for tests only: it says what to do when a real part a test needs (a broker,
// a mount, a build) is missing.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Unavailable skips the test on a developer's machine, but fails it under CI (.ci/run sets CI),
// where every real part is set up: a skipped test there would prove nothing.
func Unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatal(why)
	}
	tb.Skip(why)
}

// Mosquitto finds the mosquitto broker and its mosquitto_passwd (Debian package mosquitto, which
// make setup installs; the broker lives in /usr/sbin, outside a user's PATH), or reports them
// Unavailable.
func Mosquitto(tb testing.TB) (broker, passwd string) {
	tb.Helper()
	broker, err := exec.LookPath("mosquitto")
	if err != nil {
		broker, err = exec.LookPath("/usr/sbin/mosquitto")
	}
	if err != nil {
		Unavailable(tb, "mosquitto is not installed (make setup installs the Debian package mosquitto)")
	}
	passwd, err = exec.LookPath("mosquitto_passwd")
	if err != nil {
		Unavailable(tb, "mosquitto_passwd is not installed (Debian package mosquitto)")
	}
	return broker, passwd
}

// MosquittoPasswords writes a mosquitto password file at file with one account per entry of
// accounts (user name → password), made by mosquitto_passwd.
func MosquittoPasswords(tb testing.TB, passwd, file string, accounts map[string]string) {
	tb.Helper()
	create := true
	for user, pw := range accounts {
		args := []string{"-b", file, user, pw}
		if create {
			args = append([]string{"-c"}, args...)
			create = false
		}
		if out, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
			tb.Fatalf("mosquitto_passwd %s: %v: %s", user, err, out)
		}
	}
}
