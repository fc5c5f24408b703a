package register_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// An item finding's evidence names the copy's last custody step: the check-out to a reader and
// the return are steps too, not only putting it into the cabinet (they are audited about their
// session, so a read of the audit chain by the item's subject never saw them).
func TestLastCustodyEventIsTheLatestStep(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	reads := d.reg.Reads()
	items := d.receive(t, "办〔2026〕901号", custody.Secret, 1, "BGS")
	last := func(want custody.Action, actor string) {
		t.Helper()
		ev, found, err := reads.LastCustodyEvent(ctx, items[0])
		if err != nil || !found || ev.Action != want || ev.Actor != actor || ev.At.IsZero() {
			t.Errorf("last custody event: got %+v, found %v, err %v; want %s by %s", ev, found, err, want, actor)
		}
	}
	last(custody.Store, "wang.fang")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", items)
	last(custody.CheckOut, "wang.fang")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", items)
	last(custody.Return, "wang.fang")
	if _, found, err := reads.LastCustodyEvent(ctx, 999999); found || err != nil {
		t.Errorf("an item that does not exist: found %v, err %v; want none", found, err)
	}
}
