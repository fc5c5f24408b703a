// Package agent is custody-agent's behaviour: it turns reader passes into inventory rounds,
// rounds into inventory and presence observations, door and desk events into observations at
// once, keeps every observation in the durable outbox before publishing it over MQTT, and
// executes custodyd's commands.
//
// Contract: every observation goes through the outbox (internal/outbox) first; it is published
// QoS 1 in sequence order and marked acknowledged only when the broker acknowledged it; after any
// reconnect everything unacknowledged is published again, in order. Nothing is dropped silently:
// an observation the outbox refuses is logged at error level, counted, and reported by an urgent
// fault observation. Inventory rounds are triggered by custodyd (inventory now/confirm), by the
// local schedule, after a door closes (several scans spaced in time), when the agent starts
// (power return) and when a reader comes back. Presence and cross-read resolution follow each
// round. The agent knows nothing of the register.
//
// Operations: Handler serves /metrics (Prometheus, custody_agent_*), /healthz (JSON, 503 with a
// list of problems) and /rounds (each cabinet's last round with all its evidence: reasons for
// incompleteness, read rate, miss chance, cross-reads) on agent.health_listen.
//
// The outbox file is the agent's sequence: never delete it. A replaced file restarts at seq 1 and
// custodyd drops what follows as replays; the agent notices when custodyd asks for a seq it
// never gave and raises a seq_behind fault.
//
// Lifecycle: Open (opens the outbox, no network) → Run (until ctx ends; owns and ends every
// goroutine it starts) → Close (idempotent). The event methods (DoorChanged, Scanned, Trigger,
// Fault) may be called from device goroutines at any time after Open.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/agent/presence"
	"github.com/custodyhq/custody/internal/agent/round"
	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/outbox"
	"github.com/custodyhq/custody/internal/wire"
)

// LockControl opens and closes cabinet locks; the cabinet controller client satisfies it. nil in
// Options means no controller: unlock and lock commands are answered with an error.
type LockControl interface {
	Unlock(ctx context.Context, cabinet string, d time.Duration) error
	Lock(ctx context.Context, cabinet string) error
}

// Options are what Open needs besides the configuration.
type Options struct {
	Logger   *slog.Logger
	Now      func() time.Time                    // nil means time.Now
	Locks    LockControl                         // nil: no cabinet controller
	Registry *prometheus.Registry                // nil: a fresh registry (see Agent.Registry)
	OpenPort func(r config.Reader) (Port, error) // nil: open the serial port the config names
}

