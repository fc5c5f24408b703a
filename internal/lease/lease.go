// Package lease is a leader lease held in the store (table leases), so that of several custodyd
// instances sharing one database exactly one runs the duties that must run once: reconciliation
// and alerting, escalation, the nightly schedule, head signing (issue 18).
//
// Contract: a holder renews every Renew; a row not renewed for TTL may be taken by another. Run
// calls lead while the lease is held and cancels lead's context before the lease can pass to
// another instance: when a renewal finds the row taken, and at the latest TTL − Renew after the
// last renewal that succeeded (the fence; see Run). lead's return ends the term; Run then tries
// again. Every acquisition and release is an audit record (lease.acquire, lease.release) naming
// the holder and whom it took over from, so an inspector sees each takeover. The SQL is plain
// (UPDATE … WHERE holder = ? OR expires_ms < ?, INSERT … ON CONFLICT DO NOTHING), the same on
// SQLite and PostgreSQL; times are Unix milliseconds of the instances' clocks, which must be kept
// within a second of each other (NTP), as any two servers of one office are.
package lease

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// Config is one lease and one contender for it.
type Config struct {
	Name   string        // the lease ("duties")
	Holder string        // this instance's id, as audit records and logs name it
	TTL    time.Duration // how long a renewal holds the lease
	Renew  time.Duration // how often the holder renews (and a contender tries); well under TTL
}

// Defaults: a dead leader's duties resume on another instance within TTL + Renew (8 s).
const (
	DefaultTTL   = 6 * time.Second
	DefaultRenew = 2 * time.Second
)

// Validate names the setting that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Name == "" || c.Holder == "":
		return errors.New("a lease needs a name and a holder")
	case c.Renew <= 0 || c.TTL <= 0:
		return fmt.Errorf("lease %s: ttl and renew must be positive", c.Name)
	case c.TTL < 2*c.Renew:
		// The fence stops the duties at TTL − Renew after the last renewal: at least one renewal
		// must fit before it.
		return fmt.Errorf("lease %s: ttl %s must be at least twice renew %s", c.Name, c.TTL, c.Renew)
	}
	return nil
}

// Term is one holding of the lease.
type Term struct {
	Term int64  // counts every acquisition of this lease, across instances
	From string // the previous holder ("" for none, this instance's own id after a lapse)
	Mark int64  // the mark the previous holding left (SetMark): where its duties had got to
}

// Lease is one contender.
type Lease struct {
	st  *store.Store
	cfg Config
	log *slog.Logger
	now func() time.Time

	mark func() int64 // read at each renewal while leading (SetMark)
}

// New returns a contender; it touches the store only in Run.
func New(st *store.Store, cfg Config, log *slog.Logger) (*Lease, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Lease{st: st, cfg: cfg, log: log.With("lease", cfg.Name, "holder", cfg.Holder), now: time.Now}, nil
}

// SetMark makes each renewal store mark()'s value: the leader's progress, which a successor's
// Term carries. Call before Run.
func (l *Lease) SetMark(mark func() int64) { l.mark = mark }

// errHeld rolls back an acquisition attempt that found the lease held by another.
var errHeld = errors.New("held by another")

// Acquire takes the lease if it is free, expired or already this holder's, and returns the new
// term; ok is false when another holds it.
func (l *Lease) Acquire(ctx context.Context) (t Term, ok bool, err error) {
	now := l.now()
	nowMS := now.UnixMilli()
	// The row exists before anyone contends, so the guarded UPDATE below is the one place a
	// holder changes.
	err = l.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO leases(name, holder, expires_ms, acquired_at, term, mark) VALUES (?, '', 0, ?, 0, 0) ON CONFLICT(name) DO NOTHING`,
			l.cfg.Name, store.FormatTime(now))
		return err
	})
	if err != nil {
		return Term{}, false, fmt.Errorf("lease %s: create: %w", l.cfg.Name, err)
	}
	err = l.st.Change(ctx, func(tx *store.Tx) error {
		var holder string
		var expires int64
		if err := tx.QueryRowContext(ctx, `SELECT holder, expires_ms, term, mark FROM leases WHERE name = ?`, l.cfg.Name).Scan(&holder, &expires, &t.Term, &t.Mark); err != nil {
			return err
		}
		if holder != l.cfg.Holder && expires >= nowMS {
			return errHeld
		}
		res, err := tx.ExecContext(ctx, `UPDATE leases SET holder = ?, expires_ms = ?, acquired_at = ?, term = term + 1 WHERE name = ? AND (holder = ? OR expires_ms < ?)`,
			l.cfg.Holder, nowMS+l.cfg.TTL.Milliseconds(), store.FormatTime(now), l.cfg.Name, l.cfg.Holder, nowMS)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errHeld
		}
		t.Term++
		t.From = holder
		after := map[string]any{"holder": l.cfg.Holder, "term": t.Term, "from": holder, "mark": t.Mark}
		if holder != "" && holder != l.cfg.Holder {
			after["expired_ms_ago"] = nowMS - expires
		}
		return tx.Audit(store.Entry{Actor: "system", Action: "lease.acquire", Subject: "lease:" + l.cfg.Name, After: after})
	})
	if errors.Is(err, errHeld) {
		return Term{}, false, nil
	}
	if err != nil {
		return Term{}, false, fmt.Errorf("lease %s: acquire: %w", l.cfg.Name, err)
	}
	return t, true, nil
}

// renew extends this holder's lease (with the current mark); ok is false if another holds it.
func (l *Lease) renew(ctx context.Context, at time.Time) (ok bool, err error) {
	var mark int64
	if l.mark != nil {
		mark = l.mark()
	}
	err = l.st.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE leases SET expires_ms = ?, mark = CASE WHEN ? > mark THEN ? ELSE mark END WHERE name = ? AND holder = ?`,
			at.UnixMilli()+l.cfg.TTL.Milliseconds(), mark, mark, l.cfg.Name, l.cfg.Holder)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: renew: %w", l.cfg.Name, err)
	}
	return ok, nil
}

