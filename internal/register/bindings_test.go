package register_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Each rebinding keeps the binding it ends: ServedAt answers, for any instant, whether an agent
// served the cabinet then — before the first recorded rebinding the first agent did, between
// two rebindings the middle one did, and the current agent is not in the history at all
// (ingest asks only about envelopes the current binding refuses).
func TestServedAtFollowsEveryRebinding(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	t0 := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	f.reg.SetClock(func() time.Time { return now })
	for _, id := range []string{"room-301", "room-303"} {
		if _, _, err := f.reg.EnrollAgent(ctx, f.admin, id); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(agent string, at time.Time) {
		t.Helper()
		now = at
		if err := f.reg.BindPlace(ctx, f.admin, register.PlaceCabinet, "C-01", agent); err != nil {
			t.Fatalf("bind C-01 to %s: %v", agent, err)
		}
	}
	bind("room-301", t0)                  // from no agent: nothing ends
	bind("room-303", t0.Add(time.Hour))   // room-301 served 09:00–10:00
	bind("room-301", t0.Add(2*time.Hour)) // room-303 served 10:00–11:00
	for _, c := range []struct {
		agent string
		at    time.Duration
		want  bool
	}{
		{"room-301", -time.Hour, false}, // before it was bound (bound from 09:00)
		{"room-301", 30 * time.Minute, true},
		{"room-301", time.Hour, false}, // the instant of the rebinding belongs to the new agent
		{"room-303", 90 * time.Minute, true},
		{"room-303", 30 * time.Minute, false},
		{"room-303", 3 * time.Hour, false},
		{"room-309", 30 * time.Minute, false},
	} {
		got, err := f.reg.ServedAt(ctx, register.PlaceCabinet, "C-01", c.agent, t0.Add(c.at))
		if err != nil || got != c.want {
			t.Errorf("ServedAt(%s, 09:00%+v): got %v %v, want %v", c.agent, c.at, got, err, c.want)
		}
	}
	if got, _ := f.reg.ServedAt(ctx, register.PlaceDesk, "C-01", "room-301", t0.Add(30*time.Minute)); got {
		t.Error("a desk of the same code is another place")
	}
}
