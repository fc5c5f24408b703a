package register_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// One test per rule of DESIGN.md §5: each attempts the forbidden step and shows the refusal.
// Rule 1 (every transition registered, counted, with giver and receiver) is shown by
// TestBorrowAndReturnThroughTheDesk.

func (d *desk) open(t testing.TB, custodian string, req register.OpenRequest, counterpart string, items ...int64) register.Session {
	t.Helper()
	ctx := context.Background()
	if req.Desk == "" {
		req.Desk = "D-01"
	}
	s, err := d.reg.OpenSession(ctx, d.p[custodian], req)
	if err != nil {
		t.Fatalf("open %s: %v", req.Purpose, err)
	}
	if counterpart != "" {
		if _, err := d.reg.Scan(ctx, d.p[custodian], s.ID, badge(counterpart)); err != nil {
			t.Fatalf("scan badge %s: %v", counterpart, err)
		}
	}
	for _, id := range items {
		if _, err := d.reg.Scan(ctx, d.p[custodian], s.ID, itoa(id)); err != nil {
			t.Fatalf("scan %d: %v", id, err)
		}
	}
	return s
}

func (d *desk) due(h int) string { return d.now.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }

func TestRule02NoPassingBetweenReaders(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕21号", custody.Secret, 1, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(48)}, "zhang.wei", items)

	// chen.jing brings back what zhang.wei borrowed: it passed between readers.
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeReturn}, "chen.jing")
	_, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0]))
	refused(t, err, register.CodeForbidden, "不得在阅文人之间横传", "may not pass between readers")

	// Lending it on to chen.jing while zhang.wei has it.
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeCirculate}, "chen.jing")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[0]))
	refused(t, err, register.CodeRefused, "不得横传", "no passing between readers")

	// And the lifecycle itself has no holder-to-holder edge.
	_, err = custody.Check(custody.CheckedOut, custody.Handover, custody.Holder)
	if err == nil || !strings.Contains(err.(*custody.Refusal).Reason.ZH, "不得在阅文人之间横传") {
		t.Errorf("got %v, want the 横传 refusal", err)
	}
	if it := d.item(t, items[0]); it.Holder != "zhang.wei" {
		t.Errorf("got holder %q, want still zhang.wei", it.Holder)
	}
}

func TestRule03ReadershipScope(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕31号", custody.Secret, 1, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "sun.li")
	_, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0]))
	refused(t, err, register.CodeForbidden, "不在 办〔2026〕31号 的知悉范围内", "outside the readership scope")
	// The same when the item comes first and the badge after it.
	s2 := d.open(t, "wang.fang", register.OpenRequest{Desk: "D-02", Purpose: register.PurposeReadingRoom}, "", items[0])
	_, err = d.reg.Scan(ctx, wf, s2.ID, badge("sun.li"))
	refused(t, err, register.CodeForbidden, "不在 办〔2026〕31号 的知悉范围内", "outside the readership scope")

	// Widening the scope needs the issuing unit's consent.
	_, err = d.reg.WidenScope(ctx, wf, 0)
	refused(t, err, register.CodeRefused, "扩大知悉范围须经审批", "needs an approval")
	ap, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveScope, Document: "办〔2026〕31号", ScopePeople: []string{"sun.li"}, Reason: "科技处需阅办"})
	if err != nil {
		t.Fatal(err)
	}
	if ap.Unit != "BGS" {
		t.Errorf("got approver unit %q, want the issuing unit BGS", ap.Unit)
	}
	// sun.li is a leader, but of KJC: not the issuing unit's consent.
	_, err = d.reg.Decide(ctx, d.p["sun.li"], ap.ID, true, "同意")
	refused(t, err, register.CodeForbidden, "须由 BGS 的发文单位领导", "of BGS")
	// The consent is recorded as the number of the issuing unit's letter.
	_, err = d.reg.Decide(ctx, d.p["liu.qiang"], ap.ID, true, "同意扩大")
	refused(t, err, register.CodeRefused, "须记录发文单位同意的文件文号", "consent")
	if _, err := d.reg.DecideApproval(ctx, d.p["liu.qiang"], ap.ID, register.DecideRequest{Approve: true, Note: "同意扩大", Consent: "办函〔2026〕7号"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.WidenScope(ctx, wf, ap.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0])); err != nil {
		t.Fatalf("after the issuing unit's consent: got %v, want the scan accepted", err)
	}
	rec := lastAudit(t, d, "document.scope")
	if !strings.Contains(string(rec.After), `"consent_of":"BGS"`) || rec.Approvals[0] != itoa(ap.ID) {
		t.Errorf("got scope audit %s approvals %v, want the consent of BGS under approval %d", rec.After, rec.Approvals, ap.ID)
	}
}

