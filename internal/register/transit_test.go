package register_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// TestDispatchByCourierThenReceipt: an envelope of two copies goes to a courier at the desk; the
// copies are 传递中 with courier, envelope and expected arrival in the register and their history;
// past the expected arrival the transit is overdue; the other unit's receipt, by number and name,
// makes them 已移交 and ends the overdue condition. A second receipt is refused.
func TestDispatchByCourierThenReceipt(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕501号", custody.Secret, 3, "BGS")

	// What a dispatch must name, each refused with nothing written.
	for _, c := range []struct {
		req    register.OpenRequest
		zh, en string
	}{
		{register.OpenRequest{Courier: "赵交通", Destination: "市国资委办公室", Expected: d.due(24)}, "信封编号（envelope）", "envelope"},
		{register.OpenRequest{Envelope: "JY-2026-0042", Destination: "市国资委办公室", Expected: d.due(24)}, "机要交通员（courier）", "courier"},
		{register.OpenRequest{Courier: "赵交通", Envelope: "JY-2026-0042", Expected: d.due(24)}, "接收单位（destination）", "destination"},
		{register.OpenRequest{Courier: "赵交通", Envelope: "JY-2026-0042", Destination: "市国资委办公室"}, "预计送达时间（expected）", "expected"},
		{register.OpenRequest{Courier: "赵交通", Envelope: "JY-2026-0042", Destination: "市国资委办公室", Expected: d.due(-1)}, "已过", "in the past"},
		{register.OpenRequest{Courier: "赵交通", Envelope: strings.Repeat("封", 65), Destination: "市国资委办公室", Expected: d.due(24)}, "信封编号", "envelope"},
	} {
		c.req.Desk, c.req.Purpose = "D-01", register.PurposeDispatch
		_, err := d.reg.OpenSession(ctx, wf, c.req)
		code := register.CodeRefused
		if c.zh == "已过" || strings.HasPrefix(c.req.Envelope, "封") {
			code = register.CodeInvalid
		}
		refused(t, err, code, c.zh, c.en)
	}
	if ss, _ := d.reg.Sessions(ctx, wf, "open"); len(ss) != 0 {
		t.Fatalf("got %d open sessions after refusals, want none", len(ss))
	}

	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDispatch, Courier: "赵交通", Envelope: "JY-2026-0042", Destination: "市国资委办公室", Expected: d.due(24)}, "")
	// The courier has no account: no badge is scanned.
	_, err := d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei"))
	refused(t, err, register.CodeInvalid, "没有账号", "without an account")
	for _, id := range items[:2] {
		if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(id)); err != nil {
			t.Fatal(err)
		}
	}
	done, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if done.Transit == 0 || done.Envelope != "JY-2026-0042" || done.Courier != "赵交通" || done.Expected == "" {
		t.Fatalf("got session %+v, want its transit with envelope, courier and expected arrival", done)
	}
	it := d.item(t, items[0])
	if it.State != custody.InTransit || it.Place != "市国资委办公室" {
		t.Errorf("got %s at %q, want in_transit to 市国资委办公室", it.State, it.Place)
	}
	hist, err := d.reg.History(ctx, wf, items[0])
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.To != custody.InTransit || !strings.Contains(last.Note, "赵交通") || !strings.Contains(last.Note, "JY-2026-0042") {
		t.Errorf("got last event %+v, want the dispatch with courier and envelope", last)
	}
	rec := lastAudit(t, d, "handover.dispatch")
	if !strings.Contains(string(rec.After), "JY-2026-0042") || !strings.Contains(string(rec.After), "赵交通") || strings.Contains(string(rec.After), "绝密标题") {
		t.Errorf("got audit %s, want envelope and courier and no title", rec.After)
	}

	tr, err := d.reg.ItemTransit(ctx, wf, items[0])
	if err != nil || tr == nil {
		t.Fatalf("item transit: %v %v", tr, err)
	}
	if tr.State != register.TransitOpen || tr.Overdue || len(tr.Items) != 2 {
		t.Errorf("got transit %s overdue=%v with %d copies, want in transit, not overdue, 2 copies", tr.State, tr.Overdue, len(tr.Items))
	}
	if od, _ := d.reg.OverdueTransits(ctx); len(od) != 0 {
		t.Errorf("got %d overdue copies before the expected arrival, want none", len(od))
	}
	d.now = d.now.Add(25 * time.Hour)
	od, err := d.reg.OverdueTransits(ctx)
	if err != nil || len(od) != 2 || od[0].Home != "C-01" || od[0].Transit != tr.ID {
		t.Fatalf("got overdue %+v (%v), want both copies of transit %d from C-01", od, err, tr.ID)
	}
	if ts, _ := d.reg.Transits(ctx, d.p["liu.qiang"], "overdue"); len(ts) != 1 {
		t.Errorf("a leader lists %d overdue transits, want 1", len(ts))
	}

	// A copy with the courier is not at the desk: it cannot be handed over there.
	o := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeTransfer, Destination: "市国资委办公室", Receiver: "钱收", Receipt: "R-0"}, "")
	_, err = d.reg.Scan(ctx, wf, o.ID, itoa(items[0]))
	refused(t, err, register.CodeRefused, "机要交通途中", "with a courier")
	d.reg.AbandonSession(ctx, wf, o.ID, "对方改日再来")

	// Receipts are the custodian's, complete, and once.
	_, err = d.reg.RecordReceipt(ctx, d.p["liu.qiang"], tr.ID, register.ReceiptRequest{Receipt: "国资回〔2026〕12号", Receiver: "钱收"})
	refused(t, err, register.CodeForbidden, "机要员", "custodian")
	_, err = d.reg.RecordReceipt(ctx, wf, tr.ID, register.ReceiptRequest{Receipt: "国资回〔2026〕12号"})
	refused(t, err, register.CodeInvalid, "receiver", "receiver")
	got, err := d.reg.RecordReceipt(ctx, wf, tr.ID, register.ReceiptRequest{Receipt: "国资回〔2026〕12号", Receiver: "钱收"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != register.TransitReceived || got.Receipt != "国资回〔2026〕12号" || got.Receiver != "钱收" || got.RecordedBy != "wang.fang" {
		t.Errorf("got %+v, want received with receipt and receiver", got)
	}
	for _, it := range got.Items {
		if it.State != custody.TransferredOut {
			t.Errorf("copy %d is %s, want transferred_out", it.ID, it.State)
		}
	}
	if od, _ := d.reg.OverdueTransits(ctx); len(od) != 0 {
		t.Errorf("got %d overdue copies after the receipt, want none", len(od))
	}
	_, err = d.reg.RecordReceipt(ctx, wf, tr.ID, register.ReceiptRequest{Receipt: "X-1", Receiver: "某人"})
	refused(t, err, register.CodeConflict, "回执已登记", "already has its receipt")
}

// TestDispatchReturnsAndIsScannedIn: an undelivered envelope comes back and is scanned in at the
// desk (退回入柜) like any store; then the transit has nothing to receipt. A copy that is not in
// its cabinet cannot be dispatched; top-secret needs a second custodian.
func TestDispatchReturnsAndIsScannedIn(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕502号", custody.TopSecret, 1, "BGS")
	items = append(items, d.receive(t, "办〔2026〕504号", custody.Secret, 1, "BGS")...)
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", items[1:])

	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeDispatch, Courier: "赵交通", Envelope: "JY-2026-0043", Destination: "市委办公厅", Expected: d.due(8)}, "")
	_, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[1]))
	refused(t, err, register.CodeRefused, "在 zhang.wei 手中", "is with zhang.wei")
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0])); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{})
	refused(t, err, register.CodeRefused, "两名机要员", "two custodians")
	if it := d.item(t, items[0]); it.State != custody.InCabinet {
		t.Fatalf("after the refusal got %s, want still in_cabinet", it.State)
	}
	done, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{SecondBadge: badge("li.na"), SecondPIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if len(done.Signatures) != 1 || done.Signatures[0].Username != "li.na" {
		t.Errorf("got signatures %+v, want li.na as second custodian", done.Signatures)
	}

	// Back from transit only scanned at the desk: a typed store is refused.
	_, err = d.reg.StoreItems(ctx, wf, "C-01", []int64{items[0]})
	refused(t, err, register.CodeRefused, "传递中", "In transit")
	// A receipt-back session refuses what is not in transit and stores what is.
	r := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeReceive}, "")
	_, err = d.reg.Scan(ctx, wf, r.ID, itoa(items[1]))
	refused(t, err, register.CodeRefused, "", "")
	if _, err := d.reg.Scan(ctx, wf, r.ID, itoa(items[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.CloseSession(ctx, wf, r.ID, register.CloseRequest{}); err != nil {
		t.Fatal(err)
	}
	if it := d.item(t, items[0]); it.State != custody.InCabinet || it.Cabinet != "C-01" {
		t.Errorf("got %s in %q, want back in_cabinet C-01", it.State, it.Cabinet)
	}
	_, err = d.reg.RecordReceipt(ctx, wf, done.Transit, register.ReceiptRequest{Receipt: "R-1", Receiver: "某人"})
	refused(t, err, register.CodeRefused, "已不在途", "no copy of transit")
	if tr, _ := d.reg.Transit(ctx, wf, done.Transit); tr.State != register.TransitEnded {
		t.Errorf("got transit state %s, want ended", tr.State)
	}
}

// TestTransferToOutsideUnitWithReceipt: 上交 to the issuing unit, which has no account here: the
// receiver's name and receipt number are recorded and the copy is 已移交 at once.
func TestTransferToOutsideUnitWithReceipt(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕503号", custody.Secret, 1, "BGS")
	_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTransfer, Destination: "市委机要局", Receiver: "吴收"})
	refused(t, err, register.CodeRefused, "对方回执编号（receipt）", "receipt")
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTransfer, Destination: "市委机要局", Receiver: "吴收", Receipt: "机要回-7", TargetUnit: "KJC"})
	refused(t, err, register.CodeInvalid, "二者只能选一", "not both")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeTransfer, Destination: "市委机要局", Receiver: "吴收", Receipt: "机要回-7"}, "", items...)
	done, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	it := d.item(t, items[0])
	if it.State != custody.TransferredOut || it.Place != "市委机要局" {
		t.Errorf("got %s at %q, want transferred_out to 市委机要局", it.State, it.Place)
	}
	tr, err := d.reg.Transit(ctx, wf, done.Transit)
	if err != nil || tr.Kind != "handover" || tr.State != register.TransitReceived || tr.Receipt != "机要回-7" || tr.Receiver != "吴收" {
		t.Errorf("got %+v (%v), want a handover received with 机要回-7 by 吴收", tr, err)
	}
}
