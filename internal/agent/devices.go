package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/cabinet"
	"github.com/custodyhq/custody/internal/scanner"
	"github.com/custodyhq/custody/internal/serialport"
	"github.com/custodyhq/custody/internal/wire"
)

// controllerBus owns one cabinet controller bus: it keeps the port open (internal/serialport),
// runs the cabinet client on it, turns its events into observations and door state, and executes
// lock commands while the bus is up.
type controllerBus struct {
	a    *Agent
	cfg  config.Controller
	log  *slog.Logger
	open func(config.Controller) (io.ReadWriteCloser, error)

	mu     sync.Mutex
	client *cabinet.Client // nil while the bus is down
	addrOf map[string]uint8

	// lock is each cabinet's bolt as the controller last said (its status at the start of a
	// session, then its events in order); only the session goroutine touches it. A door that
	// opens while it says locked was forced: no unlock was commanded (an UNLOCK makes an
	// unlocked event first) and none was badged at the cabinet (unlocked, arg 1).
	lock      map[string]lockSeen
	silentBus bool // the bus was lost: controller_silent was raised for its cabinets

	// silence: a controller that stopped answering its heartbeat is reported after
	// controllerGrace, so a blip of a loaded bus is no alarm; reported says which were. Both
	// under b.mu: the timers' functions run on their own goroutines.
	silence  map[string]*time.Timer
	reported map[string]bool
}

// controllerGrace is how long a controller may stay silent before controller_silent is raised.
const controllerGrace = 5 * time.Second

type lockSeen struct {
	state cabinet.LockState
	at    time.Time
	how   string
	known bool
}

func newControllerBus(a *Agent, c config.Controller, open func(config.Controller) (io.ReadWriteCloser, error)) *controllerBus {
	b := &controllerBus{a: a, cfg: c, log: a.log.With("controller", c.ID), open: open, addrOf: map[string]uint8{}, lock: map[string]lockSeen{},
		silence: map[string]*time.Timer{}, reported: map[string]bool{}}
	for _, s := range c.Cabinets {
		b.addrOf[s.Cabinet] = uint8(s.Address)
	}
	return b
}

func openControllerPort(c config.Controller) (io.ReadWriteCloser, error) {
	return serialport.Open(serialport.Config{Role: "cabinet controller bus " + c.ID, Path: c.Port, Baud: c.Baud})
}

// run keeps the bus up until ctx ends, reopening the port with backoff.
func (b *controllerBus) run(ctx context.Context) {
	b.log.Info("controller bus started", "port", b.cfg.Port, "cabinets", len(b.addrOf))
	defer b.log.Info("controller bus stopped")
	delay := reopenMin
	for ctx.Err() == nil {
		port, err := b.open(b.cfg)
		if err != nil {
			b.log.Warn("controller bus not available; retrying", "error", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(delay*2, reopenMax)
			continue
		}
		delay = reopenMin
		err = b.session(ctx, port)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("controller bus lost; reopening", "error", err)
		for cab := range b.addrOf {
			b.a.doorUnknown(cab)
			// Every controller on the bus is out of reach: each cabinet's alarm, by its code.
			b.a.Fault(ctx, cab, "controller_silent", wire.ClipText(fmt.Sprintf("controller bus %s of cabinet %s lost: %v", b.cfg.ID, cab, err)), false)
			b.lock[cab] = lockSeen{}
		}
		b.silentBus = true
		b.a.Fault(ctx, b.cfg.ID, "controller_bus_lost", fmt.Sprint(err), false)
		sleep(ctx, reopenMin)
	}
}

// session runs the cabinet client on an open port until the port fails or ctx ends.
func (b *controllerBus) session(ctx context.Context, port io.ReadWriteCloser) error {
	cabs := map[uint8]string{}
	for cab, addr := range b.addrOf {
		cabs[addr] = cab
	}
	cl, err := cabinet.NewClient(port, cabinet.Config{Cabinets: cabs, Logger: b.log})
	if err != nil {
		port.Close()
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cl.Run(sctx) }()
	b.mu.Lock()
	b.client = cl
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.client = nil
		b.mu.Unlock()
	}()
	// The door state as it is now, before any event: rounds need it to be complete.
	for cab, addr := range b.addrOf {
		st, err := cl.Status(sctx, addr)
		if err != nil {
			b.log.Warn("controller status unknown", "cabinet", cab, "error", err)
			continue
		}
		b.a.setDoor(cab, st.Door == cabinet.DoorOpen)
		b.lock[cab] = lockSeen{state: st.Lock, at: time.Now(), how: "status", known: true}
		if b.silentBus {
			b.a.Fault(ctx, cab, "controller_silent", "", true)
		}
	}
	b.silentBus = false
	for ev := range cl.Events() {
		b.event(sctx, ev)
	}
	b.mu.Lock()
	for cab, t := range b.silence {
		t.Stop()
		delete(b.silence, cab)
	}
	b.mu.Unlock()
	cl.Close()
	return <-done
}

