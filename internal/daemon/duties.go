package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/lease"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/schedule"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// feedPage bounds the observations read from the store at once.
const feedPage = 500

// replayLimit bounds how many observations a new leader replays after its predecessor's mark;
// beyond it (a mark from long ago) it starts at the newest and relies on Restore, which
// reconciles every cabinet's latest report again.
const replayLimit = 10000

// duties are the work that must run once however many instances share the store: the alert
// checker fed with every stored observation (reconciliation, cabinet alarms), the escalator, the
// nightly schedule with its morning summary, head signing, and the audit chain's watch. They run only while this instance
// holds the lease (lead); each term builds them afresh from the store, as a start does.
//
// The checker reads observations from the store by position (store.ObservationsAfter), not from
// this instance's ingest: with several instances on one shared subscription, each stores part of
// the stream. Its own ingest wakes the feed at once (the handler below), so one instance reacts as
// fast as before; what another instance stored is found within [cluster] poll.
type duties struct {
	st      *store.Store
	reg     *register.Register
	book    *alert.Book
	cmd     alert.CommandSender
	policy  reconcile.Policy
	prefix  string
	esc     *alert.Escalator
	sched   func(chk *alert.Checker) (*schedule.Scheduler, error)
	heads   *headSigner // nil unless [audit] head_key
	audit   *auditWatch
	poll    time.Duration
	restore time.Duration // the checker's restore window
	log     *slog.Logger

	lease   *lease.Lease
	wake    chan struct{} // this instance's ingest stored observations
	mark    atomic.Int64  // the last observation position judged by the checker (the lease's mark)
	current atomic.Pointer[term]
	standby *alert.Checker // records lock results while another instance leads
	// refusals raises the alert for an observation this instance refused while another leads:
	// the refusal reached this instance only, and the alert book is shared, so it is raised here
	// (into the book, where the leader's escalator publishes and notifies it). It is given
	// nothing else to judge.
	refusals *alert.Observer
	// lost tells this instance's ingest that its predecessor died holding envelopes it had not
	// acknowledged (ingest.LostInTransit): they are gone from the broker with its session.
	lost func(why string)

	mu    sync.Mutex
	avail map[string]availability // the last availability heard per agent, handed to each new term
}

type availability struct {
	state string
	at    time.Time
}

// term is one holding of the lease: the checker and observer built for it.
type term struct {
	chk *alert.Checker
	obs *alert.Observer
}

var _ ingest.AvailabilityHandler = (*duties)(nil)

