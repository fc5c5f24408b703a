package ctl

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Issue 13: each bypass a secrecy officer found, tried through custodyctl against a real
// custodyd API: refused with a zh-CN reason and the exit status of a refusal, nothing written,
// the refusal audited.
func TestBypassesThroughCustodyctl(t *testing.T) {
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"}, register.Unit{Code: "KJC", Name: "科技处"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"li.na", "李娜", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhang.wei", "张伟", custody.Holder})
	o.add("KJC", who{"kjc.cust", "周科", custody.Custodian})
	st, as, ok := o.st, o.run, o.ok
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// refused runs the command and checks the exit status, the zh-CN reason, the table unchanged
	// and one more refusal in the audit chain.
	refused := func(user string, exit int, table string, zh []string, args ...string) {
		t.Helper()
		before := count(table)
		audited := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user)
		code, out, errOut := as(user, "", args...)
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

	ok("admin", "", "badge", "issue", "zhang.wei", "B-ZW")
	ok("zhang.wei", "\n2468\n", "badge", "pin", "--pin-stdin")
	ok("wang.fang", "", "cabinet", "add", "C-01", "一号柜")
	ok("wang.fang", "", "desk", "add", "D-01", "机要室工作台")
	ok("wang.fang", "", "document", "receive", "--number", "京办〔2026〕9号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")
	due := time.Now().Add(48 * time.Hour).Format("2006-01-02 15:04")

	// An approval that picks its own approver's unit is refused; the policy decides.
	approvals := `SELECT count(*) FROM approvals`
	refused("wang.fang", ExitConflict, approvals, []string{"审批人由审批规则确定"},
		"approval", "request", "--kind", "take_out", "--for", "zhang.wei", "--item", "1", "--due", due, "--reason", "外出开会", "--unit", "KJC")
	out := ok("wang.fang", "", "approval", "request", "--kind", "take_out", "--for", "zhang.wei", "--item", "1", "--due", due, "--reason", "外出开会")
	if !strings.Contains(out, "本单位领导") {
		t.Errorf("approval request: got\n%s\nwant the decider the policy named", out)
	}
	decided := `SELECT count(*) FROM approvals WHERE state <> 'pending'`
	refused("li.na", ExitAuth, decided, []string{"无权访问"}, "approval", "approve", "1")
	// A leader's own carry-out: nobody else in BGS may decide it, so it is refused at once.
	refused("wang.fang", ExitConflict, approvals, []string{"不能审批本人相关的申请"},
		"approval", "request", "--kind", "take_out", "--for", "liu.qiang", "--item", "2", "--due", due, "--reason", "外出开会")

	// The administrator grants no business role and chooses no PIN.
	refused("admin", ExitAuth, `SELECT count(*) FROM people`, []string{"系统管理员不能授予角色", "由安全保密管理员授予"},
		"person", "add", "fake.leader", "假领导", "--unit", "BGS", "--role", "leader", "--password", "chosen-by-admin")
	refused("admin", ExitAuth, `SELECT count(*) FROM person_roles`, []string{"无权访问"}, "person", "grant", "zhang.wei", "--role", "leader")
	refused("sec.admin", ExitAuth, `SELECT count(*) FROM person_roles`, []string{"不能给本人授予"}, "person", "grant", "sec.admin", "--role", "leader")
	if code, _, errOut := as("admin", "\n1234\n", "badge", "pin", "--pin-stdin"); code != ExitNotFound || !strings.Contains(errOut, "您还没有工作证") {
		t.Errorf("admin choosing a PIN: exit %d %q, want %d: only a holder sets their own", code, errOut, ExitNotFound)
	}

	// A custodian of KJC opens nothing at BGS's desk.
	refused("kjc.cust", ExitAuth, `SELECT count(*) FROM sessions`, []string{"工作台 D-01属于 BGS", "只能由 BGS 的机要员办理"},
		"handover", "open", "--desk", "D-01", "--purpose", "borrow", "--due", due)

	// The administrator takes no backup without the right.
	refused("admin", ExitAuth, `SELECT count(*) FROM audit WHERE action = 'backup.take'`, []string{"您没有备份权限"}, "backup", "-o", filepath.Join(t.TempDir(), "b.db"))
	ok("sec.admin", "", "person", "grant", "admin", "--grant", "backup")
	ok("admin", "", "backup", "-o", filepath.Join(t.TempDir(), "b.db"))
	if count(`SELECT count(*) FROM audit WHERE action = 'backup.take' AND actor = 'admin' AND after LIKE '%sha256%'`) != 1 {
		t.Error("the backup is not audited with its SHA-256")
	}

	// The policy is readable by everyone, editable by the security administrator only.
	if out := ok("zhang.wei", "", "policy"); !strings.Contains(out, "单位主要领导") {
		t.Errorf("policy: got\n%s", out)
	}
	refused("liu.qiang", ExitAuth, `SELECT count(*) FROM approval_policy WHERE decider = 'leader'`, []string{"无权访问"}, "policy", "set", "take_out", "绝密", "leader")
	ok("sec.admin", "", "policy", "set", "take_out", "绝密", "secrecy_leader", "--unit", "BGS")
}