func TestRule04ReproductionNeedsApproval(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕41号", custody.TopSecret, 2, "BGS")
	_, err := d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Cabinet: "C-01"})
	refused(t, err, register.CodeRefused, "复制须经审批", "reproduction needs an approval")
	ap, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveReproduce, Items: ids(items[0]), Copies: 2, Reason: "会议需要"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Approval: ap.ID, Cabinet: "C-01"})
	refused(t, err, register.CodeRefused, "尚未批准", "not been approved")
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], ap.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	copies, err := d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Approval: ap.ID, Cabinet: "C-01", Unit: "办公室文印室"})
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != 2 {
		t.Fatalf("got %d copies, want 2", len(copies))
	}
	// Numbered within the original (第1份之复制件1, 2), registered until scanned in at the desk.
	for i, c := range copies {
		if c.Level != custody.TopSecret || c.Source != items[0] || c.Copy != 1 || c.Reproduction != 1+i || c.State != custody.Registered {
			t.Errorf("copy %d: got level %s source %d copy %d reproduction %d state %s, want top-secret from %d, 第1份之复制件%d, registered", i, c.Level, c.Source, c.Copy, c.Reproduction, c.State, items[0], 1+i)
		}
	}
	_, err = d.reg.Reproduce(ctx, wf, register.ReproduceRequest{Approval: ap.ID, Cabinet: "C-01", Unit: "办公室文印室"})
	refused(t, err, register.CodeRefused, "已使用过", "has been used")
}

func TestRule05TakingOutNeedsLeaderAndDueTime(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕51号", custody.Secret, 1, "BGS")
	_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTakeOut})
	refused(t, err, register.CodeRefused, "携带外出须经审批", "needs an approval")
	_, err = d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: items, Reason: "赴省里汇报"})
	refused(t, err, register.CodeInvalid, "须规定归还时间", "needs a due time")
	ap, err := d.reg.RequestApproval(ctx, d.p["zhang.wei"], register.ApprovalRequest{Kind: register.ApproveTakeOut, Items: items, Due: d.due(8), Reason: "赴省里汇报", Expires: d.due(2)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Decide(ctx, d.p["wang.fang"], ap.ID, true, "")
	refused(t, err, register.CodeForbidden, "领导决定", "decided by a leader")
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], ap.ID, true, "注意保密措施"); err != nil {
		t.Fatal(err)
	}
	// Approved for zhang.wei: chen.jing cannot collect the items.
	s, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTakeOut, Approval: ap.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("chen.jing"))
	refused(t, err, register.CodeForbidden, "另一人携带外出", "someone else")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	// After expiry the approval is no longer valid.
	d.now = d.now.Add(3 * time.Hour)
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTakeOut, Approval: ap.ID})
	refused(t, err, register.CodeRefused, "已于", "expired")
	d.now = d.now.Add(-3 * time.Hour)
	d.handover(t, register.OpenRequest{Purpose: register.PurposeTakeOut, Approval: ap.ID}, "zhang.wei", items)
	it := d.item(t, items[0])
	if it.State != custody.OutOfOffice || it.Holder != "zhang.wei" || it.Due != ap.Due {
		t.Errorf("got %s holder %q due %q, want out_of_office with zhang.wei due %s", it.State, it.Holder, it.Due, ap.Due)
	}
	if rec := lastAudit(t, d, "handover.take_out"); len(rec.Approvals) != 1 || rec.Approvals[0] != itoa(ap.ID) {
		t.Errorf("got approvals %v in the audit record, want [%d]", rec.Approvals, ap.ID)
	}
}

