package register_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// One secret document from receipt through circulation, borrowing, a reproduction, a loss, recall,
// transit of one copy to another unit with its receipt, and destruction by the secrecy bureau. Every step is audited; every shortcut on the way is
// refused. Copies 37–40 of 200 arrive as printed (issue 14).
func TestScenarioSecretDocumentLifeCycle(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	start, _ := d.st.AuditHead()
	const number = "京办发〔2026〕7号"

	// 收文: copies 37–40 of the 200 the issuer printed, registered as numbered on the paper, stored.
	doc := register.Document{Number: number, Title: "关于年终保密检查的通知", IssuingUnit: "BGS", Level: custody.Secret, IssuedOn: "2026-11-01", SecrecyTerm: "10年", Copies: 200, ScopeUnits: []string{"BGS"}}
	res, err := d.reg.ReceiveBatch(ctx, wf, register.ReceiveRequest{Document: doc, Cabinet: "C-01", From: "市委机要局", FirstCopy: 37, LastCopy: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != "037–040" || res.Items[0].Copy != 37 || res.Items[0].Copies != 200 || len(res.Next.Items) != 4 {
		t.Fatalf("received: batch %q, first copy %d of %d, next %v; want 037–040 of 200 and labels for 4", res.Batch, res.Items[0].Copy, res.Items[0].Copies, res.Next.Items)
	}
	one, two, three, four := res.Items[0].ID, res.Items[1].ID, res.Items[2].ID, res.Items[3].ID

	// 传阅 to zhang.wei, back through the custodian — never on to chen.jing directly.
	d.handover(t, register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", ids(one))
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeReturn}, "chen.jing")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(one))
	refused(t, err, register.CodeForbidden, "横传", "pass between readers")
	d.reg.AbandonSession(ctx, wf, s.ID, "横传被拒")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", ids(one))

	// 借阅 by chen.jing with a due time; sun.li of another unit is outside the scope.
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(72)}, "sun.li")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(two))
	refused(t, err, register.CodeForbidden, "知悉范围", "readership scope")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
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
	copies, err := d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Approval: ap.ID, Cabinet: "C-01", Unit: "办公室文印室"})
	if err != nil {
		t.Fatal(err)
	}
	dup := copies[0].ID
	if c := copies[0]; c.Level != custody.Secret || c.Source != one || c.Copy != 37 || c.Reproduction != 1 || c.State != custody.Registered || c.Name().ZH != number+" 第037份之复制件1" {
		t.Fatalf("got copy %+v, want 第037份之复制件1 at secret from %d, registered until scanned in", c, one)
	}
	// The copy goes into the cabinet only scanned in at the desk, not by a typed store.
	_, err = d.reg.StoreItems(ctx, wf, "C-01", ids(dup))
	refused(t, err, register.CodeRefused, "扫描入柜", "scanning it in")
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeStore, Cabinet: "C-01"}, "")
	// The desk scanner's read (the agent's scan observation) lands in the open session.
	if _, err := d.reg.DeskScan(ctx, "D-01", itoa(dup), "agent:desk-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{}); err != nil {
		t.Fatal(err)
	}
	if it := d.item(t, dup); it.State != custody.InCabinet || it.Cabinet != "C-01" {
		t.Fatalf("copy after scanning in: got %s in %q, want in C-01", it.State, it.Cabinet)
	}

	// 报失: zhang.wei loses copy 39 he borrowed; it is frozen and a loss case opens.
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(72)}, "zhang.wei", ids(three))
	lc, err := d.reg.ReportLoss(ctx, d.p["zhang.wei"], ids(three), "11月20日在会议室遗失")
	if err != nil || lc.State != "open" || lc.Items[0].State != custody.Lost {
		t.Fatalf("loss report: got %+v, %v; want an open case with copy 39 lost", lc, err)
	}
	// ---- issue 14 (lifecycle-rest): the loss is an alarm at once. The alert book reads the
	// open loss cases as custodyd's API and site check do; a critical reported_lost alert opens.
	book := alert.NewBook(d.st, nil, func() time.Time { return d.now })
	raiseLosses(t, d, book)
	if as, err := book.Alerts(ctx, alert.Filter{Kind: reconcile.ReportedLost}); err != nil || len(as) != 1 || as[0].Severity != alert.Critical || as[0].State != alert.Open {
		t.Fatalf("after the 报失: got alerts %+v, %v; want one open critical reported_lost alert", as, err)
	}
	// ---- end of the loss alarm block

	// 清退: copy two is still with chen.jing; nothing goes out while the recall runs.
	rc, err := d.reg.StartRecall(ctx, wf, register.RecallRequest{Name: "年终清退", Deadline: d.due(24), Documents: []string{number}})
	if err != nil {
		t.Fatal(err)
	}
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(dup))
	refused(t, err, register.CodeRefused, "正在清退中", "recall")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "chen.jing", ids(two))
	// The lost copy is not "returned": the custodian cannot close the recall over it.
	_, err = d.reg.CloseRecall(ctx, wf, rc.ID)
	refused(t, err, register.CodeRefused, "已报失", "reported lost")
	if rc, err = d.reg.CloseRecall(ctx, d.p["liu.qiang"], rc.ID, "第039份已报失，另案追查"); err != nil || rc.Returned != 4 || rc.Lost != 1 {
		t.Fatalf("recall: got %v, %d returned and %d lost of %d, want 4 back and 1 lost", err, rc.Returned, rc.Lost, rc.Total)
	}

	// ---- issue 14 point 5: copy 40 goes back to the issuer (上交) by 机要交通: not without an
	// envelope number; 传递中 with courier and envelope; overdue without the receipt, an alert;
	// the issuer's receipt by number and name makes it 已移交 and ends the alert.
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeDispatch, Courier: "赵交通", Destination: "市委机要局", Expected: d.due(48)})
	refused(t, err, register.CodeRefused, "信封编号", "envelope")
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDispatch, Courier: "赵交通", Envelope: "JY-2026-0042", Destination: "市委机要局", Expected: d.due(48)}, "", four)
	sent, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if it := d.item(t, four); it.State != custody.InTransit || it.Place != "市委机要局" {
		t.Fatalf("copy 40 after the dispatch: got %s to %q, want in transit to 市委机要局", it.State, it.Place)
	}
	d.now = d.now.Add(49 * time.Hour)
	raiseTransits(t, d, book)
	if as, _ := book.Alerts(ctx, alert.Filter{Kind: reconcile.TransitOverdue}); len(as) != 1 || as[0].State != alert.Open {
		t.Fatalf("past the expected arrival: got %+v, want one open transit_overdue alert", as)
	}
	if _, err := d.reg.RecordReceipt(ctx, wf, sent.Transit, register.ReceiptRequest{Receipt: "机要回〔2026〕88号", Receiver: "吴收"}); err != nil {
		t.Fatal(err)
	}
	raiseTransits(t, d, book)
	if as, _ := book.Alerts(ctx, alert.Filter{Kind: reconcile.TransitOverdue}); len(as) != 1 || as[0].State != alert.Resolved {
		t.Fatalf("after the receipt: got %+v, want the transit_overdue alert resolved", as)
	}
	if it := d.item(t, four); it.State != custody.TransferredOut {
		t.Fatalf("copy 40 after the receipt: got %s, want transferred_out", it.State)
	}
	// ---- end of the transit block

	// 销毁: not one by one, not without an approved list, not by one custodian alone; 送销 to the
	// secrecy bureau's courier, destroyed when the bureau's certificate is entered.
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
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDestroy, Batch: b.ID, Courier: "市保密局 周强", Receipt: "BMJ-2026-0815", Supervisor: "刘强"}, "li.na", one)
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
		if it := d.item(t, id); it.State != custody.SentForDestruction {
			t.Errorf("item %d after 送销: got %s, want sent_for_destruction", id, it.State)
		}
	}
	if _, err := d.reg.CertifyDestruction(ctx, wf, b.ID, "BMJ-XH-2026-031", ""); err != nil {
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
		"approval.request approval.approve item.reproduce handover.store handover.borrow item.lost " +
		"finding.open alert.opened " + // the loss alarm (issue 14, lifecycle-rest block)
		"recall.start handover.abandon handover.return recall.close " +
		"handover.dispatch finding.open alert.opened transit.receipt finding.clear alert.resolved " + // transit to the issuer (issue 14 point 5)
		"destruction.list approval.approve handover.destroy destruction.certify"
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
	if got, want := strings.Join(chain, " "), "in_cabinet checked_out in_cabinet destruction_pending sent_for_destruction destroyed"; got != want {
		t.Errorf("chain of custody of copy 38: got %q, want %q", got, want)
	}

	// ---- issue 14 (lifecycle-rest): the loss case ends only on the leader's conclusion, and
	// the alarm with it.
	_, err = d.reg.CloseLossCase(ctx, wf, lc.ID, "结案")
	refused(t, err, register.CodeForbidden, "只有领导可以结束追查", "only leader")
	_, err = d.reg.CloseLossCase(ctx, d.p["liu.qiang"], lc.ID, "")
	refused(t, err, register.CodeRefused, "须由领导填写结论", "leader's conclusion")
	if lc, err = d.reg.CloseLossCase(ctx, d.p["liu.qiang"], lc.ID, "确认丢失，已报市保密局"); err != nil || lc.State != "closed" {
		t.Fatalf("close of the loss case by the leader: got %+v, %v", lc, err)
	}
	raiseLosses(t, d, book)
	if as, _ := book.Alerts(ctx, alert.Filter{Kind: reconcile.ReportedLost}); len(as) != 1 || as[0].State != alert.Resolved {
		t.Errorf("after the leader's conclusion: got %+v, want the reported_lost alert resolved", as)
	}

	// ---- issue 14 (lifecycle-rest): declassification of another document. Its one-year term
	// ends within the month, so it is listed; only the custodian records the 解密, with the
	// authority and its decision; its copy then leaves custody and the document the ledger.
	other := register.Document{Number: "京办发〔2025〕30号", Title: "关于会议安排的通知", IssuingUnit: "BGS", Level: custody.Confidential,
		IssuedOn: d.now.AddDate(-1, 0, 10).Format("2006-01-02"), SecrecyTerm: "1年", Copies: 1, ScopeUnits: []string{"BGS"}}
	ores, err := d.reg.ReceiveBatch(ctx, wf, register.ReceiveRequest{Document: other, Cabinet: "C-01", From: "市委机要局"})
	if err != nil {
		t.Fatal(err)
	}
	kept := ores.Items[0].ID
	if ds, err := d.reg.Expiring(ctx, wf, register.TermReminder); err != nil || len(ds) != 1 || ds[0].Number != other.Number {
		t.Fatalf("expiring within %d days: got %+v, %v; want %s only", register.TermReminder, ds, err, other.Number)
	}
	_, err = d.reg.Release(ctx, wf, ids(kept), "")
	refused(t, err, register.CodeRefused, "尚未解密", "not declassified")
	decision := register.Decision{Authority: "市委办公厅", DecisionNo: "京办密〔2026〕3号"}
	for _, who := range []string{"liu.qiang", "admin"} {
		if a, ok := d.p[who]; ok {
			_, err = d.reg.Declassify(ctx, a, other.Number, decision)
			refused(t, err, register.CodeForbidden, "只有机要员可以登记密级变更和解密", "only custodian")
		}
	}
	_, err = d.reg.Declassify(ctx, wf, other.Number, register.Decision{Authority: "市委办公厅"})
	refused(t, err, register.CodeRefused, "决定文号", "decision_no")
	if doc, err := d.reg.Declassify(ctx, wf, other.Number, decision); err != nil || doc.Declassified == "" {
		t.Fatalf("解密: got %+v, %v", doc, err)
	}
	if its, err := d.reg.Release(ctx, wf, ids(kept), "解密后解除管理"); err != nil || its[0].State != custody.Released {
		t.Fatalf("解除管理: got %+v, %v; want the copy released", its, err)
	}
	rows, err := d.reg.Ledger(ctx, wf, register.LedgerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Document == other.Number {
			t.Errorf("ledger after the 解密: still lists %s", other.Number)
		}
	}
	if ds, _ := d.reg.Expiring(ctx, wf, register.TermReminder); len(ds) != 0 {
		t.Errorf("expiring after the 解密: got %+v, want none", ds)
	}
	if _, err := d.st.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	// ---- end of the declassification block
}

