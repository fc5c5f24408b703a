package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// All four programs say which build they are (issue 16): what the Makefile's -ldflags set, and the
// Go version; custodyd exposes the same as custody_build_info.
func TestVersionOfEveryProgram(t *testing.T) {
	dir := t.TempDir()
	const bi = "github.com/custodyhq/custody/internal/buildinfo"
	ld := "-X " + bi + ".version=v9.8.7 -X " + bi + ".commit=feedfacecafebeef0001 -X " + bi + ".date=2026-12-06T04:30:00Z"
	build := exec.Command("go", "build", "-ldflags", ld, "-o", dir+"/", "../../cmd/custodyd", "../../cmd/custodyctl", "../../cmd/custody-agent", "../../cmd/cabinet-sim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, prog := range []string{"custodyd", "custodyctl", "custody-agent", "cabinet-sim"} {
		out, err := exec.Command(filepath.Join(dir, prog), "--version").CombinedOutput()
		if err != nil {
			t.Errorf("%s --version: %v\n%s", prog, err, out)
			continue
		}
		for _, want := range []string{prog + " 9.8.7", "commit feedfacecafe", "built 2026-12-06T04:30:00Z", runtime.Version()} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s --version = %q, lacks %q", prog, out, want)
			}
		}
	}

	d := startDaemon(t, t.TempDir())
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "custody_build_info{") || !strings.Contains(string(b), `goversion="`+runtime.Version()+`"`) {
		t.Errorf("/metrics has no custody_build_info with the Go version:\n%.2000s", b)
	}
	c := ctl{t: t, server: d.addr, home: t.TempDir()}
	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	out := c.ok("", "version")
	if !strings.Contains(out, "custodyctl ") || !strings.Contains(out, "custodyd ") || !strings.Contains(out, "Asia/Shanghai（北京时间）") {
		t.Errorf("custodyctl version:\n%s", out)
	}
}
