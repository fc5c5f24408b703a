package ctl

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// A 清查 through custodyctl against a real custodyd API (issue 14 point 7): the custodian opens
// the check of BGS and scans its two untagged copies at the desk; the administrator cannot open
// one, the custodian cannot sign twice nor close with one signature; the leader countersigns;
// the closed check's record is downloaded as a PDF with its counts.
func TestCheckThroughCustodyctl(t *testing.T) {
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader})
	st, as, ok := o.st, o.run, o.ok
	count := func(q string) int {
		t.Helper()
		var n int
		if err := st.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(user, stdin string, exit int, table, zh string, args ...string) {
		t.Helper()
		before, audited := count(table), count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '`+user+`'`)
		code, out, errOut := as(user, stdin, args...)
		if code != exit || !strings.Contains(errOut, zh) {
			t.Errorf("custodyctl %s as %s: exit %d %q, want %d with %q\n%s", strings.Join(args, " "), user, code, errOut, exit, zh, out)
		}
		if after := count(table); after != before {
			t.Errorf("custodyctl %s as %s: %q went from %d to %d, want nothing written", strings.Join(args, " "), user, table, before, after)
		}
		if n := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); n != audited+1 {
			t.Errorf("custodyctl %s as %s: %d refusal records, want %d", strings.Join(args, " "), user, n, audited+1)
		}
	}
	for user, code := range map[string]string{"wang.fang": "B-WF", "liu.qiang": "B-LQ"} {
		ok("admin", "", "badge", "issue", user, code)
	}
	ok("wang.fang", "\n8080\n", "badge", "pin", "--pin-stdin")
	ok("liu.qiang", "\n9090\n", "badge", "pin", "--pin-stdin")
	ok("wang.fang", "", "cabinet", "add", "C-01", "一号柜", "--unit", "BGS")
	ok("wang.fang", "", "document", "receive", "--number", "京办〔2026〕9号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")

	refused("admin", "", ExitAuth, `SELECT count(*) FROM checks`, "无权访问", "check", "open", "--unit", "BGS")
	if out := ok("wang.fang", "", "check", "open", "--unit", "BGS"); !strings.Contains(out, "进行中") || !strings.Contains(out, "季度") {
		t.Errorf("check open: got\n%s", out)
	}
	// No tags: both copies are 未核对 until scanned at the desk.
	if out := ok("wang.fang", "", "check", "show", "1"); strings.Count(out, "!未核对") != 2 {
		t.Errorf("check show before scanning: got\n%s\nwant two copies !未核对", out)
	}
	ok("wang.fang", "", "check", "scan", "1", "1", "2")
	if out := ok("liu.qiang", "", "check", "show", "1"); strings.Count(out, "工作台扫描核对") != 2 || strings.Contains(out, "!") {
		t.Errorf("check show after scanning: got\n%s", out)
	}
	sigs := `SELECT count(*) FROM check_signatures`
	refused("wang.fang", "", ExitConflict, sigs, "现有 0 人", "check", "close", "1")
	ok("wang.fang", "8080\n", "check", "sign", "1", "--pin-stdin")
	refused("wang.fang", "8080\n", ExitConflict, sigs, "同一人不能签两次", "check", "sign", "1", "--pin-stdin")
	refused("wang.fang", "", ExitConflict, sigs, "现有 1 人", "check", "close", "1")
	refused("sec.admin", "8080\n", ExitAuth, sigs, "无权访问", "check", "sign", "1", "--pin-stdin")
	ok("liu.qiang", "9090\n", "check", "sign", "1", "--pin-stdin")
	if out := ok("wang.fang", "", "check", "close", "1"); !strings.Contains(out, "清查记录已存档") {
		t.Errorf("check close: got\n%s", out)
	}
	pdf := filepath.Join(t.TempDir(), "清查记录.pdf")
	ok("sec.admin", "", "check", "report", "1", "-o", pdf)
	b, err := os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatalf("check report: %v, %q…", err, b[:min(len(b), 8)])
	}
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	for _, want := range []string{"涉密载体清查记录", "机密★10年", "应查份数：2", "工作台扫描：2", "差异：0", "差异清单：无", "签字人2：刘强（liu.qiang），领导"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("清查记录 lacks %q:\n%s", want, text)
		}
	}
	if out := ok("wang.fang", "", "check", "list", "--unit", "BGS"); !strings.Contains(out, "已结束") {
		t.Errorf("check list: got\n%s", out)
	}
}
