package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/api"
)

// A newcomer's first hour: help answers on stdout with status 0; a typo says so.
func TestHelpAndUnknownCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		out, errs, code := runCLI(t, args...)
		if code != ExitOK || !strings.Contains(out, "item list") || errs != "" {
			t.Errorf("custodyctl %v: exit %d, stdout %d bytes, stderr %q; want the command list on stdout, exit 0", args, code, len(out), errs)
		}
	}
	for _, args := range [][]string{{"help", "item", "store"}, {"item", "store", "--help"}} {
		out, _, code := runCLI(t, args...)
		if code != ExitOK || !strings.Contains(out, "usage: custodyctl item store") || !strings.Contains(out, "-cabinet") || !strings.Contains(out, "-lang") {
			t.Errorf("custodyctl %v: exit %d\n%s", args, code, out)
		}
	}
	if out, _, code := runCLI(t, "help", "item"); code != ExitOK || !strings.Contains(out, "item store") || !strings.Contains(out, "item list") {
		t.Errorf("help item: exit %d\n%s", code, out)
	}
	_, errs, code := runCLI(t, "itme", "list")
	if code != ExitUsage || !strings.Contains(errs, `没有命令 "itme list"`) || !strings.Contains(errs, "custodyctl help") {
		t.Errorf("a typo: exit %d %q; want 2 naming it", code, errs)
	}
	_, errs, code = runCLI(t, "itme", "list", "--lang", "en")
	if code != ExitUsage || !strings.Contains(errs, `no command "itme list"`) {
		t.Errorf("a typo with --lang en after it: exit %d %q", code, errs)
	}
	if _, errs, code := runCLI(t, "help", "nothing-here"); code != ExitUsage || !strings.Contains(errs, "nothing-here") {
		t.Errorf("help of an unknown command: exit %d %q", code, errs)
	}
}

// --lang after the command, CUSTODY_LANG, and an empty list reads 无 / none, not a bare heading.
func TestLangAnywhereAndEmptyTables(t *testing.T) {
	ctx := context.Background()
	st, reg, token, _ := newRegister(t)
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	run := func(env map[string]string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		env["CUSTODY_SERVER"], env["CUSTODY_TOKEN"] = srv.URL, token
		c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		code := c.Run(ctx, args)
		return out.String(), errb.String(), code
	}
	if out, errs, code := run(map[string]string{}, "agent", "list"); code != ExitOK || strings.TrimSpace(out) != "无" {
		t.Errorf("empty agent list: exit %d %q %q, want 无", code, out, errs)
	}
	if out, _, code := run(map[string]string{}, "agent", "list", "--lang", "en"); code != ExitOK || strings.TrimSpace(out) != "none" {
		t.Errorf("empty agent list --lang en after the command: exit %d %q, want none", code, out)
	}
	if out, _, code := run(map[string]string{"CUSTODY_LANG": "en"}, "agent", "list"); code != ExitOK || strings.TrimSpace(out) != "none" {
		t.Errorf("CUSTODY_LANG=en: exit %d %q", code, out)
	}
	if out, _, _ := run(map[string]string{}, "agent", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("--json of an empty list = %q, want []", out)
	}
}

// The completion scripts are generated from the command table and are valid shell.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, errs, code := runCLI(t, "completion", sh)
		if code != ExitOK || !strings.Contains(out, "custodyctl") || !strings.Contains(out, "store") {
			t.Errorf("completion %s: exit %d %q", sh, code, errs)
		}
		if sh == "bash" {
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n of the completion: %v %s", err, b)
			}
		}
	}
	if _, _, code := runCLI(t, "completion", "tcsh"); code != ExitUsage {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
	if out, _, code := runCLI(t, "man"); code != ExitOK || !strings.HasPrefix(out, ".TH CUSTODYCTL 1") || !strings.Contains(out, "item store") {
		t.Errorf("man: exit %d", code)
	}
}
