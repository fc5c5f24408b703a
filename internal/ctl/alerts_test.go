package ctl

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// TestAlertCommands drives custodyctl's alert commands against a real custodyd API over HTTP.
func TestAlertCommands(t *testing.T) {
	ctx := context.Background()
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian})
	book := alert.NewBook(o.st, nil, nil)
	if err := book.Apply(ctx, alert.Evaluation{Findings: []reconcile.Finding{{Kind: reconcile.Misplaced, Subject: "item/9", Confidence: reconcile.Confirmed, Cabinet: "C-02", Item: "国保〔2026〕7号/2", Level: custody.Secret, At: time.Now(),
		Text: custody.Text{ZH: "文件 国保〔2026〕7号/2 登记在柜 C-01，却在柜 C-02 被读到", EN: "item registered in C-01 read in C-02"}}}}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) { return o.run("wang.fang", "", args...) }
	code, out, _ := run("alerts")
	if code != ExitOK || !strings.Contains(out, "错放") || !strings.Contains(out, "C-02") || !strings.Contains(out, "警告") {
		t.Errorf("alerts: got %d\n%s\nwant the misplaced alert of C-02 in Chinese", code, out)
	}
	as, _ := book.Alerts(ctx, alert.Filter{})
	id := as[0].ID
	code, out, _ = run("alert", "show", itoa(id))
	if code != ExitOK || !strings.Contains(out, "已复核") || !strings.Contains(out, "登记在柜 C-01") || !strings.Contains(out, "opened") {
		t.Errorf("alert show: got %d\n%s\nwant the finding and the history", code, out)
	}
	if code, _, errOut := run("alert", "ack", itoa(id)); code != ExitUsage || !strings.Contains(errOut, "--note") {
		t.Errorf("alert ack without a note: got %d %q, want a usage error naming --note", code, errOut)
	}
	// Acknowledging is 确认收到, never plain 确认 (docs/glossary.md: 确认 is kept for signatures
	// and checks, and a confirmed finding is 已复核).
	code, out, _ = run("alert", "ack", itoa(id), "--note", "正在核查 C-02")
	if code != ExitOK || !strings.Contains(out, "已确认收到") {
		t.Errorf("alert ack: got %d %q, want 已确认收到", code, out)
	}
	if code, out, _ = run("--lang", "en", "alert", "show", itoa(id)); code != ExitOK || !strings.Contains(out, "acknowledged") {
		t.Errorf("alert show in English after the ack: got %d\n%s\nwant acknowledged", code, out)
	}
	if code, out, _ = run("alert", "resolve", itoa(id), "--note", "已放回 C-01"); code != ExitOK {
		t.Errorf("alert resolve: got %d %q, want success", code, out)
	}
	if code, _, _ = run("alert", "resolve", itoa(id), "--note", "again"); code != ExitConflict {
		t.Errorf("resolving twice: got exit %d, want %d", code, ExitConflict)
	}
	code, out, _ = run("--json", "findings", "--all")
	if code != ExitOK || !strings.Contains(out, `"kind": "misplaced"`) {
		t.Errorf("findings --all --json: got %d\n%s", code, out)
	}
	if code, _, _ = run("inventory", "runs"); code != ExitOK {
		t.Errorf("inventory runs: got exit %d, want 0", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