func TestRule06ClearanceBeforeLeaving(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	items := d.receive(t, "办〔2026〕61号", custody.Secret, 2, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", items)
	c, err := d.reg.Clearance(ctx, d.p["wang.fang"], "zhang.wei")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Holdings) != 2 || c.Clear {
		t.Errorf("clearance: got %d held, clear %v, want 2 and not clear", len(c.Holdings), c.Clear)
	}
	err = d.reg.CloseAccount(ctx, admin, "zhang.wei")
	refused(t, err, register.CodeRefused, "仍持有 2 份涉密文件", "still holds 2 classified items")
	err = d.reg.ChangePost(ctx, admin, "zhang.wei", "KJC")
	refused(t, err, register.CodeRefused, "须全部交回机要员", "must be returned")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", items)
	if err := d.reg.CloseAccount(ctx, admin, "zhang.wei"); err != nil {
		t.Fatalf("after returning everything: got %v, want the account closed", err)
	}
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "")
	_, err = d.reg.Scan(ctx, d.p["wang.fang"], s.ID, badge("zhang.wei"))
	refused(t, err, register.CodeForbidden, "账号已停用", "account is closed")
}

func TestRule07RecallCampaign(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕71号", custody.Secret, 3, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(120)}, "zhang.wei", items[:2])
	rc, err := d.reg.StartRecall(ctx, wf, register.RecallRequest{Name: "2026年度清退", Deadline: d.due(48), Documents: []string{"办〔2026〕71号"}})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Total != 3 || rc.Returned != 1 {
		t.Errorf("start: got %d/%d returned, want 1/3", rc.Returned, rc.Total)
	}
	// Nothing under recall goes out again.
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "chen.jing")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[2]))
	refused(t, err, register.CodeRefused, "正在清退中", "recall campaign")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	_, err = d.reg.CloseRecall(ctx, wf, rc.ID)
	refused(t, err, register.CodeRefused, "还有 2 份未收回", "still has 2 items out")
	d.now = d.now.Add(49 * time.Hour)
	if rc, _ = d.reg.Recall(ctx, wf, rc.ID); !rc.Overdue {
		t.Errorf("after the deadline: got overdue %v, want true", rc.Overdue)
	}
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", items[:2])
	rc, err = d.reg.CloseRecall(ctx, wf, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Returned != 3 || rc.State != "closed" || rc.Overdue {
		t.Errorf("got %d/%d %s overdue %v, want 3/3 closed", rc.Returned, rc.Total, rc.State, rc.Overdue)
	}
}

