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

// TestRestoreRebuildsReadHistory: copy C-01/5 lies badly and is read on only two of four passes
// night after night, the others on every pass. After a restart, the checker rebuilds the tags'
// read histories from the stored reports, so when a round misses C-01/5 the chance shown that it
// is there unread is that copy's (several percent), not the typical copy's (well under 1 %).
func TestRestoreRebuildsReadHistory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	// Each case gets a store of its own: the same round reconciled twice in one store is
	// deliberately not a second miss, and would carry the first case's figure over.
	setup := func() (*store.Store, func(int) string, *alerttest.Site) {
		st := alerttest.OpenStore(t)
		site := alerttest.Seed(t, st, 1, 12, func(int) string { return "agent-a" })
		epc := func(i int) string { return site.EPCs[site.Items[fmt.Sprintf("C-01/%d", i)]] }
		yes := true
		var obs []store.Observation
		for night := range 8 {
			end := now.Add(time.Duration(night-8) * 24 * time.Hour)
			inv := wire.Inventory{Cabinet: "C-01", Round: fmt.Sprintf("n%d", night), Started: end.Add(-20 * time.Second).Format(time.RFC3339Nano), Ended: end.Format(time.RFC3339Nano),
				Rounds: 4, Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}}, Complete: &yes}
			for i := 1; i <= 12; i++ {
				passes := 4
				if i == 5 {
					passes = 2
				}
				inv.Tags = append(inv.Tags, wire.TagRead{EPC: epc(i), Antenna: 1, RSSI: -55, Reads: 2 * passes, Passes: passes,
					FirstSeen: end.Add(-19 * time.Second).Format(time.RFC3339Nano), LastSeen: end.Add(-time.Second).Format(time.RFC3339Nano)})
			}
			e, err := wire.Seal(wire.DirObs, []byte("k"), "agent-a", "boot-1", uint64(night+1), fmt.Sprintf("obs-%d", night+1), end, wire.KindInventory, inv)
			if err != nil {
				t.Fatal(err)
			}
			obs = append(obs, store.Observation{Agent: e.Agent, Seq: e.Seq, ID: e.ID, Boot: e.Boot, V: e.V, At: e.At, Kind: e.Kind, Body: e.Body, MAC: e.MAC})
		}
		if _, _, err := st.StoreObservations(ctx, obs); err != nil {
			t.Fatal(err)
		}
		return st, epc, site
	}
	chance := func(restore bool) float64 {
		st, epc, site := setup()
		tonight := reconcile.Report{Agent: "agent-a", Cabinet: "C-01", Round: "tonight", Start: now.Add(-20 * time.Second), End: now, Passes: 4, Complete: true,
			Antennas: []reconcile.Antenna{{Port: 1, OK: true}}}
		for i := 1; i <= 12; i++ {
			if i != 5 {
				tonight.Tags = append(tonight.Tags, reconcile.Tag{EPC: epc(i), Antennas: []int{1}, RSSI: -55, Reads: 8, Passes: 4})
			}
		}
		clk := alerttest.NewClock(now)
		chk := NewChecker(st, NewBook(st, nil, clk.Now), nil, reconcile.Policy{}, alerttest.TestPrefix, nil)
		if restore {
			if err := chk.Restore(ctx, time.Hour); err != nil {
				t.Fatal(err)
			}

		}
		res, err := chk.Report(ctx, tonight)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 || res.Findings[0].ItemID != site.Items["C-01/5"] {
			t.Fatalf("got %+v, want one finding for C-01/5", res.Findings)
		}
		return res.Findings[0].Evidence.PUnread
	}
	without := chance(false)
	with := chance(true)
	// Eight nights at 2 of 4 passes: p ≈ 0.5, so about (1-0.5)^4 ≈ 6 % (a little less with the
	// cabinet's prior pulling towards its well-read copies).
	if with < 0.02 || with > 0.1 {
		t.Errorf("with the rebuilt history: p_unread %g, want about 0.05", with)
	}
	if without >= with/3 {
		t.Errorf("without history p_unread %g, with %g: want the history to show the copy reads badly", without, with)
	}
}
