package ctl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// TestDeskCommands drives a borrowing, a return and a destruction through custodyctl against a
// real custodyd API over HTTP, as a custodian at the desk would.
func TestDeskCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"li.na", "李娜", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhang.wei", "张伟", custody.Holder})
	if _, err := o.reg.Grant(ctx, o.sec, register.GrantRequest{Username: "liu.qiang", Grant: register.GrantSecrecy, Unit: "BGS"}); err != nil {
		t.Fatal(err)
	}
	as, ok := o.run, o.ok
	idIn := func(out, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in\n%s", re, out)
		}
		return m[1]
	}

	ok("admin", "", "badge", "issue", "zhang.wei", "B-ZW")
	ok("admin", "", "badge", "issue", "li.na", "B-LN")
	// Each holder chooses their own PIN; the administrator never knows it.
	ok("zhang.wei", "\n2468\n", "badge", "pin", "--pin-stdin")
	ok("li.na", "\n1357\n", "badge", "pin", "--pin-stdin")
	ok("wang.fang", "", "cabinet", "add", "C-01", "一号柜", "--unit", "BGS")
	ok("wang.fang", "", "desk", "add", "D-01", "机要室工作台", "--room", "R301")
	out := ok("wang.fang", "", "document", "receive", "--number", "京办〔2026〕9号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")
	if !strings.Contains(out, "2 份已入柜 C-01") {
		t.Errorf("document receive: got\n%s\nwant 2 copies stored", out)
	}
	// Tag encoding goes through the desk's agent (internal/daemon's test runs the whole path);
	// here custodyd has no company prefix (items without EPC), and the command's own errors are checked.
	if code, _, _ := as("wang.fang", "", "item", "encode", "1"); code != ExitUsage {
		t.Errorf("item encode without --desk: got exit %d, want %d", code, ExitUsage)
	}
	if code, _, errOut := as("wang.fang", "", "item", "encode", "1", "--desk", "D-01"); code != ExitUsage || !strings.Contains(errOut, "没有 EPC") {
		t.Errorf("item encode of an item without EPC (no company prefix): got exit %d %s, want %d saying so", code, errOut, ExitUsage)
	}
	if code, _, _ := as("liu.qiang", "", "item", "encode", "1", "--desk", "D-01"); code != ExitAuth {
		t.Errorf("item encode by a leader: got exit %d, want %d", code, ExitAuth)
	}

	out = ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "借阅", "--due", time.Now().Add(48*time.Hour).Format("2006-01-02 15:04"))
	s := idIn(out, `交接 (\d+)`)
	// Scans as a keyboard-wedge scanner types them, a duplicate among them.
	code, out, errOut := as("wang.fang", "B-ZW\n1\n2\n2\n\n", "handover", "scan", s, "--stdin")
	if code != ExitConflict || !strings.Contains(out, "已扫描 2 份") || !strings.Contains(errOut, "已扫描过") || !strings.Contains(out, "张伟") {
		t.Errorf("handover scan: got %d\n%s%s\nwant 2 counted, the duplicate refused (exit 5)", code, out, errOut)
	}
	out = ok("wang.fang", "2468\n", "handover", "close", s, "--pin-stdin")
	if !strings.Contains(out, "已完成：2 份") {
		t.Errorf("handover close: got\n%s", out)
	}
	receipt := filepath.Join(dir, "交接单.pdf")
	ok("wang.fang", "", "handover", "receipt", s, "-o", receipt)
	if b, err := os.ReadFile(receipt); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("receipt: got %v, want a PDF file", err)
	}
	out = ok("liu.qiang", "", "report", "ledger", "--holder", "zhang.wei")
	if strings.Count(out, "京办〔2026〕9号") != 2 || !strings.Contains(out, "关于年终检查的通知") {
		t.Errorf("holdings: got\n%s\nwant both copies with zhang.wei", out)
	}
	if code, _, errOut := as("admin", "", "person", "close", "zhang.wei"); code != ExitConflict || !strings.Contains(errOut, "仍持有 2 份") {
		t.Errorf("person close while holding: got %d %q, want exit 5 仍持有 2 份", code, errOut)
	}

	out = ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "return")
	s = idIn(out, `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-ZW", "1", "2")
	ok("wang.fang", "2468\n", "handover", "close", s)

	out = ok("wang.fang", "", "destruction", "create", "1", "2", "--reason", "保密期限届满")
	approval := idIn(out, `approval approve (\d+)`)
	batch := idIn(out, `销毁批次 (\d+)`)
	if code, _, errOut := as("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "destroy", "--batch", batch); code != ExitConflict || !strings.Contains(errOut, "经领导批准") {
		t.Errorf("destroy before approval: got %d %q, want exit 5 and the reason", code, errOut)
	}
	ok("liu.qiang", "", "approval", "approve", approval, "--note", "同意")
	out = ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "destroy", "--batch", batch,
		"--courier", "市保密局 周强", "--receipt", "BMJ-2026-0815", "--supervisor", "刘强")
	s = idIn(out, `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-LN", "1", "2")
	ok("wang.fang", "1357\n", "handover", "close", s)
	// 送销 is not yet destroyed: the certificate waits for the bureau's.
	if code, _, errOut := as("wang.fang", "", "destruction", "certificate", batch, "--format", "csv", "-o", filepath.Join(dir, "x.csv")); code == 0 {
		t.Errorf("certificate before the bureau's: got exit 0 %q, want a refusal", errOut)
	}
	out = ok("wang.fang", "", "destruction", "certify", batch, "--certificate", "BMJ-XH-2026-031")
	if !strings.Contains(out, "BMJ-XH-2026-031") {
		t.Errorf("destruction certify: got %q, want the certificate number", out)
	}
	cert := filepath.Join(dir, "销毁证明.csv")
	ok("wang.fang", "", "destruction", "certificate", batch, "--format", "csv", "-o", cert)
	if b, _ := os.ReadFile(cert); !bytes.Contains(b, []byte("涉密载体销毁证明")) || !bytes.Contains(b, []byte("李娜")) || !bytes.Contains(b, []byte("BMJ-XH-2026-031")) || !bytes.Contains(b, []byte("BMJ-2026-0815")) {
		t.Errorf("certificate: got\n%s\nwant the certificate naming both custodians", b)
	}
	out = ok("wang.fang", "", "--lang", "en", "item", "history", "1")
	for _, want := range []string{"Checked out", "Destroyed", "zhang.wei"} {
		if !strings.Contains(out, want) {
			t.Errorf("item history: got\n%s\nwant %q", out, want)
		}
	}
}