func TestRule08DestructionOnlyInApprovedBatch(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕81号", custody.Secret, 3, "BGS")
	// No batch: no destroy session.
	_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeDestroy})
	refused(t, err, register.CodeNotFound, "销毁批次 0 不存在", "destruction batch 0 does not exist")
	b, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: items[:2], Reason: "保密期限届满"})
	if err != nil {
		t.Fatal(err)
	}
	if it := d.item(t, items[0]); it.State != custody.DestructionPending {
		t.Errorf("listed: got %s, want destruction_pending", it.State)
	}
	// Listed, not approved.
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeDestroy, Batch: b.ID})
	refused(t, err, register.CodeRefused, "只有经领导批准的批次才能销毁", "only a batch approved by a leader")
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], b.Approval, true, "同意销毁"); err != nil {
		t.Fatal(err)
	}
	// The bureau's courier, receipt and supervisor are recorded, or there is no 送销.
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeDestroy, Batch: b.ID, Courier: "市保密局 周强"})
	refused(t, err, register.CodeInvalid, "保密局回执编号", "receipt")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDestroy, Batch: b.ID, Courier: "市保密局 周强", Receipt: "BMJ-2026-0815", Supervisor: "刘强"}, "")
	// A reader is not a second custodian.
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei"))
	refused(t, err, register.CodeForbidden, "两名机要员", "two custodians")
	if _, err := d.reg.Scan(ctx, wf, s.ID, badge("li.na")); err != nil {
		t.Fatal(err)
	}
	// An item outside the batch.
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[2]))
	refused(t, err, register.CodeRefused, "状态为“在柜”的文件不能送销", "cannot send for destruction an item that is In cabinet")
	// One by one: refused.
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0])); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeRefused, "不得逐份销毁", "never one by one")
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin}); err != nil {
		t.Fatal(err)
	}
	// 送销: with the bureau, not destroyed until its certificate is entered.
	for _, id := range items[:2] {
		if it := d.item(t, id); it.State != custody.SentForDestruction {
			t.Errorf("item %d after 送销: got %s, want sent_for_destruction", id, it.State)
		}
	}
	_, err = d.reg.DestructionCertificate(ctx, wf, b.ID)
	refused(t, err, register.CodeRefused, "尚未销毁", "not destroyed")
	_, err = d.reg.CertifyDestruction(ctx, wf, b.ID, " ", "")
	refused(t, err, register.CodeInvalid, "销毁证明编号", "certificate")
	if _, err := d.reg.CertifyDestruction(ctx, wf, b.ID, "BMJ-XH-2026-031", ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range items[:2] {
		if it := d.item(t, id); it.State != custody.Destroyed {
			t.Errorf("item %d: got %s, want destroyed", id, it.State)
		}
	}
	cert, err := d.reg.DestructionCertificate(ctx, wf, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cert.ApprovedBy != "liu.qiang" || len(cert.Items) != 2 || len(cert.Custodians) != 2 || !strings.Contains(cert.Custodians[1], "李娜") {
		t.Errorf("certificate: got approver %q, %d items, custodians %v, want liu.qiang, 2, 王芳 and 李娜", cert.ApprovedBy, len(cert.Items), cert.Custodians)
	}
}

func TestRule09LossReportedAndTraceable(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕91号", custody.Secret, 2, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", items[:1])
	_, err := d.reg.ReportLost(ctx, d.p["chen.jing"], items[:1], "丢了")
	refused(t, err, register.CodeForbidden, "不在您名下", "not held by you")
	_, err = d.reg.ReportLost(ctx, d.p["zhang.wei"], items[:1], "")
	refused(t, err, register.CodeInvalid, "丢失经过", "describe the loss")
	lost, err := d.reg.ReportLost(ctx, d.p["zhang.wei"], items[:1], "11月20日在会议室遗失")
	if err != nil {
		t.Fatal(err)
	}
	if lost[0].State != custody.Lost {
		t.Errorf("got %s, want lost", lost[0].State)
	}
	hist, _ := d.reg.History(ctx, d.p["wang.fang"], items[0])
	var chain []string
	for _, e := range hist {
		chain = append(chain, string(e.To)+"/"+e.Actor)
	}
	if got, want := strings.Join(chain, " "), "in_cabinet/wang.fang checked_out/wang.fang lost/zhang.wei"; got != want {
		t.Errorf("chain of custody: got %q, want %q", got, want)
	}
	_, err = d.reg.Recover(ctx, d.p["wang.fang"], items[1:], "C-01", "在柜中找到")
	refused(t, err, register.CodeRefused, "不能找回入柜", "cannot recover")
	found, err := d.reg.Recover(ctx, d.p["wang.fang"], items[:1], "C-01", "保卫处在会议室找到")
	if err != nil || found[0].State != custody.InCabinet || found[0].Holder != "" {
		t.Fatalf("recover: got %v %+v, want back in C-01 with no holder", err, found)
	}
	hist, _ = d.reg.History(ctx, d.p["wang.fang"], items[0])
	if last := hist[len(hist)-1]; last.Action != "recover" || last.Note != "保卫处在会议室找到" {
		t.Errorf("got last event %+v, want the recovery with its note", last)
	}
}

func TestRule10TopSecretNeedsTwoCustodians(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕101号", custody.TopSecret, 1, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeReadingRoom}, "zhang.wei", items...)
	_, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeRefused, "绝密文件交接须有两名机要员在场", "top-secret handovers need two custodians")
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin, SecondBadge: badge("liu.qiang"), SecondPIN: pin})
	refused(t, err, register.CodeForbidden, "须是另一位在职机要员", "another active custodian")
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin, SecondBadge: badge("li.na"), SecondPIN: pin}); err != nil {
		t.Fatal(err)
	}
	if rec := lastAudit(t, d, "handover.reading_room"); strings.Join(rec.Parties, ",") != "wang.fang,zhang.wei,li.na" {
		t.Errorf("got parties %v, want wang.fang, zhang.wei and the second custodian li.na", rec.Parties)
	}
}

