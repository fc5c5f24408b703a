package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/wire"
)

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func TestInventoryEndToEndOverPTY(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	a, _ := runAgent(t, testConfig(t, b.URL(), key), r, Options{})

	g, _ := o.wait(0, 20*time.Second, "inventory of C-07", inventoryOf("C-07"))
	inv := g.body.(*wire.Inventory)
	if !*inv.Complete || len(inv.Tags) != 6 || len(inv.Antennas) != 2 || inv.Rounds < 4 {
		t.Fatalf("C-07 inventory: got complete=%v tags=%d antennas=%d rounds=%d, want complete, 6 tags on 2 antennas, ≥ 4 passes",
			*inv.Complete, len(inv.Tags), len(inv.Antennas), inv.Rounds)
	}
	for _, tg := range inv.Tags {
		if tg.Reads < 1 || tg.RSSI > -45 || tg.RSSI < -70 || (tg.Antenna != 1 && tg.Antenna != 2) {
			t.Fatalf("tag evidence: got %+v, want reads ≥ 1, RSSI near the simulated -50…-55 dBm, antenna 1 or 2", tg)
		}
	}
	g, _ = o.wait(0, 20*time.Second, "inventory of C-08", inventoryOf("C-08"))
	inv = g.body.(*wire.Inventory)
	if !*inv.Complete || len(inv.Tags) != 3 {
		t.Fatalf("C-08 inventory (tags read on 60 %% of passes): got complete=%v with %d tags, want complete with all 3", *inv.Complete, len(inv.Tags))
	}
	inOrder(t, o.all())

	// The health endpoint tells the operator the same story.
	h := a.Health()
	if !h.MQTT || !h.Readers["r1"].Connected || len(h.Problems) != 0 {
		t.Fatalf("health: got %+v, want connected reader and broker, no problems", h)
	}
	body := get(t, "http://"+a.healthAddr+"/metrics")
	for _, m := range []string{`custody_agent_reader_connected{reader="r1"} 1`, "custody_agent_outbox_pending ", "custody_agent_mqtt_connected 1", `custody_agent_rounds_total{cabinet="C-07",complete="true"}`} {
		if !strings.Contains(body, m) {
			t.Fatalf("metrics lack %q:\n%s", m, body)
		}
	}
	if rounds := get(t, "http://"+a.healthAddr+"/rounds"); !strings.Contains(rounds, `"miss_chance"`) || !strings.Contains(rounds, `"C-08"`) {
		t.Fatalf("/rounds: got %s, want the last round of each cabinet with its evidence", rounds)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAntennaFaultMakesTheRoundIncomplete(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	r.device().SetAntennaMissing(2, true)
	runAgent(t, testConfig(t, b.URL(), key), r, Options{})
	g, _ := o.wait(0, 20*time.Second, "inventory of C-07", inventoryOf("C-07"))
	inv := g.body.(*wire.Inventory)
	if *inv.Complete {
		t.Fatal("inventory with antenna 2 missing reported complete")
	}
	var bad []int
	for _, h := range inv.Antennas {
		if !*h.OK {
			bad = append(bad, h.Antenna)
		}
	}
	if len(bad) != 1 || bad[0] != 2 {
		t.Fatalf("failed antennas: got %v, want [2]", bad)
	}
	// Antenna 1's tags are reported: a fault on one antenna never reads as "all gone".
	on1 := 0
	for _, tg := range inv.Tags {
		if tg.Antenna == 1 {
			on1++
		}
	}
	if on1 != 3 {
		t.Fatalf("tags on the working antenna: got %d, want 3", on1)
	}
}

func TestDoorEventsAndScansPublishedAtOnceAndDoorCloseTriggersAScan(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	cfg := testConfig(t, b.URL(), key)
	cfg.Schedule.AfterPowerReturn = false
	a, _ := runAgent(t, cfg, r, Options{})
	ctx := context.Background()

	start := time.Now()
	a.DoorChanged(ctx, "C-07", true, "badge-0042")
	g, i := o.wait(0, 5*time.Second, "door open", isKind(wire.KindDoor))
	if d := g.body.(*wire.Door); d.State != "open" || d.Badge != "badge-0042" || d.Cabinet != "C-07" {
		t.Fatalf("door: got %+v, want C-07 open by badge-0042", d)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("door event took %s to reach the broker, want well under a second", took)
	}
	if err := a.Scanned(ctx, "D-1", "desk1", "code128", "CUS-2026-000123-01"); err != nil {
		t.Fatal(err)
	}
	g, _ = o.wait(i+1, 5*time.Second, "scan", isKind(wire.KindScan))
	if s := g.body.(*wire.Scan); s.Data != "CUS-2026-000123-01" || s.Desk != "D-1" {
		t.Fatalf("scan: got %+v", s)
	}
	a.DoorChanged(ctx, "C-07", false, "")
	_, j := o.wait(i+1, 5*time.Second, "door closed", func(g obs) bool { d, ok := g.body.(*wire.Door); return ok && d.State == "closed" })
	g, _ = o.wait(j+1, 20*time.Second, "inventory after the door closed", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); !*inv.Complete || len(inv.Tags) != 6 {
		t.Fatalf("after-close inventory: got complete=%v tags=%d, want complete with 6", *inv.Complete, len(inv.Tags))
	}
	inOrder(t, o.all())
}

// TestBrokerDownThenEverythingDeliveredInOrder: the broker goes away while rounds and desk scans
// continue; when it is back, everything arrives, in seq order, none missing.
func TestBrokerDownThenEverythingDeliveredInOrder(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	addr := b.Addr()
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	cfg := testConfig(t, b.URL(), key)
	a, _ := runAgent(t, cfg, r, Options{})
	o.wait(0, 20*time.Second, "first inventory", inventoryOf("C-08"))

	b.Close()
	ctx := context.Background()
	for i := range 40 {
		if err := a.Scanned(ctx, "D-1", "desk1", "code128", "ITEM-"+string(rune('A'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Trigger("C-07", "now", "test") {
		t.Fatal("trigger refused")
	}
	// Let a round finish offline too.
	deadline := time.Now().Add(20 * time.Second)
	for a.out.Level().Entries < 41 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	pending := a.out.LastSeq()
	if a.out.Level().Entries < 41 {
		t.Fatalf("pending while the broker is down: got %d, want ≥ 41 (40 scans and a round)", a.out.Level().Entries)
	}
	time.Sleep(1500 * time.Millisecond) // down for a while: several reconnect attempts fail

	b2 := startBroker(t, addr, key)
	o2 := newObserver(t, b2, key)
	o2.wait(0, 30*time.Second, "the last observation made while the broker was down", func(g obs) bool { return g.env.Seq == pending })
	// The new broker knows nothing: what it got came from the agent's outbox, in order, from
	// the first seq the old broker never acknowledged.
	got := o2.all()
	first := got[0].env.Seq
	for i, g := range got {
		if g.env.Seq != first+uint64(i) && g.env.Seq < first+uint64(i) {
			continue
		}
		if g.env.Seq != first+uint64(i) {
			t.Fatalf("after the broker came back: seq %d at position %d, want %d (in order, no gap)", g.env.Seq, i, first+uint64(i))
		}
	}
	delivered := map[uint64]bool{}
	for _, g := range append(o.all(), got...) {
		delivered[g.env.Seq] = true
	}
	for s := uint64(1); s <= pending; s++ {
		if !delivered[s] {
			t.Fatalf("seq %d never delivered (last %d)", s, pending)
		}
	}
	waitFor(t, 10*time.Second, "outbox drained", func() bool { return a.out.Level().Entries == 0 })
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestResyncResendsWhatIsHeldAndRunsAFreshInventory(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	a, _ := runAgent(t, testConfig(t, b.URL(), key), r, Options{})
	o.wait(0, 20*time.Second, "first inventories", inventoryOf("C-08"))
	waitFor(t, 5*time.Second, "outbox drained", func() bool { return a.out.Level().Entries == 0 })
	// Acknowledged by the broker is not yet delivered to the observer: wait for every held
	// observation to have arrived, or a late original would pass for the first one resent.
	waitFor(t, 5*time.Second, "the held observations delivered", func() bool { return int64(o.count()) >= a.out.Level().HeldEntries })
	n := o.count()

	id := o.command(wire.KindResync, wire.Resync{From: 1}, time.Now())
	g, k := o.wait(n, 20*time.Second, "cmd_result for the resync", resultOf(id))
	res := g.body.(*wire.CmdResult)
	if !*res.OK || res.Oldest != 1 {
		t.Fatalf("resync result: got ok=%v oldest=%d error=%q, want ok with oldest 1", *res.OK, res.Oldest, res.Error)
	}
	// Everything from seq 1 came again, in order, before the answer.
	again := o.all()[n:k]
	for i, g := range again[:min(len(again), n)] {
		if g.env.Seq != uint64(i+1) {
			t.Fatalf("resent seq at %d: got %d, want %d", i, g.env.Seq, i+1)
		}
	}
	if len(again) < n {
		t.Fatalf("resent: got %d observations, want the %d held", len(again), n)
	}
	o.wait(k, 20*time.Second, "fresh inventory after the resync", inventoryOf("C-07"))
}

// locks stands in for the cabinet controller, whose client is another package not yet wired in
// here; it records what the agent asked.
type locks struct {
	mu    sync.Mutex
	calls []string
}

func (l *locks) Unlock(_ context.Context, cabinet string, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "unlock "+cabinet+" "+d.String())
	return nil
}

func (l *locks) Lock(_ context.Context, cabinet string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cabinet == "C-99" {
		return io.ErrUnexpectedEOF
	}
	l.calls = append(l.calls, "lock "+cabinet)
	return nil
}

func TestCommandsAnsweredOnceAndChecked(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	l := &locks{}
	cfg := testConfig(t, b.URL(), key)
	cfg.Schedule.AfterPowerReturn = false
	runAgent(t, cfg, nil, Options{Locks: l})
	waitFor(t, 10*time.Second, "agent online", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.avail) > 0 && o.avail[len(o.avail)-1] == `{"state":"online"}`
	})

	id := o.command(wire.KindUnlock, wire.Unlock{Cabinet: "C-07", Seconds: 30}, time.Now())
	g, _ := o.wait(0, 10*time.Second, "unlock result", resultOf(id))
	if res := g.body.(*wire.CmdResult); !*res.OK || res.Kind != wire.KindUnlock {
		t.Fatalf("unlock: got %+v, want ok", res)
	}
	// The same command delivered again is not executed again.
	env, _ := wire.Seal(wire.DirCmd, key, agentID, "custodyd-boot", 1, id, time.Now(), wire.KindUnlock, wire.Unlock{Cabinet: "C-07", Seconds: 30})
	p, _ := env.Marshal()
	o.client.Publish(wire.Topics{}.Cmd(agentID), 1, false, p).Wait()

	stale := o.command(wire.KindUnlock, wire.Unlock{Cabinet: "C-07"}, time.Now().Add(-10*time.Minute))
	g, _ = o.wait(0, 10*time.Second, "stale unlock result", resultOf(stale))
	if res := g.body.(*wire.CmdResult); *res.OK || !strings.Contains(res.Error, "old") {
		t.Fatalf("stale unlock: got %+v, want refused as too old", res)
	}
	fail := o.command(wire.KindLock, wire.Lock{Cabinet: "C-99"}, time.Now())
	g, _ = o.wait(0, 10*time.Second, "lock result", resultOf(fail))
	if res := g.body.(*wire.CmdResult); *res.OK || !strings.Contains(res.Error, "lock cabinet C-99") {
		t.Fatalf("failing lock: got %+v, want the controller's error", res)
	}
	unknown := o.command(wire.KindInventory, wire.InventoryCmd{Cabinet: "C-42", Mode: "confirm"}, time.Now())
	g, _ = o.wait(0, 10*time.Second, "inventory result", resultOf(unknown))
	if res := g.body.(*wire.CmdResult); *res.OK || !strings.Contains(res.Error, "C-42 is not served") {
		t.Fatalf("inventory of an unknown cabinet: got %+v", res)
	}
	// A command signed with another key gets no answer and is not executed.
	forged, _ := wire.Seal(wire.DirCmd, testKey(), agentID, "x", 1, "forged-1", time.Now(), wire.KindUnlock, wire.Unlock{Cabinet: "C-08"})
	p, _ = forged.Marshal()
	o.client.Publish(wire.Topics{}.Cmd(agentID), 1, false, p).Wait()
	last := o.command(wire.KindLock, wire.Lock{Cabinet: "C-07"}, time.Now())
	o.wait(0, 10*time.Second, "lock result", resultOf(last))

	l.mu.Lock()
	got := strings.Join(l.calls, ", ")
	l.mu.Unlock()
	if got != "unlock C-07 30s, lock C-07" {
		t.Fatalf("controller calls: got %q, want the unlock once and the lock (no replay, no stale, no forged)", got)
	}
	for _, g := range o.all() {
		if r, ok := g.body.(*wire.CmdResult); ok && r.Cmd == "forged-1" {
			t.Fatal("forged command answered")
		}
	}
}

func TestReaderUnpluggedAndReplugged(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	// 120 tags at line rate: a pass takes about a quarter of a second, a round a second or more.
	sc := scenario()
	for i := range 120 {
		sc.Tags = append(sc.Tags, sim.Tag{EPC: fmt.Sprintf("E28011606000020A0B0E%04X", i), Antenna: 1 + i%2, RSSIDBm: -60})
	}
	r := &simReader{t: t, sc: sc, slow: true}
	r.plug()
	t.Cleanup(func() {
		r.unplug()
		for _, d := range r.old {
			<-d
		}
	})
	a, _ := runAgent(t, testConfig(t, b.URL(), key), r, Options{})
	_, i := o.wait(0, 30*time.Second, "first inventory", inventoryOf("C-08"))
	_, i7 := o.wait(0, 30*time.Second, "first inventory", inventoryOf("C-07"))
	i = max(i, i7)

	// Unplugged in the middle of a round.
	a.Trigger("C-07", "now", "test: reader unplugged mid-round")
	waitFor(t, 5*time.Second, "round running", func() bool { return a.metrics != nil && readerBusy(a.readers["r1"]) })
	time.Sleep(300 * time.Millisecond)
	r.unplug()
	// The round fails: an incomplete report or a fault, never an inventory that says the
	// cabinet is complete (or empty).
	g, j := o.wait(i+1, 20*time.Second, "round failure", func(g obs) bool {
		f, ok := g.body.(*wire.Fault)
		return ok && f.Code == "round_failed" || inventoryOf("C-07")(g)
	})
	if inv, ok := g.body.(*wire.Inventory); ok && *inv.Complete {
		t.Fatalf("inventory with the reader unplugged mid-round: got complete with %d tags, want incomplete", len(inv.Tags))
	}
	waitFor(t, 10*time.Second, "reader reported down", func() bool { return !a.Health().Readers["r1"].Connected })
	r.plug()
	// Back: the agent reopens it and inventories its cabinets.
	g, _ = o.wait(j+1, 30*time.Second, "inventory after the reader came back", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); !*inv.Complete || len(inv.Tags) != 126 {
		t.Fatalf("after replug: got complete=%v tags=%d, want complete with 126", *inv.Complete, len(inv.Tags))
	}
	inOrder(t, o.all())
}

// readerBusy reports whether a pass holds the reader.
func readerBusy(u *readerUnit) bool {
	if u.mu.TryLock() {
		u.mu.Unlock()
		return false
	}
	return true
}

// TestStopEndsEveryGoroutine: after Run returns, nothing the agent started is left running, and
// Close may be called twice.
func TestStopEndsEveryGoroutine(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	cfg := testConfig(t, b.URL(), key)
	withSite(t, &cfg)
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	a, stop := runAgent(t, cfg, r, Options{})
	o.wait(0, 20*time.Second, "inventory", inventoryOf("C-07"))
	stop()
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: got %d after stop, want at most the %d before start\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	if err := a.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestReplacedOutboxIsReported(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	cfg := testConfig(t, b.URL(), key)
	cfg.Schedule.AfterPowerReturn = false
	runAgent(t, cfg, nil, Options{})
	waitFor(t, 10*time.Second, "agent online", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.avail) > 0
	})
	o.command(wire.KindResync, wire.Resync{From: 5000}, time.Now())
	g, _ := o.wait(0, 10*time.Second, "seq_behind fault", func(g obs) bool { f, ok := g.body.(*wire.Fault); return ok && f.Code == "seq_behind" })
	if f := g.body.(*wire.Fault); !strings.Contains(f.Message, "last seq is 0") {
		t.Fatalf("fault: got %q, want it to name the outbox's last seq", f.Message)
	}
}
