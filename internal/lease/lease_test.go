package lease

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Two instances are two stores on one database (a SQLite file, or PostgreSQL under
// CUSTODY_TEST_STORE=postgres), as two custodyd processes would open it.
func twoStores(t *testing.T) (*store.Store, *store.Store) {
	t.Helper()
	path := storetest.Target(t)
	a, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func contender(t *testing.T, st *store.Store, holder string, ttl, renew time.Duration) *Lease {
	t.Helper()
	l, err := New(st, Config{Name: "duties", Holder: holder, TTL: ttl, Renew: renew}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// leads records each term a contender leads and when its duties stopped.
type leads struct {
	mu    sync.Mutex
	terms []Term
	began []time.Time
	ended []time.Time
	up    chan Term
}

func newLeads() *leads { return &leads{up: make(chan Term, 16)} }

func (r *leads) lead(ctx context.Context, t Term) error {
	r.mu.Lock()
	r.terms = append(r.terms, t)
	r.began = append(r.began, time.Now())
	r.mu.Unlock()
	r.up <- t
	<-ctx.Done()
	r.mu.Lock()
	r.ended = append(r.ended, time.Now())
	r.mu.Unlock()
	return nil
}

func (r *leads) wait(t *testing.T, within time.Duration) Term {
	t.Helper()
	select {
	case term := <-r.up:
		return term
	case <-time.After(within):
		t.Fatalf("no term led within %s", within)
		return Term{}
	}
}

func run(t *testing.T, l *Lease, r *leads) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, r.lead) }()
	return func() { cancel(); <-done }
}

func audits(t *testing.T, st *store.Store, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	err := st.AuditRecords(context.Background(), 0, func(r audit.Record) error {
		if r.Action == action {
			var m map[string]any
			if err := json.Unmarshal(r.After, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOnlyOneInstanceLeadsAndTheOtherTakesOverWhenItDies(t *testing.T) {
	sa, sb := twoStores(t)
	ctx := context.Background()
	const ttl, renew = 1200 * time.Millisecond, 300 * time.Millisecond
	a := contender(t, sa, "a", ttl, renew)
	b := contender(t, sb, "b", ttl, renew)

	// a takes the lease and then dies: no renewal, no release (a SIGKILL).
	ta, ok, err := a.Acquire(ctx)
	if err != nil || !ok {
		t.Fatalf("a acquire: ok %v, err %v", ok, err)
	}
	died := time.Now()
	if _, ok, err := b.Acquire(ctx); err != nil || ok {
		t.Fatalf("b took a held lease: ok %v, err %v", ok, err)
	}
	if h, _ := b.Holder(ctx); h != "a" {
		t.Fatalf("holder %q, want a", h)
	}
	rb := newLeads()
	stop := run(t, b, rb)
	defer stop()
	tb := rb.wait(t, ttl+3*renew+2*time.Second)
	if waited := time.Since(died); waited < ttl {
		t.Errorf("b led %s after a's last renewal, before a's lease expired (ttl %s)", waited, ttl)
	}
	if tb.From != "a" || tb.Term != ta.Term+1 {
		t.Errorf("b's term %+v, want one after a's %d, from a", tb, ta.Term)
	}
	// The takeover is in the history, naming both.
	acq := audits(t, sb, "lease.acquire")
	if len(acq) != 2 || acq[1]["holder"] != "b" || acq[1]["from"] != "a" || acq[1]["expired_ms_ago"] == nil {
		t.Errorf("lease.acquire records %v, want a's then b's taking over from a", acq)
	}
	// The dead one, come back, stands by.
	if _, ok, err := a.Acquire(ctx); err != nil || ok {
		t.Fatalf("a took b's lease back: ok %v, err %v", ok, err)
	}
}

func TestACleanStopHandsTheLeaseOnAtOnceWithItsMark(t *testing.T) {
	sa, sb := twoStores(t)
	const ttl, renew = 30 * time.Second, 100 * time.Millisecond
	a := contender(t, sa, "a", ttl, renew)
	a.SetMark(func() int64 { return 42 })
	ra := newLeads()
	stopA := run(t, a, ra)
	ra.wait(t, 5*time.Second)
	// Let a renew once, so the mark is stored while leading.
	time.Sleep(3 * renew)

	b := contender(t, sb, "b", ttl, renew)
	rb := newLeads()
	stopB := run(t, b, rb)
	defer stopB()
	stopA()
	// Well before the 30 s TTL: the release made the lease free.
	tb := rb.wait(t, 5*time.Second)
	if tb.From != "a" || tb.Mark != 42 {
		t.Errorf("b's term %+v, want from a with mark 42", tb)
	}
	if rel := audits(t, sb, "lease.release"); len(rel) != 1 || rel[0]["holder"] != "a" {
		t.Errorf("lease.release records %v, want a's", rel)
	}
}

// A leader that cannot renew (its store is gone) stops its duties before the lease can pass to
// the other instance.
func TestALeaderThatCannotRenewStopsItsDutiesBeforeTheOtherStarts(t *testing.T) {
	sa, sb := twoStores(t)
	const ttl, renew = 1200 * time.Millisecond, 300 * time.Millisecond
	a := contender(t, sa, "a", ttl, renew)
	ra := newLeads()
	stopA := run(t, a, ra)
	defer stopA()
	ra.wait(t, 5*time.Second)

	b := contender(t, sb, "b", ttl, renew)
	rb := newLeads()
	stopB := run(t, b, rb)
	defer stopB()
	// a's store fails: every renewal errs from now on.
	sa.Close()
	rb.wait(t, ttl+2*time.Second)

	ra.mu.Lock()
	defer ra.mu.Unlock()
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if len(ra.ended) != 1 {
		t.Fatalf("a's duties ended %d times, want once before b led", len(ra.ended))
	}
	if !ra.ended[0].Before(rb.began[0]) {
		t.Errorf("a's duties stopped at %s, after b began at %s", ra.ended[0], rb.began[0])
	}
}

func TestConfigIsRefusedWhenTheFenceLeavesNoRenewal(t *testing.T) {
	for _, c := range []Config{
		{Name: "duties", Holder: "a", TTL: 3 * time.Second, Renew: 2 * time.Second},
		{Name: "duties", Holder: "", TTL: 6 * time.Second, Renew: 2 * time.Second},
		{Name: "duties", Holder: "a", TTL: 0, Renew: 0},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Name: "duties", Holder: "a", TTL: DefaultTTL, Renew: DefaultRenew}).Validate(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}
