package register_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

func TestTransferToAnotherUnitWithReceipt(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕201号", custody.Secret, 2, "BGS")
	_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTransfer})
	refused(t, err, register.CodeInvalid, "接收单位", "receiving unit")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeTransfer, TargetUnit: "KJC"}, "")
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei"))
	refused(t, err, register.CodeForbidden, "不属于接收单位", "does not belong to the receiving unit")
	d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来")
	done := d.handover(t, register.OpenRequest{Purpose: register.PurposeTransfer, TargetUnit: "KJC"}, "sun.li", items[:1])
	if !strings.HasPrefix(done.Receipt, "JJ-") || done.TargetUnit != "KJC" {
		t.Errorf("got receipt %q to %q, want a generated JJ- receipt to KJC", done.Receipt, done.TargetUnit)
	}
	if it := d.item(t, items[0]); it.State != custody.TransferredOut || it.Place != "KJC" {
		t.Errorf("got %s at %q, want transferred_out to KJC", it.State, it.Place)
	}
	a := d.handover(t, register.OpenRequest{Purpose: register.PurposeArchive, Receipt: "GD-2026-001"}, "liu.qiang", items[1:])
	if it := d.item(t, items[1]); it.State != custody.TransferredOut || it.Place != "archive" || a.Receipt != "GD-2026-001" {
		t.Errorf("archive: got %s at %q receipt %q, want transferred_out to the archive with GD-2026-001", it.State, it.Place, a.Receipt)
	}
	// Gone from the office: it cannot be lent again.
	s = d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(4)}, "zhang.wei")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[0]))
	refused(t, err, register.CodeRefused, "已移交", "Transferred out")
}

func TestReportsFilterByUnitLevelHolderAndOverdue(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	top := d.receive(t, "办〔2026〕301号", custody.TopSecret, 1, "BGS")
	sec := d.receive(t, "办〔2026〕302号", custody.Secret, 2, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(2)}, "zhang.wei", sec[:1])
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(48)}, "chen.jing", sec[1:])
	count := func(f register.LedgerFilter) int {
		t.Helper()
		rows, err := d.reg.Ledger(ctx, wf, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	if n := count(register.LedgerFilter{Unit: "BGS"}); n != 3 {
		t.Errorf("ledger of BGS: got %d, want 3", n)
	}
	if n := count(register.LedgerFilter{Unit: "KJC"}); n != 0 {
		t.Errorf("ledger of KJC: got %d, want 0", n)
	}
	if n := count(register.LedgerFilter{Level: custody.TopSecret}); n != 1 {
		t.Errorf("top-secret: got %d, want 1 (item %d)", n, top[0])
	}
	if n := count(register.LedgerFilter{Holder: "zhang.wei"}); n != 1 {
		t.Errorf("holdings of zhang.wei: got %d, want 1", n)
	}
	if rows, _ := d.reg.Ledger(ctx, wf, register.LedgerFilter{Held: true}); len(rows) != 2 || rows[0].Holder != "chen.jing" || rows[1].Holder != "zhang.wei" {
		t.Errorf("holdings by person: got %d rows, want chen.jing's then zhang.wei's", len(rows))
	}
	if n := count(register.LedgerFilter{Overdue: true}); n != 0 {
		t.Errorf("overdue now: got %d, want 0", n)
	}
	d.now = d.now.Add(3 * time.Hour)
	rows, _ := d.reg.Ledger(ctx, wf, register.LedgerFilter{Overdue: true})
	if len(rows) != 1 || rows[0].Holder != "zhang.wei" || rows[0].HolderName != "张伟" {
		t.Errorf("overdue after 3 h: got %+v, want zhang.wei's copy", rows)
	}
}

func TestBadgesAndPINs(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	err := d.reg.IssueBadge(ctx, d.p["wang.fang"], "zhang.wei", "B-1")
	refused(t, err, register.CodeForbidden, "只有系统管理员可以发放工作证", "only admin")
	err = d.reg.IssueBadge(ctx, admin, "zhang.wei", "12345")
	refused(t, err, register.CodeInvalid, "不能全是数字", "not digits only")
	err = d.reg.SetBadgePIN(ctx, d.p["zhang.wei"], pin, "12a4")
	refused(t, err, register.CodeInvalid, "4 到 12 位数字", "4 to 12 digits")
	err = d.reg.IssueBadge(ctx, admin, "zhang.wei", badge("chen.jing"))
	refused(t, err, register.CodeConflict, "已发给他人", "belongs to someone else")
	// Changing one's own PIN needs the current one.
	err = d.reg.SetBadgePIN(ctx, d.p["zhang.wei"], "0000", "13579")
	refused(t, err, register.CodeForbidden, "PIN 不正确", "wrong PIN")
	var hash string
	d.st.DB().QueryRow(`SELECT pin_hash FROM badges b JOIN people p ON p.id = b.person_id WHERE p.username = 'zhang.wei'`).Scan(&hash)
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, pin) {
		t.Errorf("got PIN stored as %q, want an argon2id hash", hash)
	}
}

// Labels resolve by barcode (the GS1 AI (253) element string, as scanned or printed) and by EPC
// once the register has assigned them.
func TestLabelsResolveByBarcodeAndEPC(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕401号", custody.Secret, 3, "BGS")
	err := d.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE items SET barcode = CASE id WHEN ? THEN '25306141411234525678' WHEN ? THEN '(253)06141411234525679' END, epc = CASE id WHEN ? THEN '2C74257BF46072000000162E' END WHERE id IN (?, ?, ?)`,
			items[0], items[1], items[2], items[0], items[1], items[2])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei")
	for i, code := range []string{"]C125306141411234525678", "25306141411234525679", "2c74257bf46072000000162e"} {
		res, err := d.reg.Scan(ctx, wf, s.ID, code)
		if err != nil {
			t.Fatalf("scan %q: %v", code, err)
		}
		if res.Item.ID != items[i] {
			t.Errorf("scan %q: got item %d, want %d", code, res.Item.ID, items[i])
		}
	}
}

func TestWrongPINsLockTheBadge(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕501号", custody.Secret, 1, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", items...)
	for i := 1; i < register.MaxPINFailures; i++ {
		_, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "0000"})
		refused(t, err, register.CodeForbidden, "PIN 不正确", "wrong PIN")
	}
	_, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "0000"})
	refused(t, err, register.CodeForbidden, "已锁定", "locked")
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeForbidden, "已锁定", "locked")
	// The administrator resets the badge; it signs nothing until zhang.wei chooses a new PIN.
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	if err := d.reg.ResetBadge(ctx, admin, "zhang.wei"); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeForbidden, "尚未设置 PIN：须由持证人本人设置", "its holder chooses one")
	if err := d.reg.SetBadgePIN(ctx, d.p["zhang.wei"], "", "97531"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "97531"}); err != nil {
		t.Fatalf("after the holder chose a new PIN: got %v, want the handover done", err)
	}
	if rec := lastAudit(t, d, "badge.pin_failed"); rec.Actor != "zhang.wei" {
		t.Errorf("got failed-PIN audit actor %q, want zhang.wei", rec.Actor)
	}
}
