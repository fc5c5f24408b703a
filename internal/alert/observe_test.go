package alert

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/wire"
)

// TestObserverFromIngest feeds real signed envelopes, as ingest hands them over after commit, and
// checks that a door cycle and an inventory round become an unrecorded-removal finding, that the
// agent's per-antenna entries are merged, and that the confirming command is a valid signed
// inventory command.
func TestObserverFromIngest(t *testing.T) {
	st := alerttest.OpenStore(t)
	site := alerttest.Seed(t, st, 1, 12, func(int) string { return "agent-a" })
	clk := alerttest.NewClock(time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC))
	book := NewBook(st, nil, clk.Now)
	var mu sync.Mutex
	var cmds []wire.Envelope
	send := CommandSender(func(ctx context.Context, agent, kind string, body any) (string, error) {
		env, err := wire.Seal(wire.DirCmd, []byte("k"), agent, "boot", 1, "cmd-1", clk.Now(), kind, body)
		if err != nil {
			return "", err
		}
		if _, err := env.DecodeBody(wire.DirCmd); err != nil {
			return "", err
		}
		mu.Lock()
		cmds = append(cmds, env)
		mu.Unlock()
		return env.ID, nil
	})
	chk := NewChecker(st, book, send, reconcile.Policy{}, alerttest.TestPrefix, nil)
	obs := NewObserver(chk, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { obs.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	seq := uint64(0)
	seal := func(at time.Time, kind string, body any) wire.Envelope {
		seq++
		e, err := wire.Seal(wire.DirObs, []byte("k"), "agent-a", "boot-1", seq, fmt.Sprintf("obs-%d", seq), at, kind, body)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	yes := true
	inv := wire.Inventory{Cabinet: "C-01", Round: "r-1", Started: "2026-11-26T02:30:00.000Z", Ended: "2026-11-26T02:30:40.000Z", Rounds: 4,
		Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}, {Antenna: 2, OK: &yes}}, Complete: &yes}
	for i := 1; i <= 12; i++ {
		if i == 4 {
			continue // taken at 01:00 without a checkout
		}
		e := site.EPCs[site.Items[fmt.Sprintf("C-01/%d", i)]]
		inv.Tags = append(inv.Tags,
			wire.TagRead{EPC: e, Antenna: 1, RSSI: -58, Reads: 2, FirstSeen: "2026-11-26T02:30:01.000Z", LastSeen: "2026-11-26T02:30:30.000Z"},
			wire.TagRead{EPC: e, Antenna: 2, RSSI: -51, Reads: 2, FirstSeen: "2026-11-26T02:30:02.000Z", LastSeen: "2026-11-26T02:30:39.000Z"})
	}
	obs.HandleAvailability("agent-a", "online", clk.Now().Add(-time.Hour))
	obs.HandleObservations(ctx, []wire.Envelope{
		seal(time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open", Badge: "0042"}),
		seal(time.Date(2026, 11, 26, 1, 0, 30, 0, time.UTC), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "closed"}),
		seal(time.Date(2026, 11, 26, 2, 30, 40, 0, time.UTC), wire.KindInventory, inv),
	})
	var fs []Finding
	for deadline := time.Now().Add(5 * time.Second); len(fs) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no finding within 5 s of the report")
		}
		fs, _ = book.Findings(ctx, Filter{Active: true}, 0)
	}
	f := fs[0]
	if len(fs) != 1 || f.Kind != reconcile.UnrecordedRemoval || f.Confidence != reconcile.Suspected || f.Evidence.Door == nil || f.Evidence.Door.By != "0042" {
		t.Fatalf("got %+v, want one suspected unrecorded removal with the door cycle and badge as evidence", fs)
	}
	if r := f.Evidence.Rounds[0]; r.Expected != 12 || r.Read != 11 || r.ReadRate != 1 {
		t.Errorf("got round stats %+v, want 11 of 12 read, each on every pass (per-antenna entries merged)", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cmds) != 1 || string(cmds[0].Body) != `{"cabinet":"C-01","mode":"confirm","reason":"suspected_miss"}` || cmds[0].Agent != "agent-a" {
		t.Errorf("got commands %+v, want one confirming inventory of C-01 for agent-a", cmds)
	}
}

// TestEscalatorRunsOnChange: with the escalator's loop running as in custodyd (its tick far away),
// a change wakes it and the alert is on MQTT at once; cancelling ends the loop.
func TestEscalatorRunsOnChange(t *testing.T) {
	st := alerttest.OpenStore(t)
	alerttest.Seed(t, st, 1, 2, func(int) string { return "agent-a" })
	addr := alerttest.StartBroker(t)
	sub := alerttest.DialMQTT(t, addr, "integration").Subscribe(t, "custody/alerts")
	book := NewBook(st, nil, nil)
	esc := NewEscalator(book, alerttest.DialMQTT(t, addr, "custodyd"), "", nil, Policy{Tick: time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); esc.Run(ctx) }()
	f := reconcile.Finding{Kind: reconcile.AgentOffline, Subject: "agent/agent-a", Confidence: reconcile.Confirmed, Agent: "agent-a", At: time.Now()}
	if err := book.Apply(ctx, Evaluation{Findings: []reconcile.Finding{f}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub:
	case <-time.After(2 * time.Second):
		t.Error("got no alert on MQTT within 2 s of the change, want it at once")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the escalator did not stop when its context ended")
	}
}
