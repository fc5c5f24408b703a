package ctl

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// TestTransitCommands: 机要交通 through custodyctl against a real API — a dispatch opened with
// courier, envelope, receiving unit and expected arrival (the site's zone), the copy listed in
// transit, the receipt recorded by number and name; a holder's dispatch and a dispatch without
// an envelope number refused with the reason, nothing written and the refusal audited; 上交 to an
// outside unit at the desk with its receipt.
func TestTransitCommands(t *testing.T) {
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhang.wei", "张伟", custody.Holder})
	st, reg := o.st, o.reg
	as := func(user string, args ...string) (int, string, string) { return o.run(user, "", args...) }
	ok := func(user string, args ...string) string {
		t.Helper()
		code, out, errOut := as(user, args...)
		if code != ExitOK {
			t.Fatalf("custodyctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	count := func(q string) int {
		var n int
		if err := st.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ok("wang.fang", "cabinet", "add", "C-01", "一号柜", "--unit", "BGS")
	ok("wang.fang", "desk", "add", "D-01", "机要室工作台", "--room", "R301")
	ok("wang.fang", "document", "receive", "--number", "京办〔2026〕19号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")

	expected := time.Now().Add(48 * time.Hour).In(reg.Zone().Location()).Format("2006-01-02 15:04")
	dispatch := []string{"handover", "open", "--desk", "D-01", "--purpose", "交机要交通", "--courier", "赵交通", "--destination", "市国资委办公室", "--expected", expected}
	refusals := count(`SELECT count(*) FROM audit WHERE action = 'refused'`)
	if code, _, errOut := as("zhang.wei", append(dispatch, "--envelope", "JY-1")...); code != ExitAuth {
		t.Errorf("a holder's dispatch: got exit %d %q, want %d", code, errOut, ExitAuth)
	}
	if code, _, errOut := as("wang.fang", dispatch...); code != ExitConflict || !strings.Contains(errOut, "信封编号") {
		t.Errorf("a dispatch without an envelope number: got exit %d %q, want %d naming 信封编号", code, errOut, ExitConflict)
	}
	if n := count(`SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("refused dispatches left %d sessions", n)
	}
	if n := count(`SELECT count(*) FROM audit WHERE action = 'refused'`); n != refusals+2 {
		t.Errorf("got %d refusal records, want %d", n, refusals+2)
	}

	out := ok("wang.fang", append(dispatch, "--envelope", "JY-2026-0042")...)
	if !strings.Contains(out, "封号：JY-2026-0042") || !strings.Contains(out, "预计送达："+expected) {
		t.Errorf("handover open: got\n%s\nwant the envelope and the expected arrival in the site's zone", out)
	}
	s := regexp.MustCompile(`交接 (\d+)`).FindStringSubmatch(out)[1]
	ok("wang.fang", "handover", "scan", s, "1")
	out = ok("wang.fang", "handover", "close", s)
	tr := regexp.MustCompile(`传递记录：(\d+)`).FindStringSubmatch(out)
	if tr == nil {
		t.Fatalf("handover close: got\n%s\nwant the transit named", out)
	}
	out = ok("liu.qiang", "transit", "list", "--state", "in_transit")
	if !strings.Contains(out, "JY-2026-0042") || !strings.Contains(out, "赵交通") || !strings.Contains(out, "在途") {
		t.Errorf("transit list: got\n%s\nwant the envelope in transit", out)
	}
	if code, _, _ := as("liu.qiang", "transit", "receipt", tr[1], "--receipt", "R-1", "--receiver", "钱收"); code != ExitAuth {
		t.Errorf("a leader recording a receipt: got exit %d, want %d", code, ExitAuth)
	}
	if code, _, _ := as("wang.fang", "transit", "receipt", tr[1], "--receipt", "R-1"); code != ExitUsage {
		t.Errorf("a receipt without the receiver: got exit %d, want %d", code, ExitUsage)
	}
	out = ok("wang.fang", "transit", "receipt", tr[1], "--receipt", "国资回〔2026〕12号", "--receiver", "钱收")
	if !strings.Contains(out, "已签收") || !strings.Contains(out, "已移交") || !strings.Contains(out, "钱收") {
		t.Errorf("transit receipt: got\n%s\nwant received and the copy transferred out", out)
	}

	out = ok("admin", "item", "show", "1")
	if !strings.Contains(out, "已移交") || !strings.Contains(out, "JY-2026-0042") || !strings.Contains(out, "国资回〔2026〕12号") {
		t.Errorf("item show: got\n%s\nwant the copy transferred out with its envelope and receipt", out)
	}
	out = ok("wang.fang", "handover", "open", "--desk", "D-01", "--purpose", "上交", "--destination", "市委机要局", "--receiver", "吴收", "--receipt", "机要回-7")
	s = regexp.MustCompile(`交接 (\d+)`).FindStringSubmatch(out)[1]
	if code, _, errOut := as("wang.fang", "handover", "scan", s, "1"); code != ExitConflict || !strings.Contains(errOut, "已移交") {
		t.Errorf("scanning a copy already transferred out: got exit %d %q", code, errOut)
	}
	ok("wang.fang", "handover", "scan", s, "2")
	ok("wang.fang", "handover", "close", s)
	out = ok("wang.fang", "--lang", "en", "transit", "list")
	if !strings.Contains(out, "handed over") || !strings.Contains(out, "机要回-7") {
		t.Errorf("transit list: got\n%s\nwant the outside transfer with its receipt", out)
	}
}