// Mark records the holder's progress now, between renewals (a later renewal keeps it or moves it
// on; it never goes back). A lease no longer held is left alone.
func (l *Lease) Mark(ctx context.Context, mark int64) error {
	err := l.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE leases SET mark = ? WHERE name = ? AND holder = ? AND mark < ?`, mark, l.cfg.Name, l.cfg.Holder, mark)
		return err
	})
	if err != nil {
		return fmt.Errorf("lease %s: mark: %w", l.cfg.Name, err)
	}
	return nil
}

// release gives the lease up at once (a clean stop), so another instance need not wait for the
// TTL; the mark is kept for the successor.
func (l *Lease) release(ctx context.Context) error {
	var mark int64
	if l.mark != nil {
		mark = l.mark()
	}
	return l.st.Change(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE leases SET expires_ms = 0, mark = CASE WHEN ? > mark THEN ? ELSE mark END WHERE name = ? AND holder = ?`,
			mark, mark, l.cfg.Name, l.cfg.Holder)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errHeld
		}
		return tx.Audit(store.Entry{Actor: "system", Action: "lease.release", Subject: "lease:" + l.cfg.Name, After: map[string]any{"holder": l.cfg.Holder, "mark": mark}})
	})
}

// Holder is who holds the lease now ("" if nobody, or it has expired).
func (l *Lease) Holder(ctx context.Context) (string, error) {
	var holder string
	var expires int64
	err := l.st.DB().QueryRowContext(ctx, `SELECT holder, expires_ms FROM leases WHERE name = ?`, l.cfg.Name).Scan(&holder, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires < l.now().UnixMilli()) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease %s: read holder: %w", l.cfg.Name, store.Classify(err))
	}
	return holder, nil
}

// Run contends for the lease until ctx ends, calling lead for each term it holds. A term ends
// when lead returns, when a renewal finds another holder, or — the fence — when TTL − Renew has
// passed since the last renewal that succeeded (the store unreachable or slow): lead's context is
// then cancelled and Run waits for lead to return before it renews or contends again. Another
// instance can take the lease only TTL after that renewal, so the duties have stopped Renew
// before it may start its own (less the clocks' skew). Fencing each duty's write transaction on
// the lease instead would thread the lease through every owner's writes (alert, schedule,
// register); the duties' writes are anyway idempotent at the store (one open alert per kind and
// subject, one nightly run per fire time), which covers a stop that overruns the margin.
//
// A lead error is logged and ends the term, and the lease is released for another instance to
// try; Run returns only when ctx ends, after releasing a held lease so that another instance
// takes over at once.
func (l *Lease) Run(ctx context.Context, lead func(ctx context.Context, t Term) error) error {
	l.log.Info("lease contender started", "ttl", l.cfg.TTL, "renew", l.cfg.Renew)
	defer l.log.Info("lease contender stopped")
	tick := time.NewTicker(l.cfg.Renew)
	defer tick.Stop()
	for {
		t, ok, err := l.Acquire(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Error("lease acquire", "err", err)
		}
		if ok {
			l.hold(ctx, t, tick, lead)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// hold runs one term: lead under a context that the fence cancels.
func (l *Lease) hold(ctx context.Context, t Term, tick *time.Ticker, lead func(ctx context.Context, t Term) error) {
	start := l.now()
	l.log.Warn("lease acquired: this instance leads", "term", t.Term, "from", t.From, "mark", t.Mark)
	leadCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lead(leadCtx, t) }() // owned here: hold waits for it below
	fence := time.NewTimer(l.cfg.TTL - l.cfg.Renew)
	defer fence.Stop()
	why := ""
	for why == "" {
		select {
		case <-ctx.Done():
			why = "stopping"
		case err := <-done:
			done <- err
			why = "the duties ended"
			if err != nil {
				l.log.Error("lease duties failed", "term", t.Term, "err", err)
			}
		case <-fence.C:
			why = "not renewed in time"
		case <-tick.C:
			at := l.now()
			ok, err := l.renew(ctx, at)
			switch {
			case err != nil:
				l.log.Error("lease renew", "term", t.Term, "err", err)
			case !ok:
				why = "taken by another instance"
			default:
				// The fence counts from the renewal's start: its expiry was computed from then.
				fence.Reset(l.cfg.TTL - l.cfg.Renew - l.now().Sub(at))
			}
		}
	}
	cancel()
	<-done
	// A clean stop, or duties that could not run here, hand the lease on at once.
	if why == "stopping" || why == "the duties ended" {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Renew)
		if err := l.release(rctx); err != nil && !errors.Is(err, errHeld) {
			l.log.Error("lease release", "term", t.Term, "err", err)
		}
		rcancel()
	}
	l.log.Warn("lease lost: this instance's duties stopped", "term", t.Term, "why", why, "held", l.now().Sub(start).Round(time.Millisecond))
}