// raiseLosses brings the alert book in line with the register's open loss cases, as custodyd's
// API does after a report and its site check every tick (api.OpenLosses).
func raiseLosses(t *testing.T, d *desk, book *alert.Book) {
	t.Helper()
	ls, err := d.reg.OpenLosses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]reconcile.Loss, len(ls))
	for i, l := range ls {
		at, _ := store.ParseTime(l.Reported)
		out[i] = reconcile.Loss{Case: l.Case, Reported: at, Item: reconcile.Item{ID: l.ItemID, Number: l.Number, Level: l.Level, State: custody.Lost, Cabinet: l.Cabinet, Holder: l.Holder}}
	}
	if err := book.ApplyLosses(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

// raiseTransits tells the alert book of the copies overdue in transit, as custodyd's site check
// and API do (api.TransitsDue).
func raiseTransits(t *testing.T, d *desk, book *alert.Book) {
	t.Helper()
	cs, err := d.reg.OverdueTransits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]reconcile.Transit, len(cs))
	for i, c := range cs {
		out[i] = reconcile.Transit{Transit: c.Transit, Expected: c.Expected, Item: reconcile.Item{ID: c.Item.ID, Number: c.Item.Name().ZH, Level: c.Item.Level, State: custody.InTransit, Cabinet: c.Home}}
	}
	if err := book.ApplyTransits(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}