func TestRule11NoTitlesLeaveForTheThreeMembers(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕111号", custody.Secret, 1, "BGS")
	s := d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(4)}, "zhang.wei", items)
	const title = "绝密标题"
	err := d.st.AuditRecords(ctx, 1, func(r audit.Record) error {
		if strings.Contains(string(r.After)+string(r.Before), title) {
			t.Errorf("audit record %d (%s) carries the title", r.Seq, r.Action)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	secadmin := register.Actor{ID: 99, Username: "sec", Roles: []custody.Role{custody.SecAdmin}}
	rows, err := d.reg.Ledger(ctx, secadmin, register.LedgerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Title != "" {
			t.Errorf("ledger for a 三员: got title %q, want none", r.Title)
		}
	}
	auditor := d.p["zhao.lei"]
	got, _ := d.reg.Session(ctx, auditor, s.ID)
	seen, _ := d.reg.Session(ctx, d.p["wang.fang"], s.ID)
	if got.Items[0].Title != "" || !strings.Contains(seen.Items[0].Title, title) {
		t.Errorf("session titles: got %q for the auditor and %q for the custodian, want none and the title", got.Items[0].Title, seen.Items[0].Title)
	}
	_, err = d.reg.Ledger(ctx, auditor, register.LedgerFilter{})
	refused(t, err, register.CodeForbidden, "只有", "only")
}

func TestApprovalsDecidedOnceByTheRightPerson(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕121号", custody.Secret, 1, "BGS")
	// liu.qiang is BGS's only leader and BGS has no unit above: nobody may decide his own
	// carry-out, so the request is refused at once.
	_, err := d.reg.RequestApproval(ctx, d.p["liu.qiang"], register.ApprovalRequest{Kind: register.ApproveTakeOut, Items: items, Due: d.due(8), Reason: "外出开会"})
	refused(t, err, register.CodeRefused, "申请人、使用人和持有人不能审批本人相关的申请", "nobody decides a request concerning themselves")
	ap, err := d.reg.RequestApproval(ctx, d.p["wang.fang"], register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "chen.jing", Items: items, Due: d.due(8), Reason: "外出开会"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Decide(ctx, d.p["wang.fang"], ap.ID, true, "")
	refused(t, err, register.CodeForbidden, "您没有这项审批权限", "you do not hold that authority")
	_, err = d.reg.Decide(ctx, d.p["zhang.wei"], ap.ID, true, "")
	refused(t, err, register.CodeForbidden, "须由 BGS 的本单位领导决定", "a leader of the unit of BGS")
	rej, err := d.reg.RequestApproval(ctx, d.p["wang.fang"], register.ApprovalRequest{Kind: register.ApproveReproduce, Items: items, Copies: 1, Reason: "备份"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.Decide(ctx, d.p["liu.qiang"], rej.ID, false, "无必要复制"); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Decide(ctx, d.p["liu.qiang"], rej.ID, true, "")
	refused(t, err, register.CodeRefused, "已处理（已驳回）", "already decided (rejected)")
	_, err = d.reg.Reproduce(ctx, d.p["wang.fang"], register.ReproduceRequest{Approval: rej.ID, Cabinet: "C-01"})
	refused(t, err, register.CodeRefused, "已被驳回：无必要复制", "rejected: 无必要复制")
	exp, err := d.reg.RequestApproval(ctx, d.p["wang.fang"], register.ApprovalRequest{Kind: register.ApproveReproduce, Items: items, Copies: 1, Reason: "备份", Expires: d.due(1)})
	if err != nil {
		t.Fatal(err)
	}
	d.now = d.now.Add(2 * time.Hour)
	_, err = d.reg.Decide(ctx, d.p["liu.qiang"], exp.ID, true, "")
	refused(t, err, register.CodeRefused, "已于", "expired")
	pending, _ := d.reg.Approvals(ctx, d.p["liu.qiang"], true)
	if len(pending) != 2 {
		t.Errorf("got %d pending approvals, want 2 (one undecided, one expired)", len(pending))
	}
	// A reader sees only what concerns them.
	mine, _ := d.reg.Approvals(ctx, d.p["zhang.wei"], false)
	_, err = d.reg.Approval(ctx, d.p["zhang.wei"], ap.ID)
	if len(mine) != 0 || err == nil {
		t.Errorf("reader: got %d approvals and %v, want none of the others' requests", len(mine), err)
	}
}
