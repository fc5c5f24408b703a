package ctl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Issue 14 through custodyctl against a real custodyd API: a loss opens a case that custodians
// and leaders trace and only a leader closes with a conclusion; a recall over a lost copy closes
// only with the leader's note; documents whose term ends soon are listed; a 密级变更 and a 解密
// are recorded with their authority and decision; copies of a declassified document only are
// released. Each rule is tried by the wrong role (the administrator too): refused with a zh-CN
// reason, nothing written, the refusal audited.
func TestLifecycleCommands(t *testing.T) {
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhang.wei", "张伟", custody.Holder})
	if _, err := o.reg.Grant(context.Background(), o.sec, register.GrantRequest{Username: "liu.qiang", Grant: register.GrantSecrecy, Unit: "BGS"}); err != nil {
		t.Fatal(err)
	}
	st := o.st
	as := func(user string, args ...string) (int, string, string) { return o.run(user, "", args...) }
	ok := func(user string, want []string, args ...string) string {
		t.Helper()
		code, out, errOut := as(user, args...)
		if code != ExitOK {
			t.Fatalf("custodyctl %s as %s: exit %d\n%s%s", strings.Join(args, " "), user, code, out, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("custodyctl %s as %s: got\n%s\nwant %q", strings.Join(args, " "), user, out, w)
			}
		}
		return out
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(user string, exit int, table string, zh string, args ...string) {
		t.Helper()
		before := count(table)
		audited := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user)
		code, out, errOut := as(user, args...)
		if code != exit || !strings.Contains(errOut, zh) {
			t.Errorf("custodyctl %s as %s: exit %d %q%s, want exit %d saying %q", strings.Join(args, " "), user, code, errOut, out, exit, zh)
		}
		if after := count(table); after != before {
			t.Errorf("custodyctl %s as %s: %q went from %d to %d, want nothing written", strings.Join(args, " "), user, table, before, after)
		}
		if n := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user); n != audited+1 {
			t.Errorf("custodyctl %s as %s: %d refusal records, want %d", strings.Join(args, " "), user, n, audited+1)
		}
	}

	ok("wang.fang", nil, "cabinet", "add", "C-01", "一号柜")
	ok("wang.fang", nil, "document", "receive", "--number", "京办〔2026〕9号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局")
	// A 秘密 document of a year whose term ends in about a week.
	issued := time.Now().AddDate(-1, 0, 7).Format("2006-01-02")
	ok("wang.fang", nil, "document", "receive", "--number", "京办〔2025〕3号", "--title", "关于会议安排的通知", "--unit", "BGS", "--level", "秘密",
		"--date", issued, "--term", "1年", "--copies", "1", "--cabinet", "C-01", "--from", "市委机要局")

	// 报失 opens a loss case (the answer is the case, not a list of copies).
	ok("wang.fang", []string{"已立案追查 1", "第1份", "丢失"}, "item", "lost", "1", "--note", "11月20日在会议室遗失")
	// The alarm is on the printed alert list, which bears the mark of what it names.
	list := filepath.Join(t.TempDir(), "告警清单.csv")
	ok("wang.fang", nil, "alerts", "--kind", "reported_lost", "--format", "csv", "-o", list)
	if b, err := os.ReadFile(list); err != nil || !strings.HasPrefix(string(b), "\ufeff机密★10年\n") || !strings.Contains(string(b), "报失") {
		t.Errorf("alert list: got %v\n%s\nwant the mark 机密★10年 first, then the reported_lost alert", err, b)
	}
	losses := `SELECT count(*) FROM loss_case_events`
	for _, u := range []string{"zhang.wei", "admin", "sec.admin"} {
		refused(u, ExitAuth, losses, "无权访问", "loss", "list")
	}
	refused("admin", ExitAuth, losses, "", "loss", "note", "1", "--note", "管理员插话")
	ok("liu.qiang", []string{"追查中", "wang.fang", "京办〔2026〕9号 第1份"}, "loss", "list", "--state", "open")
	ok("wang.fang", []string{"追查经过", "报失", "追查情况", "已询问与会人员"}, "loss", "note", "1", "--note", "已询问与会人员")
	// Only a leader closes a case, and only with a conclusion.
	refused("wang.fang", ExitAuth, `SELECT count(*) FROM loss_cases WHERE state = 'closed'`, "无权访问", "loss", "close", "1", "--note", "结案")
	refused("liu.qiang", ExitConflict, `SELECT count(*) FROM loss_cases WHERE state = 'closed'`, "须由领导填写结论", "loss", "close", "1")

	// A recall over the lost copy: the custodian cannot close it; the leader only with a note.
	due := time.Now().Add(48 * time.Hour).Format("2006-01-02 15:04")
	out := ok("wang.fang", nil, "recall", "start", "--name", "年终清退", "--deadline", due, "--document", "京办〔2026〕9号")
	if !strings.Contains(out, "1/2（已报失 1）") {
		t.Errorf("recall start: got\n%s\nwant 1 of 2 back with 1 reported lost apart", out)
	}
	closed := `SELECT count(*) FROM recalls WHERE state = 'closed'`
	refused("wang.fang", ExitConflict, closed, "已报失", "recall", "close", "1")
	refused("liu.qiang", ExitConflict, closed, "已报失", "recall", "close", "1")
	ok("liu.qiang", []string{"已结束"}, "recall", "close", "1", "--note", "第1份已报失，另案追查")
	ok("liu.qiang", []string{"已结案", "追查 1", "未找到，已报告保密局"}, "loss", "close", "1", "--note", "未找到，已报告保密局")
	ok("wang.fang", []string{"已结案", "报失", "追查情况", "结案"}, "loss", "show", "1")

	// The term ending within 30 days is listed; the 10-year one is not.
	out = ok("wang.fang", []string{"京办〔2025〕3号", "1年"}, "document", "expiring")
	if strings.Contains(out, "京办〔2026〕9号") {
		t.Errorf("document expiring: got\n%s\nwant only the document whose term ends soon", out)
	}
	refused("admin", ExitAuth, `SELECT count(*) FROM documents`, "", "document", "expiring")

	// 密级变更 and 解密 need the authority and its decision; only custodians record them.
	decisions := `SELECT count(*) FROM document_decisions`
	refused("wang.fang", ExitConflict, decisions, "决定机关", "document", "level", "京办〔2026〕9号", "--level", "秘密")
	for _, u := range []string{"liu.qiang", "admin", "sec.admin", "zhang.wei"} {
		refused(u, ExitAuth, decisions, "", "document", "level", "京办〔2026〕9号", "--level", "秘密", "--term", "5年", "--authority", "市委办公厅", "--decision", "京办密〔2026〕2号")
		refused(u, ExitAuth, decisions, "", "document", "declassify", "京办〔2025〕3号", "--authority", "市委办公厅", "--decision", "京办密〔2026〕3号")
	}
	ok("wang.fang", []string{"秘密★5年", "重新打印"}, "document", "level", "京办〔2026〕9号", "--level", "秘密", "--term", "5年", "--authority", "市委办公厅", "--decision", "京办密〔2026〕2号")

	// A copy of a classified document is not released; after the 解密 it is.
	released := `SELECT count(*) FROM items WHERE state = 'released'`
	refused("wang.fang", ExitConflict, released, "尚未解密", "item", "release", "3")
	ok("wang.fang", []string{"退出涉密文件台账"}, "document", "declassify", "京办〔2025〕3号", "--authority", "市委办公厅", "--decision", "京办密〔2026〕3号")
	refused("admin", ExitAuth, released, "", "item", "release", "3")
	ok("wang.fang", []string{"已解除管理", "京办〔2025〕3号"}, "item", "release", "3", "--note", "解密后解除管理")
	if out := ok("wang.fang", nil, "document", "expiring"); strings.Contains(out, "京办〔2025〕3号") {
		t.Errorf("document expiring after the 解密: got\n%s\nwant it gone", out)
	}
	if n := count(`SELECT count(*) FROM audit WHERE action IN ('document.level_change', 'document.declassify', 'item.release')`); n != 3 {
		t.Errorf("audit: %d decision and release records, want 3", n)
	}

	// The destruction list (销毁清册) prints before the leader decides, marked with the level the
	// copy has now (秘密★5年 after the change).
	ok("wang.fang", nil, "destruction", "create", "2", "--reason", "清退后集中销毁")
	paper := filepath.Join(t.TempDir(), "销毁清册.csv")
	ok("wang.fang", nil, "destruction", "paper", "1", "--format", "csv", "-o", paper)
	if b, err := os.ReadFile(paper); err != nil || !strings.HasPrefix(string(b), "\ufeff秘密★5年\n") || !strings.Contains(string(b), "涉密载体销毁清册") || !strings.Contains(string(b), "待领导审批") {
		t.Errorf("destruction list: got %v\n%s\nwant it marked 秘密★5年, awaiting the leader", err, b)
	}
	refused("zhang.wei", ExitAuth, `SELECT count(*) FROM destruction_batches`, "无权访问", "destruction", "paper", "1", "--format", "csv")
}