// HandleObservations wakes the feed: the batch is already in the store, and the feed reads it
// from there in position order with what other instances stored.
func (d *duties) HandleObservations(context.Context, []wire.Envelope) {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// HandleAvailability keeps the agent's availability (every instance hears it: the topic is not
// shared) for the next term, and tells the current one.
func (d *duties) HandleAvailability(agent, state string, at time.Time) {
	d.mu.Lock()
	d.avail[agent] = availability{state, at}
	d.mu.Unlock()
	if t := d.current.Load(); t != nil {
		t.obs.HandleAvailability(agent, state, at)
	}
}

// HandleForgery passes a refused observation to the leading checker or, while another instance
// leads, raises it from here: an alert for a forgery only this instance saw must not wait for,
// or depend on, the leader.
func (d *duties) HandleForgery(f alert.Forgery) {
	if t := d.current.Load(); t != nil {
		t.obs.HandleForgery(f)
		return
	}
	d.refusals.HandleForgery(f)
}

// Health is the reconciliation queue's (nil while standing by).
func (d *duties) Health() error {
	if t := d.current.Load(); t != nil {
		return t.obs.Health()
	}
	return nil
}

// checker is the leading checker, or the standby one that records lock results into the book.
func (d *duties) checker() *alert.Checker {
	if t := d.current.Load(); t != nil {
		return t.chk
	}
	return d.standby
}

// lead runs the duties for one term of the lease, until ctx ends or one of them fails.
func (d *duties) lead(ctx context.Context, lt lease.Term) error {
	latest, err := d.st.ObservationMark(ctx)
	if err != nil {
		return err
	}
	// Resume after the predecessor's mark (what it had handed to its checker, 0 if nothing yet);
	// the first term ever, or a mark from long ago, starts at the newest, as custodyd's start
	// always did.
	from := lt.Mark
	switch {
	case lt.From == "":
		from = latest
	case latest-from > replayLimit:
		d.log.Warn("leader: the predecessor's mark is too far behind to replay; starting at the newest observation", "mark", from, "newest", latest)
		from = latest
	}
	chk := alert.NewChecker(d.st, d.book, d.cmd, d.policy, d.prefix, d.log)
	if err := chk.RestoreUpTo(ctx, d.restore, from); err != nil {
		return err
	}
	chk.SetLosses(api.OpenLosses(d.reg))
	chk.SetTerms(api.TermsDue(d.reg))
	chk.SetTransits(api.TransitsDue(d.reg))
	chk.SetChecks(api.ChecksDue(d.reg))
	obs := alert.NewObserver(chk, 0, d.log)
	d.mu.Lock()
	for agent, a := range d.avail {
		obs.HandleAvailability(agent, a.state, a.at)
	}
	d.mu.Unlock()
	sch, err := d.sched(chk)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	d.mark.Store(from)
	d.current.Store(&term{chk: chk, obs: obs})
	defer d.current.Store(nil)
	d.log.Info("leader: duties restored from the store", "term", lt.Term, "from", lt.From, "resume_after", from, "replay", latest-from)
	if lt.From != "" && d.lost != nil {
		d.lost("the duties were taken over from " + lt.From)
	}

	runners := []runner{
		{"reconcile", obs.Run}, {"observation feed", func(ctx context.Context) error { return d.feed(ctx, obs, from) }},
		{"escalation", d.esc.Run}, {"alerts of other instances", d.otherAlerts}, {"inventory schedule", sch.Run}, {"audit watch", d.audit.run},
	}
	if d.heads != nil {
		runners = append(runners, runner{"head signing", d.heads.run})
	}
	return runAll(ctx, runners)
}

// otherAlerts wakes the escalator when an unresolved alert changed in the store, every poll:
// alerts are also raised and changed by the instances that stand by — a forgery only one of them
// refused, a lockout at its sign-in page, a loss reported or an alert acknowledged through its API
// or console — and the book's listeners hear only this instance's commits, so the escalator would
// publish and notify those only at its next tick (10 s).
func (d *duties) otherAlerts(ctx context.Context) error {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		v, err := d.book.UnresolvedVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("look for alerts changed by other instances", "err", err)
			}
			continue
		}
		if last != "" && v != last {
			d.esc.Kick()
		}
		last = v
	}
}

// feed hands the checker every observation stored after position from, in position order, at
// each wake by this instance's ingest and every poll for the others'.
func (d *duties) feed(ctx context.Context, obs *alert.Observer, from int64) error {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	cur := from
	for {
		page, err := d.st.ObservationsAfter(ctx, cur, feedPage)
		if err != nil && ctx.Err() == nil {
			d.log.Error("observation feed", "after", cur, "err", err)
		}
		if len(page) > 0 {
			envs := make([]wire.Envelope, len(page))
			for i, o := range page {
				envs[i] = wire.Envelope{V: o.V, Agent: o.Agent, Boot: o.Boot, Seq: o.Seq, ID: o.ID, At: o.At, Kind: o.Kind, Body: json.RawMessage(o.Body), MAC: o.MAC}
			}
			obs.HandleObservations(ctx, envs)
			cur = page[len(page)-1].Pos
			d.judged(obs, page, cur)
			if len(page) == feedPage {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
		}
	}
}

// judged moves the mark to pos once the page's alarms (door events and faults, which notify
// people) are judged: at once for a page without any, else on the observer's goroutine after
// them, writing it to the lease there and then, so that a successor taking over after a kill
// judges none of them a second time. Reports need no such care: reconciling one twice changes
// nothing, and Restore rechecks each cabinet's latest.
func (d *duties) judged(obs *alert.Observer, page []store.Observation, pos int64) {
	alarms := slices.ContainsFunc(page, func(o store.Observation) bool { return o.Kind == wire.KindDoor || o.Kind == wire.KindFault })
	if !alarms || d.lease == nil {
		d.mark.Store(pos)
		return
	}
	queued := obs.Then(func(ctx context.Context) error {
		d.mark.Store(pos)
		if err := d.lease.Mark(ctx, pos); err != nil {
			d.log.Warn("leader: record the judged mark", "pos", pos, "err", err)
		}
		return nil
	})
	if !queued {
		d.mark.Store(pos)
	}
}

// runAll runs each runner under one context until ctx ends or the first fails, which stops the
// others; it returns when all have.
func runAll(ctx context.Context, runners []runner) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	failed := make(chan error, len(runners))
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", r.name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	stop()
	wg.Wait()
	return err
}
