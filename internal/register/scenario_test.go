package register_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// One secret document from receipt through circulation, borrowing, a reproduction, recall and
// destruction. Every step is audited; every shortcut on the way is refused.
func TestScenarioSecretDocumentLifeCycle(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	start, _ := d.st.AuditHead()
	const number = "京办发〔2026〕7号"

	// 收文: registered, numbered, stored.
	items := d.receive(t, number, custody.Secret, 2, "BGS")
	one, two := items[0], items[1]

	// 传阅 to zhang.wei, back through the custodian — never on to chen.jing directly.
	d.handover(t, register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", ids(one))
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeReturn}, "chen.jing")
	_, err := d.reg.Scan(ctx, wf, s.ID, itoa(one))
	refused(t, err, register.CodeForbidden, "横传", "pass between readers")
	d.reg.AbandonSession(ctx, wf, s.ID, "横传被拒")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", ids(one))

	// 借阅 by chen.jing with a due time; sun.li of another unit is outside the scope.
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(72)}, "sun.li")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(two))
	refused(t, err, register.CodeForbidden, "知悉范围", "readership scope")
	d.reg.AbandonSession(ctx, wf, s.ID, "")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(72)}, "chen.jing", ids(two))

	// 复制: refused without approval; with the leader's approval a copy at the same level.
	_, err = d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Cabinet: "C-01"})
	refused(t, err, register.CodeRefused, "须经审批", "needs an approval")
	ap, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveReproduce, Items: ids(one), Copies: 1, Reason: "分送研究室"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], ap.ID, true, "同意复制1份"); err != nil {
		t.Fatal(err)
	}
	copies, err := d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Approval: ap.ID, Cabinet: "C-01"})
	if err != nil {
		t.Fatal(err)
	}
	dup := copies[0].ID
	if copies[0].Level != custody.Secret || copies[0].Source != one {
		t.Fatalf("got copy level %s source %d, want secret from %d", copies[0].Level, copies[0].Source, one)
	}

	// 清退: copy two is still with chen.jing; nothing goes out while the recall runs.
	rc, err := d.reg.StartRecall(ctx, wf, register.RecallRequest{Name: "年终清退", Deadline: d.due(24), Documents: []string{number}})
	if err != nil {
		t.Fatal(err)
	}
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(dup))
	refused(t, err, register.CodeRefused, "正在清退中", "recall")
	d.reg.AbandonSession(ctx, wf, s.ID, "")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "chen.jing", ids(two))
	if rc, err = d.reg.CloseRecall(ctx, wf, rc.ID); err != nil || rc.Returned != 3 {
		t.Fatalf("recall: got %v, %d of %d returned, want all 3 back", err, rc.Returned, rc.Total)
	}

	// 销毁: not one by one, not without an approved list, not by one custodian alone.
	all := ids(one, two, dup)
	b, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: all, Reason: "清退后集中销毁"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeDestroy, Batch: b.ID})
	refused(t, err, register.CodeRefused, "经领导批准", "approved by a leader")
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], b.Approval, true, "同意销毁"); err != nil {
		t.Fatal(err)
	}
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDestroy, Batch: b.ID}, "li.na", one)
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeRefused, "不得逐份销毁", "never one by one")
	for _, id := range ids(two, dup) {
		if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin}); err != nil {
		t.Fatal(err)
	}
	for _, id := range all {
		if it := d.item(t, id); it.State != custody.Destroyed {
			t.Errorf("item %d: got %s, want destroyed", id, it.State)
		}
	}
	// A destroyed copy cannot come back.
	_, err = d.reg.StoreItems(ctx, wf, "C-01", ids(one))
	refused(t, err, register.CodeRefused, "已销毁", "Destroyed")

	// Every step is in the audit chain, in order, and the chain is intact.
	var actions []string
	err = d.st.AuditRecords(ctx, start+1, func(r audit.Record) error {
		if !strings.HasPrefix(r.Action, "handover.scan") && r.Action != "handover.open" {
			actions = append(actions, r.Action)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "document.register document.receive handover.circulate handover.abandon handover.return handover.abandon handover.borrow " +
		"approval.request approval.approve item.reproduce recall.start handover.abandon handover.return recall.close " +
		"destruction.list approval.approve handover.destroy"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit trail:\n got %s\nwant %s", got, want)
	}
	if _, err := d.st.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	hist, _ := d.reg.History(ctx, wf, two)
	var chain []string
	for _, e := range hist {
		chain = append(chain, string(e.To))
	}
	if got, want := strings.Join(chain, " "), "in_cabinet checked_out in_cabinet destruction_pending destroyed"; got != want {
		t.Errorf("chain of custody of copy 2: got %q, want %q", got, want)
	}
}
