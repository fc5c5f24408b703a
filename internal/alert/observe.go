package alert

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/wire"
)

// Observer connects ingest to the checker: it is an ingest.Handler (HandleObservations), which
// runs on ingest's commit goroutine and so must not wait, and it hands inventory reports to its
// own goroutine (Run), which reconciles them one at a time in arrival order. Door observations
// update the checker's door cycles at once (they are needed by the next reconciliation).
// Cabinet alarms — faults and each door event's own judgement — go to a queue of their own that
// Run serves first, so an alarm never waits behind a night's worth of inventory reports.
type Observer struct {
	chk    *Checker
	log    *slog.Logger
	queue  chan reconcile.Report
	alarms chan func(context.Context) error

	overflow  atomic.Int64 // when the report queue last overflowed (UnixNano), 0: never
	forged    forgeryBook
	forgeries chan Forgery // refused observations to record (HandleForgery → Run)
}

// NewObserver returns an Observer feeding chk; queue bounds the reports waiting (default 1024,
// enough for a site's whole night arriving together).
func NewObserver(chk *Checker, queue int, log *slog.Logger) *Observer {
	if queue <= 0 {
		queue = 1024
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Observer{chk: chk, log: log, queue: make(chan reconcile.Report, queue), alarms: make(chan func(context.Context) error, queue),
		forgeries: make(chan Forgery, 256)}
}

// HandleObservations takes newly stored envelopes (already verified by ingest). It never blocks:
// if the queue is full the report is dropped with an error log — it is stored, and the next
// round or the nightly deadline covers the cabinet.
func (o *Observer) HandleObservations(ctx context.Context, obs []wire.Envelope) {
	for i := range obs {
		e := &obs[i]
		at, err := time.Parse(time.RFC3339Nano, e.At)
		if err != nil {
			o.log.Warn("observation without a readable time", "agent", e.Agent, "id", e.ID, "err", err)
			continue
		}
		switch e.Kind {
		case wire.KindInventory, wire.KindDoor, wire.KindFault:
		default:
			continue
		}
		body, err := e.DecodeBody(wire.DirObs)
		if err != nil {
			o.log.Warn("observation body", "agent", e.Agent, "id", e.ID, "err", err)
			continue
		}
		agent := e.Agent
		switch b := body.(type) {
		case *wire.Door:
			o.chk.Door(b.Cabinet, b.State, b.Badge, at)
			o.alarm(e, func(ctx context.Context) error { return o.chk.DoorEvent(ctx, agent, b.Cabinet, b.State, b.Badge, at) })
		case *wire.Fault:
			o.alarm(e, func(ctx context.Context) error { return o.chk.Fault(ctx, agent, *b, at) })
		case *wire.Inventory:
			r, err := FromWire(e.Agent, *b)
			if err != nil {
				o.log.Warn("inventory report", "agent", e.Agent, "id", e.ID, "err", err)
				continue
			}
			select {
			case o.queue <- r:
			default:
				o.overflow.Store(time.Now().UnixNano())
				o.log.Error("reconciliation queue full: report not reconciled now", "agent", e.Agent, "cabinet", r.Cabinet, "round", r.Round)
			}
		}
	}
}

func (o *Observer) alarm(e *wire.Envelope, job func(context.Context) error) {
	select {
	case o.alarms <- job:
	default:
		o.log.Error("alarm queue full: observation not judged now", "agent", e.Agent, "id", e.ID, "kind", e.Kind)
	}
}

// Then runs job on the observer's goroutine after every alarm handed to it before (the alarm
// queue is served in order): the daemon records there how far the alarms have been judged, so a
// successor replays none of them (issue 18). It never blocks; false means the queue was full and
// job was not queued.
func (o *Observer) Then(job func(context.Context) error) bool {
	select {
	case o.alarms <- job:
		return true
	default:
		return false
	}
}

// HandleAvailability records an agent's availability message ({"state":"online"|"offline"}).
func (o *Observer) HandleAvailability(agent, state string, at time.Time) {
	o.chk.Availability(agent, state == "online", at)
}

// Run reconciles queued reports until ctx ends.
func (o *Observer) Run(ctx context.Context) error {
	o.log.Info("reconciliation started")
	defer o.log.Info("reconciliation stopped")
	for {
		// Alarms first: a tamper must not wait for a night's reconciliations.
		select {
		case job := <-o.alarms:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				o.log.Error("cabinet alarm", "err", err)
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case job := <-o.alarms:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				o.log.Error("cabinet alarm", "err", err)
			}
		case f := <-o.forgeries:
			o.recordForgery(ctx, f)
		case r := <-o.queue:
			if _, err := o.chk.Report(ctx, r); err != nil && ctx.Err() == nil {
				o.log.Error("reconcile", "cabinet", r.Cabinet, "round", r.Round, "err", err)
			}
		}
	}
}

// CommandSender adapts the signed command sender (mqttconn.Conn.Send) to Commander.
type CommandSender func(ctx context.Context, agent, kind string, body any) (string, error)

// CommandInventory asks an agent for an inventory of a cabinet: "confirm" runs its most thorough
// rounds after a suspected miss; "now" is the nightly round.
func (f CommandSender) CommandInventory(ctx context.Context, agent, cabinet string, confirm bool) error {
	mode, reason := "now", "nightly"
	if confirm {
		mode, reason = "confirm", "suspected_miss"
	}
	if _, err := f(ctx, agent, wire.KindInventory, wire.InventoryCmd{Cabinet: cabinet, Mode: mode, Reason: reason}); err != nil {
		return fmt.Errorf("inventory command to %s for %s: %w", agent, cabinet, err)
	}
	return nil
}

// OverflowGrace is how long after a reconciliation queue overflow Health keeps saying so.
const OverflowGrace = 5 * time.Minute

// Health is nil, or says that reports were dropped from the full reconciliation queue within
// OverflowGrace: cabinets then wait for their next round to be reconciled.
func (o *Observer) Health() error {
	at := o.overflow.Load()
	if at == 0 {
		return nil
	}
	t := time.Unix(0, at)
	if time.Since(t) > OverflowGrace {
		return nil
	}
	return fmt.Errorf("the reconciliation queue overflowed at %s: inventory reports were not reconciled", t.UTC().Format(time.RFC3339))
}
