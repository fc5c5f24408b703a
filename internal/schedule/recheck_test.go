package schedule

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
)

// An item taken out without a checkout is rechecked the moment its removal grace ends — the
// confirming inventory is commanded then — not at the next site check, which may come up to a
// quarter of a minute later in custodyd (here, a minute).
func TestRemovalRecheckedWhenTheGraceEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := alerttest.OpenStore(t)
	site := alerttest.Seed(t, st, 1, 5, func(int) string { return "agent-a" })
	removed := site.Items["C-01/3"]
	var world []string
	for i := 1; i <= 5; i++ {
		if id := site.Items["C-01/"+string(rune('0'+i))]; id != removed {
			world = append(world, site.EPCs[id])
		}
	}
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)) // 10:00 Beijing, a Wednesday
	book := alert.NewBook(st, nil, clk.Now)
	ag := &agents{t: t, clk: clk, world: map[string][]string{"C-01": world}, queue: make(chan [2]string, 8)}
	const grace = 10 * time.Minute
	chk := alert.NewChecker(st, book, ag, reconcile.Policy{RemovalGrace: grace}, alerttest.TestPrefix, nil)
	ag.chk = chk
	sch, err := New(st, chk, book, ag, nil, Config{SiteEvery: time.Minute}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	chk.Availability("agent-a", true, clk.Now().Add(-time.Hour))
	// The door cycle ends 50 s ago; the round after it (agents.serve: 40 s long, ending now)
	// misses the item, but the custodian may still record the checkout.
	chk.Door("C-01", "open", "", clk.Now().Add(-60*time.Second))
	chk.Door("C-01", "closed", "", clk.Now().Add(-50*time.Second))
	ag.busy.Add(1)
	ag.queue <- [2]string{"agent-a", "C-01"}

	parked := ag.run(t, sch)
	sent := func() []string {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		return slices.Clone(ag.sent)
	}
	parked()
	clk.Add(time.Minute) // a site check: the scheduler learns when the grace ends
	parked()
	clk.Add(grace - 51*time.Second - time.Minute) // a second before the grace ends, 50 s before a site check
	parked()
	if got := sent(); len(got) != 0 {
		t.Fatalf("commands before the grace ended: %q", got)
	}
	clk.Add(time.Second)
	// The recheck asks for a confirming round at once. That round may ask for another before this
	// looks (two misses may not yet be enough): CI saw two commands here once, when the test's
	// goroutine looked late, so only the first is this test's.
	want := "agent-a C-01 confirm=true"
	for deadline := time.Now().Add(5 * time.Second); len(sent()) == 0 || sent()[0] != want; {
		if time.Now().After(deadline) {
			t.Fatalf("when the grace ended got commands %q, want first %q", sent(), want)
		}
		time.Sleep(time.Millisecond)
	}
	// The confirming round runs (the agents' goroutine) and confirms the removal.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		as, err := book.Alerts(ctx, alert.Filter{Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 1 && as[0].Kind == reconcile.UnrecordedRemoval && as[0].ConfirmedLoss {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got alerts %+v, want one confirmed unrecorded_removal", as)
		}
	}
}
