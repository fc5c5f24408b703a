package register_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Issue 13, point 7: borrowing has a ceiling per level, a reader with an overdue copy gets
// nothing more, and a top-secret copy stays in the reading room and comes back the same day.
func TestBorrowingLimits(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	secret := d.receive(t, "办〔2026〕601号", custody.Secret, 2, "BGS")
	conf := d.receive(t, "办〔2026〕602号", custody.Confidential, 1, "BGS")
	top := d.receive(t, "办〔2026〕603号", custody.TopSecret, 1, "BGS")

	// 机密: at most 7 days; 秘密: at most 30.
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(8 * 24)}, "zhang.wei")
	_, err := d.reg.Scan(ctx, wf, s.ID, itoa(secret[0]))
	refused(t, err, register.CodeRefused, "机密文件借阅期限最长 7 天", "7 days at most")
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(conf[0])); err != nil {
		t.Fatalf("秘密 for 8 days: %v, want accepted", err)
	}
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")

	// 绝密: not borrowed, and in the reading room only until the end of the day.
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(2)}, "zhang.wei")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(top[0]))
	refused(t, err, register.CodeRefused, "绝密文件只能在阅文室阅读", "reading room only")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	s = d.open(t, "wang.fang", register.OpenRequest{Desk: "D-02", Purpose: register.PurposeReadingRoom, Due: d.due(30)}, "zhang.wei")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(top[0]))
	refused(t, err, register.CodeRefused, "绝密文件须当日归还", "back the same day")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")

	// An overdue copy stops zhang.wei borrowing anything else until it is back.
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(2)}, "zhang.wei", secret[:1])
	d.now = d.now.Add(3 * 60 * 60e9)
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "")
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei"))
	refused(t, err, register.CodeRefused, "zhang.wei 有 1 份涉密文件逾期未还", "past their due time")
	if it := d.item(t, secret[1]); it.State != custody.InCabinet {
		t.Errorf("got %s, want the second copy still in its cabinet", it.State)
	}
	// The return itself is of course accepted.
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", secret[:1])
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", secret[1:])
}

// A badge without a PIN (new, or reset by the administrator) gets its PIN from its holder at its
// first use at a desk; that PIN signs the handover and the badge's next ones.
func TestBadgeFirstUseAtTheDesk(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	if err := d.reg.ResetBadge(ctx, admin, "zhang.wei"); err != nil {
		t.Fatal(err)
	}
	items := d.receive(t, "办〔2026〕801号", custody.Secret, 2, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", items[0])
	_, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{NewPIN: "12a4"})
	refused(t, err, register.CodeInvalid, "4 到 12 位数字", "4 to 12 digits")
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{NewPIN: "97531"}); err != nil {
		t.Fatalf("first use with a new PIN: %v", err)
	}
	if rec := lastAudit(t, d, "badge.pin_set"); !strings.Contains(string(rec.After), `"desk":"D-01"`) {
		t.Errorf("got PIN audit %s, want the desk named", rec.After)
	}
	// From now on the badge has a PIN: a "new" one is no longer taken, the chosen one signs.
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", items[1])
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{NewPIN: "11111"})
	refused(t, err, register.CodeForbidden, "PIN 不正确", "wrong PIN")
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "97531"}); err != nil {
		t.Fatal(err)
	}
}
