package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/wire"
)

// C-01 is rebound from room-301 to room-303 while room-301 still holds, in its outbox, an
// inventory of C-01 it made before. When that inventory arrives late it is refused — C-01's
// record comes from room-303 now — but counted as `rebound`, its seq recorded, and it raises no
// not_bound alert and no refusal audit: it was made while room-301 served C-01 (the register
// keeps the ended binding and its end). An observation room-301 makes after the rebinding is
// a forgery as before: not_bound, alert and audit.
func TestLateResendAfterRebindingIsNoForgery(t *testing.T) {
	ts := newTrustSite(t)
	ctx := context.Background()
	const inventories = `SELECT count(*) FROM observations WHERE agent = 'room-301' AND kind = 'inventory'`
	seeded := ts.count(t, inventories)
	old := newAgent(t, ts.env, "room-301", ts.keys["room-301"])
	all := func(int) bool { return true }
	// The resync asked when it came online is answered before the inventory is made: otherwise
	// the answer would carry it from the outbox before the rebinding.
	waitFor(t, 10*time.Second, func() bool { return old.resyncCount() >= 1 }, "room-301 to answer the resync asked when it came online")
	time.Sleep(100 * time.Millisecond)
	seq, late := old.publish(wire.KindInventory, ts.inventory(1, "before", all), false) // made now, not yet sent
	time.Sleep(10 * time.Millisecond)

	admin := register.Actor{Username: "admin", Roles: []custody.Role{custody.Admin}}
	if err := ts.reg.BindPlace(ctx, admin, register.PlaceCabinet, "C-01", "room-303"); err != nil {
		t.Fatal(err)
	}
	ts.run.in.InvalidatePlaces()
	if n := ts.count(t, `SELECT count(*) FROM place_bindings WHERE kind = 'cabinet' AND code = 'C-01' AND agent = 'room-301'`); n != 1 {
		t.Fatalf("got %d ended bindings of C-01 to room-301, want 1", n)
	}

	if tok := old.raw(late); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish the late inventory: %v", tok.Error())
	}
	waitFor(t, 10*time.Second, func() bool {
		return dropped(ts.run, "rebound") >= 1 && ts.count(t, `SELECT count(*) FROM observation_refusals WHERE agent = 'room-301' AND seq = ? AND reason = 'rebound'`, seq) == 1
	}, "the late inventory counted as rebound, its seq recorded")
	time.Sleep(300 * time.Millisecond) // a forgery alert, had one been raised, is recorded by now
	if v := dropped(ts.run, "not_bound"); v != 0 {
		t.Errorf("custody_ingest_dropped_total{reason=not_bound}: got %v for the late resend, want 0", v)
	}
	if fs, _ := ts.book.Alerts(ctx, alert.Filter{Kind: reconcile.NotBound}); len(fs) != 0 {
		t.Errorf("the late resend raised %d not_bound alerts, want none", len(fs))
	}
	if n := ts.count(t, `SELECT count(*) FROM audit WHERE action = 'observation.refuse'`); n != 0 {
		t.Errorf("the late resend wrote %d observation.refuse audit records, want none", n)
	}
	if n := ts.count(t, inventories); n != seeded {
		t.Errorf("got %d inventories of room-301, want still %d: the late one must not be stored, C-01's record comes from room-303 now", n, seeded)
	}

	// Made after the rebinding: a forgery.
	old.publish(wire.KindInventory, ts.inventory(1, "after", all), true)
	waitFor(t, 10*time.Second, func() bool {
		fs, _ := ts.book.Alerts(ctx, alert.Filter{Kind: reconcile.NotBound})
		return dropped(ts.run, "not_bound") >= 1 && len(fs) == 1 && fs[0].Agent == "room-301"
	}, "the inventory made after the rebinding refused as not_bound and raised about room-301")
}