// event turns one controller event into observations and triggers.
func (b *controllerBus) event(ctx context.Context, ev cabinet.Event) {
	a := b.a
	cab := ev.Cabinet
	switch ev.Kind {
	case cabinet.EventDoorOpened:
		a.DoorChanged(ctx, cab, true, "")
		if l := b.lock[cab]; l.known && l.state == cabinet.Locked {
			a.Fault(ctx, cab, "forced_door", wire.ClipText(fmt.Sprintf("the door of cabinet %s opened at %s while the controller reported the lock locked (%s at %s); no unlock was commanded or badged",
				cab, ev.At.UTC().Format(time.RFC3339), l.how, l.at.UTC().Format(time.RFC3339))), false)
		}
	case cabinet.EventDoorClosed:
		a.DoorChanged(ctx, cab, false, "")
	case cabinet.EventTamper, cabinet.EventTamperCleared:
		a.Fault(ctx, cab, "tamper", "tamper switch of cabinet "+cab, ev.Kind == cabinet.EventTamperCleared)
		if ev.Kind == cabinet.EventTamper {
			// Someone is at the cabinet's enclosure or cables: what does it hold now?
			a.Trigger(cab, modeNow, "tamper at cabinet "+cab)
		}
	case cabinet.EventLockFault:
		b.lock[cab] = lockSeen{state: cabinet.LockFault, at: ev.At, how: "lock_fault", known: true}
		a.Fault(ctx, cab, "lock_fault", "the lock of cabinet "+cab+" did not reach the commanded position", false)
	case cabinet.EventPowerLost:
		a.Fault(ctx, cab, "power_lost", "cabinet "+cab+" runs on its battery", false)
	case cabinet.EventPowerRestored:
		a.Fault(ctx, cab, "power_lost", "", true)
		// Power came back: what happened meanwhile is unknown (Terso rescans on power return).
		a.Trigger(cab, modeNow, "power returned at cabinet "+cab)
	case cabinet.EventBoot:
		a.Trigger(cab, modeNow, "controller of cabinet "+cab+" restarted")
	case cabinet.EventOverflow:
		a.Fault(ctx, cab, "events_lost", "the controller of cabinet "+cab+" lost events (queue overflow)", false)
		a.Trigger(cab, modeNow, "controller event overflow")
	case cabinet.EventLinkLost:
		a.doorUnknown(cab)
		b.lock[cab] = lockSeen{}
		since := ev.At.UTC().Format(time.RFC3339)
		b.mu.Lock()
		if t := b.silence[cab]; t != nil {
			t.Stop()
		}
		var t *time.Timer
		t = time.AfterFunc(controllerGrace, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.silence[cab] != t {
				return // it answered again (or the session ended) meanwhile
			}
			delete(b.silence, cab)
			b.reported[cab] = true
			a.Fault(ctx, cab, "controller_silent", "the controller of cabinet "+cab+" does not answer its heartbeat since "+since, false)
		})
		b.silence[cab] = t
		b.mu.Unlock()
	case cabinet.EventLinkRestored:
		// The door and the bolt may have moved while it was silent: read them again, or every
		// round would stay incomplete until the next door event.
		b.mu.Lock()
		cl := b.client
		b.mu.Unlock()
		if cl != nil {
			if st, err := cl.Status(ctx, ev.Addr); err == nil {
				a.setDoor(cab, st.Door == cabinet.DoorOpen)
				b.lock[cab] = lockSeen{state: st.Lock, at: time.Now(), how: "status", known: true}
			} else {
				b.log.Warn("controller status unknown after it answered again", "cabinet", cab, "error", err)
			}
		}
		b.mu.Lock()
		if t := b.silence[cab]; t != nil {
			t.Stop()
			delete(b.silence, cab)
		}
		was := b.reported[cab]
		delete(b.reported, cab)
		b.mu.Unlock()
		if was {
			a.Fault(ctx, cab, "controller_silent", "", true)
		}
		a.Trigger(cab, modeNow, "controller of cabinet "+cab+" answers again")
	case cabinet.EventLocked, cabinet.EventUnlocked:
		how := map[bool]string{true: "unlocked", false: "locked"}[ev.Kind == cabinet.EventUnlocked]
		switch {
		case ev.Kind == cabinet.EventUnlocked && ev.Arg == 1:
			how += " at the cabinet (key or badge)"
		case ev.Kind == cabinet.EventUnlocked:
			how += " by command"
		case ev.Arg == 1:
			how += " automatically"
		}
		state := cabinet.Locked
		if ev.Kind == cabinet.EventUnlocked {
			state = cabinet.Unlocked
		}
		b.lock[cab] = lockSeen{state: state, at: ev.At, how: how, known: true}
		b.log.Info("lock", "cabinet", cab, "event", ev.Kind.String(), "how", how)
	}
}