// Agent is one running custody-agent.
type Agent struct {
	cfg   config.Config
	log   *slog.Logger
	now   func() time.Time
	locks LockControl
	boot  string

	out     *outbox.Outbox
	metrics *metrics
	reg     *prometheus.Registry
	pub     *publisher

	readers  map[string]*readerUnit
	buses    []*controllerBus
	scanners []*deskScanner
	cabinets map[string]*cabinetRunner
	tracker  *presence.Tracker
	resolver *presence.Resolver

	doorMu sync.Mutex
	doors  map[string]*doorState

	faultMu   sync.Mutex
	highWater bool   // a high-water fault is raised and not yet cleared
	refusing  string // code of the outbox-refusal fault raised, "" when none

	roundMu         sync.Mutex
	roundN          uint64
	lastRuns        map[string]roundReport // cabinet → last round, for /rounds
	lastResyncRound time.Time

	healthAddr string

	runOnce   sync.Once
	ran       chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type doorState struct {
	closed  bool
	unknown bool // watched by a controller that has not (yet) answered
	changes uint64
}

// Open prepares an agent: it checks the configuration, opens the outbox and builds the reader
// units and cabinet runners. It does no network or serial I/O.
func Open(ctx context.Context, cfg config.Config, opt Options) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if len(cfg.Agent.KeyBytes) == 0 {
		return nil, errors.New("configuration: agent.key: the agent key was not loaded (key or key_file)")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	reg := opt.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(buildinfo.Collector())
	}
	a := &Agent{
		cfg: cfg, log: log.With("agent", cfg.Agent.ID), now: now, locks: opt.Locks, boot: newID(),
		reg: reg, readers: map[string]*readerUnit{}, cabinets: map[string]*cabinetRunner{},
		tracker: presence.NewTracker(cfg.Rounds.LeftAfterRounds), resolver: &presence.Resolver{},
		doors: map[string]*doorState{}, lastRuns: map[string]roundReport{}, ran: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Agent.Outbox), 0o750); err != nil {
		return nil, fmt.Errorf("agent.outbox %s: %w", cfg.Agent.Outbox, err)
	}
	out, err := outbox.Open(ctx, cfg.Agent.Outbox, outbox.Options{
		MaxBytes:  cfg.Agent.OutboxMaxMB << 20,
		HighWater: cfg.Agent.OutboxHighWater,
	})
	if err != nil {
		return nil, err
	}
	a.out = out
	m, err := newMetrics(reg, a)
	if err != nil {
		out.Close()
		return nil, err
	}
	a.metrics = m
	open := opt.OpenPort
	if open == nil {
		open = openSerial
	}
	for _, rc := range cfg.Readers {
		u := newReaderUnit(rc, open, a.log, a.metrics, now)
		a.readers[rc.ID] = u
		byCabinet := map[string][]config.Antenna{}
		var order []string
		for _, an := range rc.Antennas {
			if _, ok := byCabinet[an.Cabinet]; !ok {
				order = append(order, an.Cabinet)
			}
			byCabinet[an.Cabinet] = append(byCabinet[an.Cabinet], an)
		}
		for _, cab := range order {
			a.cabinets[cab] = newCabinetRunner(a, cab, u, rc, byCabinet[cab])
		}
	}
	ctl := controllers{}
	for _, c := range cfg.Controllers {
		b := newControllerBus(a, c, openControllerPort)
		a.buses = append(a.buses, b)
		for cab := range b.addrOf {
			ctl[cab] = b
			// Watched, but unknown until the controller answers: no round is complete before.
			a.doors[cab] = &doorState{unknown: true}
		}
	}
	if a.locks == nil && len(ctl) > 0 {
		a.locks = ctl
	}
	for _, s := range cfg.Scanners {
		a.scanners = append(a.scanners, &deskScanner{a: a, cfg: s, log: a.log.With("scanner", s.ID), open: openScanner})
	}
	a.pub = newPublisher(a)
	return a, nil
}

// Registry is where the agent's Prometheus metrics live.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// Boot is this process's boot id, as it appears in envelopes.
func (a *Agent) Boot() string { return a.boot }

// Outbox is the agent's outbox (for the health endpoint and tests).
func (a *Agent) Outbox() *outbox.Outbox { return a.out }

// Run starts MQTT, the readers, the rounds and the schedules and returns when ctx ends, after
// every goroutine it started has ended. It may be called once.
func (a *Agent) Run(ctx context.Context) error {
	started := false
	a.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("agent: Run called twice")
	}
	defer close(a.ran)
	a.log.Info("agent started", "boot", a.boot, "readers", len(a.readers), "cabinets", len(a.cabinets), "outbox", a.out.Path(), "pending", a.out.Level().Entries)
	defer a.log.Info("agent stopped")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(name string, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	if addr := a.cfg.Agent.HealthListen; addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("agent.health_listen %s: %w", addr, err)
		}
		a.healthAddr = l.Addr().String()
		spawn("health", func(ctx context.Context) {
			if err := a.serveHealth(ctx, l); err != nil {
				a.log.Error("health endpoint failed", "error", err)
			}
		})
	}
	if err := a.pub.connect(); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	spawn("publisher", a.pub.run)
	spawn("commands", a.pub.commands)
	for _, u := range a.readers {
		spawn("reader "+u.cfg.ID, func(ctx context.Context) { u.supervise(ctx, a.readerBack, a.readerDown) })
	}
	for _, c := range a.cabinets {
		spawn("cabinet "+c.cabinet, c.run)
	}
	for _, b := range a.buses {
		spawn("controller "+b.cfg.ID, b.run)
	}
	for _, s := range a.scanners {
		spawn("scanner "+s.cfg.ID, s.run)
	}
	spawn("schedule", a.schedule)
	spawn("housekeeping", a.housekeeping)
	if a.cfg.Schedule.AfterPowerReturn {
		// The agent starting is the power returning (or the agent being restarted after a
		// crash): what happened in between is unknown, so every cabinet is inventoried.
		for _, c := range a.cabinets {
			c.trigger(modeNow, "agent started (power return)")
		}
	}
	<-ctx.Done()
	cancel()
	wg.Wait()
	a.pub.disconnect()
	return nil
}

