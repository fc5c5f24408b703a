package ctl

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Issue 13, the last three bypasses through custodyctl against a real custodyd API: titles
// outside the readership scope, borrowing without a ceiling or with an overdue copy, and a
// top-secret carry-out by one person.
func TestBypassLimitsThroughCustodyctl(t *testing.T) {
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"}, register.Unit{Code: "KJC", Name: "科技处"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"li.na", "李娜", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader},
		who{"zhang.wei", "张伟", custody.Holder}, who{"chen.jing", "陈静", custody.Holder})
	o.add("KJC", who{"sun.li", "孙立", custody.Leader})
	st, as, ok := o.st, o.run, o.ok
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	idIn := func(out, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in\n%s", re, out)
		}
		return m[1]
	}
	// refused: the exit status, the zh-CN reason, the table unchanged, one more refusal audited.
	refused := func(user, stdin string, exit int, table string, zh []string, args ...string) {
		t.Helper()
		before := count(table)
		audited := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user)
		code, out, errOut := as(user, stdin, args...)
		if code != exit {
			t.Errorf("custodyctl %s as %s: exit %d, want %d\n%s%s", strings.Join(args, " "), user, code, exit, out, errOut)
		}
		for _, s := range zh {
			if !strings.Contains(errOut, s) {
				t.Errorf("custodyctl %s as %s: %q lacks %q", strings.Join(args, " "), user, errOut, s)
			}
		}
		if after := count(table); after != before {
			t.Errorf("custodyctl %s as %s: %q went from %d to %d, want nothing written", strings.Join(args, " "), user, table, before, after)
		}
		if n := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user); n != audited+1 {
			t.Errorf("custodyctl %s as %s: %d refusal records, want %d", strings.Join(args, " "), user, n, audited+1)
		}
	}

	ok("sec.admin", "", "person", "grant", "liu.qiang", "--grant", "principal_leader", "--unit", "BGS")
	for user, badge := range map[string]string{"zhang.wei": "B-ZW", "chen.jing": "B-CJ", "li.na": "B-LN"} {
		ok("admin", "", "badge", "issue", user, badge)
	}
	ok("zhang.wei", "\n2468\n", "badge", "pin", "--pin-stdin")
	ok("chen.jing", "\n1357\n", "badge", "pin", "--pin-stdin")
	ok("li.na", "\n9753\n", "badge", "pin", "--pin-stdin")
	ok("wang.fang", "", "cabinet", "add", "C-01", "一号柜")
	ok("wang.fang", "", "desk", "add", "D-01", "机要室工作台")
	const title = "关于年终检查的通知"
	ok("wang.fang", "", "document", "receive", "--number", "京办〔2026〕9号", "--title", title, "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")
	ok("wang.fang", "", "document", "receive", "--number", "京办〔2026〕10号", "--title", "绝密标题", "--unit", "BGS", "--level", "绝密",
		"--date", "2026-11-01", "--term", "30年", "--copies", "1", "--cabinet", "C-01", "--from", "市委机要局")
	// Times typed at custodyctl are in the site's time zone (Asia/Shanghai by default).
	site, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return time.Now().Add(d).In(site).Format("2006-01-02 15:04") }
	scanned := `SELECT count(*) FROM session_items`

	// 1. Borrowing: 机密 beyond 7 days is refused at the scan; the copy stays put.
	s := idIn(ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "borrow", "--due", at(9*24*time.Hour)), `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-ZW")
	refused("wang.fang", "", ExitConflict, scanned, []string{"机密文件借阅期限最长 7 天"}, "handover", "scan", s, "1")
	// Abandoned only with a reason (issue 21 point 7): without one it stays open, the refusal audited.
	refused("wang.fang", "", ExitConflict, `SELECT count(*) FROM sessions WHERE state = 'abandoned'`, []string{"放弃交接须说明原因"}, "handover", "abandon", s)
	ok("wang.fang", "", "handover", "abandon", s, "--reason", "对方改日再来")
	if n := count(`SELECT count(*) FROM audit WHERE action = 'handover.abandon' AND after LIKE '%对方改日再来%'`); n != 1 {
		t.Errorf("abandon's audit record: got %d with the reason, want 1", n)
	}
	// zhang.wei borrows copy 1; its due time passes (set in the register's table: the API has no
	// clock to move); he borrows nothing more until it is back.
	s = idIn(ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "borrow", "--due", at(24*time.Hour)), `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-ZW", "1")
	ok("wang.fang", "2468\n", "handover", "close", s, "--pin-stdin")
	if _, err := st.DB().Exec(`UPDATE items SET due_at = ? WHERE id = 1`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	s = idIn(ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "borrow", "--due", at(24*time.Hour)), `交接 (\d+)`)
	refused("wang.fang", "", ExitConflict, `SELECT count(*) FROM sessions WHERE counterpart_id IS NOT NULL`, []string{"zhang.wei 有 1 份涉密文件逾期未还", "须先归还机要员"},
		"handover", "scan", s, "B-ZW")
	if n := count(`SELECT count(*) FROM items WHERE id = 2 AND state = 'in_cabinet'`); n != 1 {
		t.Error("copy 2 left its cabinet for a reader with an overdue copy")
	}
	ok("wang.fang", "", "handover", "abandon", s, "--reason", "对方改日再来")
	// The return itself is accepted.
	s = idIn(ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "return"), `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-ZW", "1")
	ok("wang.fang", "2468\n", "handover", "close", s, "--pin-stdin")

	// 2. Titles: KJC's leader lists BGS's documents, items and handovers without a title.
	out := ok("sun.li", "", "document", "list")
	if strings.Contains(out, title) || !strings.Contains(out, "京办〔2026〕9号") || !strings.Contains(out, "（无权查看）") {
		t.Errorf("document list as KJC's leader: got\n%s\nwant the number with the title hidden", out)
	}
	for _, args := range [][]string{{"item", "list"}, {"item", "show", "2"}, {"handover", "list"}, {"--json", "document", "list"}} {
		if code, out, errOut := as("sun.li", "", args...); strings.Contains(out+errOut, title) {
			t.Errorf("custodyctl %s as KJC's leader: exit %d with the title\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if out := ok("liu.qiang", "", "document", "list"); !strings.Contains(out, title) {
		t.Errorf("document list as BGS's leader: got\n%s\nwant the title", out)
	}

	// 3. A top-secret carry-out: one person is refused at the request and at the desk.
	approvals := `SELECT count(*) FROM approvals`
	refused("wang.fang", "", ExitConflict, approvals, []string{"携带绝密文件外出须两人同行"},
		"approval", "request", "--kind", "take_out", "--for", "zhang.wei", "--item", "3", "--due", at(6*time.Hour), "--reason", "赴市委汇报")
	ok("wang.fang", "", "approval", "request", "--kind", "take_out", "--for", "zhang.wei", "--with", "chen.jing", "--item", "3", "--due", at(6*time.Hour), "--reason", "赴市委汇报")
	ap := idIn(ok("wang.fang", "", "approval", "list", "--pending"), `(?m)^(\d+)\s`)
	ok("liu.qiang", "", "approval", "approve", ap)
	s = idIn(ok("wang.fang", "", "handover", "open", "--desk", "D-01", "--purpose", "take_out", "--approval", ap), `交接 (\d+)`)
	ok("wang.fang", "", "handover", "scan", s, "B-ZW", "3")
	out3 := `SELECT count(*) FROM items WHERE id = 3 AND state <> 'in_cabinet'`
	refused("wang.fang", "2468\n9753\n", ExitConflict, out3, []string{"同行人须刷工作证并输入 PIN"},
		"handover", "close", s, "--second-badge", "B-LN", "--pin-stdin")
	refused("wang.fang", "2468\n9753\n9753\n", ExitAuth, out3, []string{"不是审批"},
		"handover", "close", s, "--second-badge", "B-LN", "--companion-badge", "B-LN", "--pin-stdin")
	ok("wang.fang", "2468\n1357\n9753\n", "handover", "close", s, "--second-badge", "B-LN", "--companion-badge", "B-CJ", "--pin-stdin")
	if count(out3) != 1 {
		t.Error("with both named persons signing, the top-secret copy did not go out")
	}
}
