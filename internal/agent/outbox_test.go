package agent

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/outbox"
	"github.com/custodyhq/custody/internal/wire"
)

// TestOutboxFillingUpIsReportedAndNothingIsLost: with the broker away, desk scans fill a 1 MiB
// outbox. Half-way a high-water fault is kept; at the limit new scans are refused with a clear
// error, counted, and an outbox_full fault is kept. When the broker is back everything kept
// arrives in order, and the faults clear.
func TestOutboxFillingUpIsReportedAndNothingIsLost(t *testing.T) {
	key := testKey()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens here until the broker starts
	cfg := testConfig(t, "tcp://"+addr, key)
	cfg.Agent.OutboxMaxMB = 1
	cfg.Agent.OutboxHighWater = 0.5
	cfg.Schedule.AfterPowerReturn = false
	cfg.Readers = nil
	a, _ := runAgent(t, cfg, nil, Options{})
	ctx := context.Background()
	data := strings.Repeat("X", 4000)
	kept, warnedAt := 0, 0
	var refusal error
	for i := range 1000 {
		err := a.Scanned(ctx, "D-1", "desk1", "]C0", data)
		if err != nil {
			refusal = err
			break
		}
		kept++
		a.faultMu.Lock()
		warned := a.highWater
		a.faultMu.Unlock()
		if warnedAt == 0 && warned {
			warnedAt = i + 1
		}
	}
	if !errors.Is(refusal, outbox.ErrFull) || !strings.Contains(refusal.Error(), "nothing was dropped") {
		t.Fatalf("scan into a full outbox: got %v, want ErrFull saying nothing was dropped", refusal)
	}
	if warnedAt == 0 || warnedAt > kept*6/10 {
		t.Fatalf("high-water fault after %d of %d scans, want it about half-way", warnedAt, kept)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if m := `custody_agent_observations_refused_total{reason="outbox_full"} 1`; !strings.Contains(rec.Body.String(), m) {
		t.Fatalf("metrics lack %s", m)
	}
	if h := a.Health(); !strings.Contains(strings.Join(h.Problems, ";"), "outbox") {
		t.Fatalf("health problems: got %v, want the outbox named", h.Problems)
	}

	b := startBroker(t, addr, key)
	o := newObserver(t, b, key)
	last := a.out.LastSeq()
	o.wait(0, 30*time.Second, "every kept observation", func(g obs) bool { return g.env.Seq == last })
	got := o.all()
	inOrder(t, got)
	var scans int
	var codes []string
	for _, g := range got {
		switch v := g.body.(type) {
		case *wire.Scan:
			scans++
		case *wire.Fault:
			codes = append(codes, v.Code)
		}
	}
	if scans != kept {
		t.Fatalf("scans delivered: got %d, want the %d kept", scans, kept)
	}
	if s := strings.Join(codes, ","); !strings.Contains(s, "outbox_high_water") || !strings.Contains(s, "outbox_full") {
		t.Fatalf("faults delivered: got %s, want outbox_high_water and outbox_full", s)
	}
	// Drained: the next observation finds the outbox healthy and the faults are cleared.
	waitFor(t, 10*time.Second, "drained", func() bool { return a.out.Level().Entries == 0 })
	a.Scanned(ctx, "D-1", "desk1", "]C0", "after")
	o.wait(0, 10*time.Second, "high-water cleared", func(g obs) bool {
		f, ok := g.body.(*wire.Fault)
		return ok && f.Code == "outbox_high_water" && *f.Cleared
	})
}
