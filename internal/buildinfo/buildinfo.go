// Package buildinfo says which build of custody is running: the version, commit and build date
// set by the Makefile's -ldflags (-X), completed from the Go toolchain's embedded build info
// (runtime/debug: module version, vcs.revision, vcs.time) when a binary was built without them.
//
// Contract: Get never fails — unknown parts read "unknown" (the version "dev").
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at link time: go build -ldflags "-X github.com/custodyhq/custody/internal/buildinfo.version=v1.2.3 …".
var (
	version = ""
	commit  = ""
	date    = ""
)

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
}

// Get is this binary's build.
func Get() Info {
	in := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	for _, p := range []*string{&in.Version, &in.Commit, &in.Date} {
		if *p == "" {
			*p = "unknown"
		}
	}
	if in.Version == "unknown" {
		in.Version = "dev"
	}
	return in
}

// String is the line --version prints: "custodyd 1.2.0 (commit 1a2b3c4d5e6f, built 2026-12-06T04:00:00Z, go1.26.8)".
func (in Info) String() string {
	c := in.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if in.Modified {
		c += "+dirty"
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s)", strings.TrimPrefix(in.Version, "v"), c, in.Date, in.GoVersion)
}

// Line is the --version output of program.
func Line(program string) string { return program + " " + Get().String() + "\n" }
