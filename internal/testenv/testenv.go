// Package testenv is for tests only: it says what to do when a real part a test needs (a broker,
// a mount, a build) is missing.
package testenv

import (
	"os"
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
