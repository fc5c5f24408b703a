package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestLinkerValuesWin(t *testing.T) {
	version, commit, date = "v1.4.0", "0123456789abcdef0123", "2026-12-06T04:00:00Z"
	defer func() { version, commit, date = "", "", "" }()
	in := Get()
	if in.Version != "v1.4.0" || in.Commit != "0123456789abcdef0123" || in.Date != "2026-12-06T04:00:00Z" || in.GoVersion != runtime.Version() {
		t.Fatalf("Get() = %+v", in)
	}
	line := Line("custodyd")
	for _, want := range []string{"custodyd 1.4.0", "commit 0123456789ab", "built 2026-12-06T04:00:00Z", runtime.Version()} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}

func TestNothingEmpty(t *testing.T) {
	in := Get()
	if in.Version == "" || in.Commit == "" || in.Date == "" || in.GoVersion == "" {
		t.Fatalf("Get() has empty parts: %+v", in)
	}
}
