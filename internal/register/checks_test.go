package register_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// A check where nothing can be read by RFID (the copies have no tags): each cabinet copy stays
// 未核对 until it is scanned at the desk; a borrowed copy is 持有人未确认 until its holder confirms
// it at the desk with badge and PIN. A leader and a custodian sign; the stored paper is served.
func TestCheckByDeskScanAndSigners(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	ids := d.receive(t, "京密〔2026〕30号", custody.Secret, 3)
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.now.Add(48 * time.Hour).Format(time.RFC3339)}, "zhang.wei", ids[:1])
	wang, li, liu, zhang := d.p["wang.fang"], d.p["li.na"], d.p["liu.qiang"], d.p["zhang.wei"]

	c, err := d.reg.OpenCheck(ctx, wang, register.OpenCheckRequest{Unit: "BGS"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Counts.Total != 3 || c.Counts.Unchecked != 2 || c.Counts.Unconfirmed != 1 || c.Counts.Discrepancies != 3 {
		t.Fatalf("opened: got %+v, want 2 unchecked in C-01 and 1 unconfirmed", c.Counts)
	}
	// A holder's badge is not a copy; a copy scanned counts once.
	_, err = d.reg.CheckScan(ctx, wang, c.ID, badge("zhang.wei"))
	refused(t, err, register.CodeInvalid, "文件标签", "item labels")
	for _, id := range ids[1:] {
		if c, err = d.reg.CheckScan(ctx, wang, c.ID, itoa(id)); err != nil {
			t.Fatal(err)
		}
	}
	// The holder's copy cannot be confirmed by a desk confirmation with another person's badge.
	_, err = d.reg.ConfirmHolding(ctx, wang, c.ID, register.ConfirmRequest{Item: ids[0], Badge: badge("chen.jing"), PIN: pin})
	refused(t, err, register.CodeForbidden, "持有人", "holder")
	if c, err = d.reg.ConfirmHolding(ctx, wang, c.ID, register.ConfirmRequest{Item: ids[0], Badge: badge("zhang.wei"), PIN: pin}); err != nil {
		t.Fatal(err)
	}
	if n := c.Counts; n.Scanned != 2 || n.Confirmed != 1 || n.Discrepancies != 0 {
		t.Fatalf("after scans and the confirmation: got %+v, want 2 scanned, 1 confirmed, no discrepancy", n)
	}
	if c.Items[0].Confirmation == nil || c.Items[0].Confirmation.How != "holder_pin" || c.Items[0].Confirmation.Holder != "zhang.wei" {
		t.Errorf("confirmation of the borrowed copy: got %+v, want holder_pin by zhang.wei", c.Items[0].Confirmation)
	}
	// A holder cannot sign, nor another unit's leader; without discrepancies no note is needed;
	// the leader may sign first, a custodian second.
	_, err = d.reg.SignCheck(ctx, zhang, c.ID, register.SignRequest{PIN: pin})
	refused(t, err, register.CodeForbidden, "机要员、领导", "custodian, leader")
	if _, err = d.reg.SignCheck(ctx, liu, c.ID, register.SignRequest{PIN: pin}); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.SignCheck(ctx, d.p["sun.li"], c.ID, register.SignRequest{PIN: pin})
	refused(t, err, register.CodeForbidden, "不是您的单位", "not yours")
	// The custodian signs a minute after the leader: signatures are listed in the order of their
	// times (the store keeps no insertion order of its own to break a tie).
	d.now = d.now.Add(time.Minute)
	if c, err = d.reg.SignCheck(ctx, li, c.ID, register.SignRequest{PIN: pin}); err != nil {
		t.Fatal(err)
	}
	if len(c.Signatures) != 2 || c.Signatures[0].Role != "leader" || c.Signatures[1].Role != "custodian" {
		t.Fatalf("signatures: got %+v", c.Signatures)
	}
	// The check closes with a rendered paper, stored as given.
	paper := []byte("%PDF-1.4 test paper")
	c, err = d.reg.CloseCheck(ctx, wang, c.ID, func(c register.Check) ([]byte, error) {
		if c.State != "closed" || c.ClosedBy != "wang.fang" || c.Counts.Total != 3 {
			t.Errorf("rendered check: got state %s by %q, %d copies", c.State, c.ClosedBy, c.Counts.Total)
		}
		return paper, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.reg.CheckReport(ctx, liu, c.ID)
	if err != nil || string(got) != string(paper) {
		t.Errorf("stored report: got %q, %v", got, err)
	}
	// The next check of BGS may open now.
	if _, err := d.reg.OpenCheck(ctx, wang, register.OpenCheckRequest{Unit: "BGS"}); err != nil {
		t.Errorf("a new check after closing: %v", err)
	}
}

// Periods are named in the site's zone: a check opened at 2026-12-31 17:00 UTC counts for 2027's
// first quarter (January in Beijing), or January 2027 when monthly.
func TestCheckPeriodInSiteZone(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	d.now = time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC)
	c, err := d.reg.OpenCheck(ctx, d.p["wang.fang"], register.OpenCheckRequest{Unit: "BGS"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Period != "2027-Q1" || c.PeriodText != "2027年第1季度" {
		t.Errorf("quarterly: got %s %s, want 2027-Q1 2027年第1季度", c.Period, c.PeriodText)
	}
	if register.PeriodText("2027-01") != "2027年1月" {
		t.Errorf("monthly text: got %s", register.PeriodText("2027-01"))
	}
}

// A unit that kept copies through a whole period without a check is overdue until one opens; in
// the following period it is reminded only in the period's last week.
func TestChecksDue(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	d.receive(t, "京密〔2026〕31号", custody.Secret, 1)
	bj, _ := time.LoadLocation("Asia/Shanghai")
	quarter := func(t time.Time) time.Time {
		l := t.In(bj)
		return time.Date(l.Year(), time.Month((int(l.Month())-1)/3*3+1), 1, 0, 0, 0, 0, bj)
	}
	// Two quarters on, with no check in the quarter before: overdue.
	d.now = quarter(time.Now()).AddDate(0, 6, 10)
	due, err := d.reg.ChecksDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Unit != "BGS" || !due[0].Overdue || due[0].Missed == "" {
		t.Fatalf("after a quarter without a check: got %+v, want BGS overdue", due)
	}
	if _, err := d.reg.OpenCheck(ctx, d.p["wang.fang"], register.OpenCheckRequest{Unit: "BGS"}); err != nil {
		t.Fatal(err)
	}
	if due, _ := d.reg.ChecksDue(ctx); len(due) != 0 {
		t.Errorf("after opening a check: got %+v, want nothing due", due)
	}
	// The next quarter: nothing due in its first weeks, a reminder in its last week.
	next := quarter(d.now).AddDate(0, 3, 0)
	d.now = next.AddDate(0, 0, 20)
	if due, _ := d.reg.ChecksDue(ctx); len(due) != 0 {
		t.Errorf("early in the next quarter: got %+v, want nothing due", due)
	}
	d.now = next.AddDate(0, 3, -3)
	due, _ = d.reg.ChecksDue(ctx)
	if len(due) != 1 || due[0].Overdue || due[0].Ends != next.AddDate(0, 3, -1).Format(time.DateOnly) {
		t.Errorf("in the quarter's last week: got %+v, want a reminder, not overdue, ending %s", due, next.AddDate(0, 3, -1).Format(time.DateOnly))
	}
}

// The desk's scanner during a 清查: with no handover open at the desk, a read of a copy of the
// desk's unit is a desk scan of the open check; another agent cannot feed it.
func TestCheckFromTheDeskScanner(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	if _, _, err := d.reg.EnrollAgent(ctx, admin, "desk-agent-4"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.AddDesk(ctx, d.p["wang.fang"], register.Desk{Code: "D-04", Name: "四号工作台", Agent: "desk-agent-4"}); err != nil {
		t.Fatal(err)
	}
	ids := d.receive(t, "京密〔2026〕32号", custody.Secret, 2)
	c, err := d.reg.OpenCheck(ctx, d.p["wang.fang"], register.OpenCheckRequest{Unit: "BGS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.AgentScan(ctx, "other-agent", "D-04", itoa(ids[0])); err == nil {
		t.Fatal("another agent fed the desk's check")
	}
	res, err := d.reg.AgentScan(ctx, "desk-agent-4", "D-04", itoa(ids[0]))
	if err != nil || res.Kind != "check_item" {
		t.Fatalf("scanner read during the check: got %+v, %v", res, err)
	}
	_, err = d.reg.AgentScan(ctx, "desk-agent-4", "D-04", badge("zhang.wei"))
	refused(t, err, register.CodeInvalid, "文件标签", "item labels")
	c, err = d.reg.Check(ctx, d.p["wang.fang"], c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Counts.Scanned != 1 || c.Items[0].Confirmation == nil || c.Items[0].Confirmation.By != "wang.fang" || c.Items[0].Confirmation.How != "desk_scan" {
		t.Errorf("after the scanner's read: got %+v, first copy %+v", c.Counts, c.Items[0].Confirmation)
	}
}

// A copy in transit (机要交通) is out with a courier who has no account here: the custodian
// records it as confirmed only with a note saying who confirmed it; a holder cannot confirm it.
func TestCheckCopyInTransit(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕33号", custody.Secret, 2, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDispatch, Courier: "赵交通", Envelope: "JY-2026-0077", Destination: "市国资委办公室", Expected: d.due(24)}, "")
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{}); err != nil {
		t.Fatal(err)
	}
	c, err := d.reg.OpenCheck(ctx, wf, register.OpenCheckRequest{Unit: "BGS"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Items[0].State != custody.InTransit || c.Items[0].Outcome != register.CheckUnconfirmed {
		t.Fatalf("copy in transit: got %s %s, want in_transit unconfirmed", c.Items[0].State, c.Items[0].Outcome)
	}
	_, err = d.reg.ConfirmHolding(ctx, d.p["zhang.wei"], c.ID, register.ConfirmRequest{Item: items[0]})
	refused(t, err, register.CodeForbidden, "持有人本人", "holder")
	_, err = d.reg.ConfirmHolding(ctx, wf, c.ID, register.ConfirmRequest{Item: items[0]})
	refused(t, err, register.CodeInvalid, "由谁、以何方式确认", "who confirmed")
	// A copy in its cabinet is not confirmed by a person: the inventory or a desk scan checks it.
	_, err = d.reg.ConfirmHolding(ctx, wf, c.ID, register.ConfirmRequest{Item: items[1], Note: "x"})
	refused(t, err, register.CodeRefused, "不在人员手中", "not out with a person")
	c, err = d.reg.ConfirmHolding(ctx, wf, c.ID, register.ConfirmRequest{Item: items[0], Note: "市国资委办公室收文员电话确认已收到封JY-2026-0077，回执在途"})
	if err != nil {
		t.Fatal(err)
	}
	if cf := c.Items[0].Confirmation; c.Items[0].Outcome != register.CheckConfirmed || cf == nil || cf.How != "recorded" || cf.By != "wang.fang" {
		t.Errorf("recorded confirmation: got %s %+v", c.Items[0].Outcome, cf)
	}
}