// errBusDown: a lock command while the bus is not up.
var errBusDown = errors.New("the cabinet controller bus is not connected")

// controllers routes lock commands to the bus that serves the cabinet (LockControl).
type controllers map[string]*controllerBus

func (cs controllers) bus(cabinet string) (*controllerBus, *cabinet.Client, uint8, error) {
	b := cs[cabinet]
	if b == nil {
		return nil, nil, 0, fmt.Errorf("no controller is configured for cabinet %s", cabinet)
	}
	b.mu.Lock()
	cl := b.client
	b.mu.Unlock()
	if cl == nil {
		return nil, nil, 0, fmt.Errorf("controller %s: %w", b.cfg.ID, errBusDown)
	}
	return b, cl, b.addrOf[cabinet], nil
}

func (cs controllers) Unlock(ctx context.Context, cab string, d time.Duration) error {
	_, cl, addr, err := cs.bus(cab)
	if err != nil {
		return err
	}
	_, err = cl.Unlock(ctx, addr, d)
	return err
}

func (cs controllers) Lock(ctx context.Context, cab string) error {
	_, cl, addr, err := cs.bus(cab)
	if err != nil {
		return err
	}
	_, err = cl.Lock(ctx, addr)
	return err
}

// deskScanner reads one desk scanner and publishes each scan at once.
type deskScanner struct {
	a    *Agent
	cfg  config.Scanner
	log  *slog.Logger
	open func(config.Scanner) (scanSource, error)
}

// scanSource is an open scanner: serial lines or an evdev keyboard.
type scanSource interface {
	Next() (scanner.Scan, error)
	Close() error
}

type lineSource struct {
	*scanner.LineReader
	io.Closer
}

func openScanner(s config.Scanner) (scanSource, error) {
	if s.Device != "" {
		return scanner.OpenEvdev(s.Device)
	}
	p, err := serialport.Open(serialport.Config{Role: "scanner " + s.ID, Path: s.Port, Baud: s.Baud})
	if err != nil {
		return nil, err
	}
	return lineSource{scanner.NewLineReader(p), p}, nil
}

func (d *deskScanner) run(ctx context.Context) {
	d.log.Info("scanner started", "desk", d.cfg.Desk)
	defer d.log.Info("scanner stopped")
	delay := reopenMin
	for ctx.Err() == nil {
		src, err := d.open(d.cfg)
		if err != nil {
			d.log.Warn("scanner not available; retrying", "error", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(delay*2, reopenMax)
			continue
		}
		delay = reopenMin
		stop := context.AfterFunc(ctx, func() { src.Close() }) // unblocks Next
		err = d.read(ctx, src)
		stop()
		src.Close()
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("scanner lost; reopening", "error", err)
		sleep(ctx, reopenMin)
	}
}

func (d *deskScanner) read(ctx context.Context, src scanSource) error {
	for {
		s, err := src.Next()
		var se *scanner.ScanError
		switch {
		case (errors.Is(err, scanner.ErrGS1) || errors.Is(err, scanner.ErrCheckDigit)) && s.Data != "":
			// A GS1 code with a bad element: the scan itself is still what was read, and custodyd
			// decides what it means.
			d.log.Warn("scan with a bad GS1 element", "error", err)
		case errors.As(err, &se):
			// Said to the desk, not only logged: the custodian at the desk sees "scan again"
			// (issue 21 point 7) where the scan had vanished without a word.
			d.log.Warn("unreadable scan", "error", err)
			d.a.Scanned(ctx, d.cfg.Desk, d.cfg.ID, wire.SymbologyUnreadable, scanner.Cause(err))
			continue
		case err != nil:
			return err
		}
		sym := s.Symbology
		if sym == "" {
			sym = "unknown" // the scanner sends no AIM identifier
		}
		data := s.Data
		if len(data) > wire.MaxScan {
			d.log.Warn("scan too long for the contract; not published", "bytes", len(data))
			continue
		}
		d.a.Scanned(ctx, d.cfg.Desk, d.cfg.ID, sym, data)
	}
}