// Close closes the outbox and the readers. Idempotent; call it after Run returned (or instead
// of Run).
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		for _, u := range a.readers {
			errs = append(errs, u.close())
		}
		errs = append(errs, a.out.Close())
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// emit keeps one observation in the outbox and wakes the publisher. A refusal is logged, counted
// and reported by an urgent fault; the error is returned for callers that can do more.
func (a *Agent) emit(ctx context.Context, kind string, body any) error {
	return a.emitRecord(ctx, kind, body, false)
}

func (a *Agent) emitRecord(ctx context.Context, kind string, body any, urgent bool) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s observation: %w", kind, err)
	}
	// What was seen is kept even while the agent stops: a reader or controller lost because its
	// device went away at shutdown is still a fact for custodyd, published at the next start.
	// The outbox is closed only after Run's goroutines have ended, so the write cannot race it.
	_, err = a.out.Append(context.WithoutCancel(ctx), outbox.Record{ID: newID(), Boot: a.boot, Kind: kind, At: a.now(), Body: raw, Urgent: urgent})
	if err != nil {
		reason := "error"
		switch {
		case errors.Is(err, outbox.ErrFull):
			reason = "outbox_full"
		case errors.Is(err, outbox.ErrDiskFull):
			reason = "disk_full"
		}
		a.metrics.refused.WithLabelValues(reason).Inc()
		a.log.Error("observation NOT kept", "kind", kind, "reason", reason, "error", err)
		if !urgent && reason != "error" {
			a.raiseRefusal(ctx, reason, err)
		}
		return err
	}
	a.pub.kick()
	a.checkHighWater(ctx)
	return nil
}

// raiseRefusal reports, once per episode, that the outbox refuses observations.
func (a *Agent) raiseRefusal(ctx context.Context, code string, cause error) {
	a.faultMu.Lock()
	if a.refusing == code {
		a.faultMu.Unlock()
		return
	}
	a.refusing = code
	a.faultMu.Unlock()
	msg := "outbox refuses observations: " + cause.Error()
	msg = wire.ClipText(msg)
	a.emitRecord(ctx, wire.KindFault, faultBody("outbox", code, msg, false), true)
}

// checkHighWater raises a fault when the outbox passes its high-water mark and clears it when the
// backlog has drained below half of it.
func (a *Agent) checkHighWater(ctx context.Context) {
	lvl := a.out.Level()
	frac := lvl.Fraction()
	a.faultMu.Lock()
	var raise, clear bool
	switch {
	case !a.highWater && frac >= a.out.HighWater():
		a.highWater, raise = true, true
	case a.highWater && frac < a.out.HighWater()/2:
		a.highWater, clear = false, true
	}
	refusing := a.refusing
	if refusing != "" && frac < a.out.HighWater() {
		a.refusing = ""
	}
	a.faultMu.Unlock()
	if raise {
		msg := fmt.Sprintf("outbox %.0f%% full: %d observations (%d bytes) not yet acknowledged by the broker; new observations will be refused at 100%%",
			frac*100, lvl.Entries, lvl.Bytes)
		a.log.Warn("outbox above high-water mark", "fraction", frac, "pending", lvl.Entries, "bytes", lvl.Bytes)
		a.emitRecord(ctx, wire.KindFault, faultBody("outbox", "outbox_high_water", msg, false), true)
	}
	if clear {
		a.log.Info("outbox back below high-water mark", "fraction", frac, "pending", lvl.Entries)
		a.emitRecord(ctx, wire.KindFault, faultBody("outbox", "outbox_high_water", "", true), true)
	}
	if refusing != "" && frac < a.out.HighWater() {
		a.emitRecord(ctx, wire.KindFault, faultBody("outbox", refusing, "", true), true)
	}
}

