package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this very binary as custodyd (CUSTODYD_TEST_MAIN=1), so the
// signal handling under test is main's own, built with the test's flags (-race included).
func TestMain(m *testing.M) {
	if os.Getenv("CUSTODYD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStopsCleanlyOnSignal: custodyd stopped with Ctrl-C (SIGINT, as make run and make demo
// are) or by systemd (SIGTERM) drains, closes the store and exits 0 with no error logged — a
// non-zero status there would make every stop look like a failure.
func TestStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "custodyd.toml")
			os.WriteFile(cfg, []byte("data_dir = \""+filepath.Join(dir, "data")+"\"\n[http]\nlisten = \"127.0.0.1:0\"\n[mqtt]\nlisten = \"127.0.0.1:0\"\n"), 0o600)
			cmd := exec.Command(os.Args[0], "-config", cfg)
			cmd.Env = append(os.Environ(), "CUSTODYD_TEST_MAIN=1", "CUSTODY_ADMIN_PASSWORD=admin-password-1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout = &bytes.Buffer{}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var log strings.Builder
			addr := make(chan string, 1)
			read := make(chan struct{})
			go func() {
				defer close(read)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					mu.Lock()
					log.WriteString(sc.Text() + "\n")
					mu.Unlock()
					if m := regexp.MustCompile(`msg="http started" addr=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
						addr <- m[1]
					}
				}
			}()
			logged := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
			select {
			case a := <-addr:
				resp, err := http.Get("http://" + a + "/healthz")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("healthz: %d", resp.StatusCode)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("custodyd did not start:\n%s", logged())
			}

			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { <-read; done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("custodyd after %v: %v, want exit status 0\n%s", sig, err, logged())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("custodyd still running 30 s after %v:\n%s", sig, logged())
			}
			out := logged()
			if strings.Contains(out, "level=ERROR") || !strings.HasSuffix(out, "msg=\"custodyd stopped\"\n") {
				t.Errorf("custodyd's log after %v:\n%s\nwant no error and \"custodyd stopped\" last", sig, out)
			}
		})
	}
}
