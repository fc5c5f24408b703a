package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// TestRestartDuringRemovalGrace: an item left cabinet C-01 during a door cycle and custodyd
// stopped while the removal grace was still running. A checker started afresh learns of the door
// cycle and the round only from the stored observations: with Restore it keeps the grace and
// then raises the unrecorded removal; without it, nothing would be raised until the next round.
func TestRestartDuringRemovalGrace(t *testing.T) {
	ctx := context.Background()
	st := alerttest.OpenStore(t)
	site := alerttest.Seed(t, st, 2, 12, func(int) string { return "agent-a" })
	closed := time.Date(2026, 11, 26, 10, 0, 30, 0, time.UTC)

	// What ingest stored before the stop, as the agent sent it.
	yes := true
	inv := func(cab string, skip int, end time.Time) wire.Inventory {
		v := wire.Inventory{Cabinet: cab, Round: "r-" + cab, Started: end.Add(-20 * time.Second).Format(time.RFC3339Nano), Ended: end.Format(time.RFC3339Nano),
			Rounds: 4, Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}}, Complete: &yes}
		for i := 1; i <= 12; i++ {
			if i != skip {
				v.Tags = append(v.Tags, wire.TagRead{EPC: site.EPCs[site.Items[fmt.Sprintf("%s/%d", cab, i)]], Antenna: 1, RSSI: -55, Reads: 4,
					FirstSeen: end.Add(-19 * time.Second).Format(time.RFC3339Nano), LastSeen: end.Add(-time.Second).Format(time.RFC3339Nano)})
			}
		}
		return v
	}
	var obs []store.Observation
	for i, b := range []struct {
		at   time.Time
		kind string
		body any
	}{
		{closed.Add(-time.Minute), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open"}},
		{closed, wire.KindDoor, wire.Door{Cabinet: "C-01", State: "closed"}},
		{closed.Add(25 * time.Second), wire.KindInventory, inv("C-01", 4, closed.Add(25*time.Second))},
		{closed.Add(50 * time.Second), wire.KindInventory, inv("C-02", 0, closed.Add(50*time.Second))},
	} {
		e, err := wire.Seal(wire.DirObs, []byte("k"), "agent-a", "boot-1", uint64(i+1), fmt.Sprintf("obs-%d", i+1), b.at, b.kind, b.body)
		if err != nil {
			t.Fatal(err)
		}
		obs = append(obs, store.Observation{Agent: e.Agent, Seq: e.Seq, ID: e.ID, Boot: e.Boot, V: e.V, At: e.At, Kind: e.Kind, Body: e.Body, MAC: e.MAC})
	}
	if _, _, err := st.StoreObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}

	removals := func(book *Book) int {
		fs, err := book.Findings(ctx, Filter{Active: true}, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range fs {
			if f.Kind != reconcile.UnrecordedRemoval || f.ItemID != site.Items["C-01/4"] {
				t.Errorf("unexpected finding %s %s", f.Kind, f.Subject)
				continue
			}
			n++
		}
		return n
	}
	start := func(restore bool) (*Checker, *Book, *alerttest.Clock) {
		clk := alerttest.NewClock(closed.Add(5 * time.Minute)) // custodyd is back, 5 min into the 15 min grace
		book := NewBook(st, nil, clk.Now)
		chk := NewChecker(st, book, nil, reconcile.Policy{RemovalGrace: 15 * time.Minute}, alerttest.TestPrefix, nil)
		if restore {
			if err := chk.Restore(ctx, time.Hour*24*365*10); err != nil {
				t.Fatal(err)
			}
		}
		return chk, book, clk
	}

	// Without Restore: nothing to recheck, the removal stays unseen.
	chk, book, clk := start(false)
	clk.Add(11 * time.Minute)
	if err := chk.Recheck(ctx); err != nil {
		t.Fatal(err)
	}
	if n := removals(book); n != 0 {
		t.Fatalf("without Restore: %d removals (the test's premise is wrong)", n)
	}

	chk, book, clk = start(true)
	if err := chk.Recheck(ctx); err != nil {
		t.Fatal(err)
	}
	if n := removals(book); n != 0 {
		t.Errorf("within the grace: %d removals raised, want none yet", n)
	}
	if got, want := chk.NextRecheck(), closed.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("next recheck %v, want the end of the grace %v", got, want)
	}
	clk.Add(11 * time.Minute)
	if err := chk.Recheck(ctx); err != nil {
		t.Fatal(err)
	}
	if n := removals(book); n != 1 {
		t.Errorf("after the grace: %d unrecorded removals of C-01/4, want 1", n)
	}
}