// DoorChanged records a door opening or closing from the cabinet controller, publishes it at once
// and, when it closed, schedules the after-close scans.
func (a *Agent) DoorChanged(ctx context.Context, cabinet string, open bool, badge string) {
	a.doorMu.Lock()
	d := a.doors[cabinet]
	if d == nil {
		d = &doorState{closed: !open}
		a.doors[cabinet] = d
	} else if d.closed == open || d.unknown {
		d.closed = !open
		d.unknown = false
		d.changes++
	}
	a.doorMu.Unlock()
	state := "closed"
	if open {
		state = "open"
	}
	a.log.Info("door", "cabinet", cabinet, "state", state, "badge", badge)
	a.emit(ctx, wire.KindDoor, wire.Door{Cabinet: cabinet, State: state, Badge: badge})
	if c := a.cabinets[cabinet]; c != nil && !open {
		c.afterClose()
	}
}

// DoorState reports a cabinet's door for the round logic (round.Door).
func (a *Agent) DoorState(cabinet string) (round.DoorState, uint64) {
	a.doorMu.Lock()
	defer a.doorMu.Unlock()
	d := a.doors[cabinet]
	if d == nil {
		return round.DoorUnmonitored, 0
	}
	switch {
	case d.unknown:
		return round.DoorUnknown, d.changes
	case d.closed:
		return round.DoorClosed, d.changes
	}
	return round.DoorOpen, d.changes
}

// setDoor records a door state read from the controller (not an event: nothing is published).
func (a *Agent) setDoor(cabinet string, open bool) {
	a.doorMu.Lock()
	defer a.doorMu.Unlock()
	d := a.doors[cabinet]
	if d == nil {
		d = &doorState{}
		a.doors[cabinet] = d
	}
	if d.unknown || d.closed == open {
		d.changes++
	}
	d.closed, d.unknown = !open, false
}

// doorUnknown marks a watched door as unknown (its controller stopped answering).
func (a *Agent) doorUnknown(cabinet string) {
	a.doorMu.Lock()
	defer a.doorMu.Unlock()
	if d := a.doors[cabinet]; d != nil {
		d.unknown = true
		d.changes++
	}
}

// Scanned publishes one desk scan at once.
func (a *Agent) Scanned(ctx context.Context, desk, scanner, symbology, data string) error {
	return a.emit(ctx, wire.KindScan, wire.Scan{Desk: desk, Scanner: scanner, Symbology: symbology, Data: data})
}

// Fault publishes a device fault (tamper, controller lost) raised or cleared.
func (a *Agent) Fault(ctx context.Context, device, code, message string, cleared bool) error {
	message = wire.ClipText(message)
	return a.emit(ctx, wire.KindFault, faultBody(device, code, message, cleared))
}

// Trigger asks for an inventory of a cabinet ("now" or "confirm"); false when the agent does not
// serve that cabinet.
func (a *Agent) Trigger(cabinet, mode, reason string) bool {
	c := a.cabinets[cabinet]
	if c == nil {
		return false
	}
	c.trigger(mode, reason)
	return true
}

// readerBack is called when a reader comes back after being lost: its cabinets are inventoried,
// since anything may have happened while it was away.
func (a *Agent) readerBack(u *readerUnit) {
	for _, c := range a.cabinets {
		if c.reader == u {
			c.trigger(modeNow, "reader "+u.cfg.ID+" reconnected")
		}
	}
}

// readerDown raises reader_fault for each cabinet of a reader that stayed away past its grace
// (why says so), and clears it when the reader is back (why is empty).
func (a *Agent) readerDown(u *readerUnit, why string) {
	for _, c := range a.cabinets {
		if c.reader == u {
			a.Fault(context.Background(), c.cabinet, "reader_fault", wire.ClipText(why), why == "")
		}
	}
}

// schedule runs the periodic full inventory.
func (a *Agent) schedule(ctx context.Context) {
	every := a.cfg.Schedule.Every.Duration
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, c := range a.cabinets {
				c.trigger(modeNow, "schedule")
			}
		}
	}
}

// Retention is how long acknowledged observations stay in the outbox for a resync (mqtt.md §8).
const Retention = 7 * 24 * time.Hour

// housekeeping prunes the outbox and refreshes the gauges.
func (a *Agent) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.out.Prune(ctx, a.now().Add(-Retention)); err != nil {
				a.log.Warn("outbox prune failed", "error", err)
			} else if n > 0 {
				a.log.Debug("outbox pruned", "entries", n)
			}
			a.checkHighWater(ctx)
		}
	}
}

func faultBody(device, code, message string, cleared bool) wire.Fault {
	message = wire.ClipText(message)
	return wire.Fault{Device: device, Code: code, Message: message, Cleared: &cleared}
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
