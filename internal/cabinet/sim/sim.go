// Package sim simulates cabinet controllers speaking the protocol of firmware-protocol/cabinet.md on
// one bus. It is the device the tests, the demo and cabinet-sim talk to: a Controller holds the
// state of one cabinet (door, bolt, tamper switch, mains, event queue, duplicate-suppression
// memory) and is scripted through its methods (OpenDoor, SetTamper, SetSilent …); a Bus serves
// several controllers on one io.ReadWriteCloser, as an RS-485 line would.
//
// Contract: a Controller behaves as cabinet.md requires of firmware, including the rules a
// careless implementation gets wrong (a retried UNLOCK does not restart the timer; an event leaves
// the queue only after a POLL acknowledged it). Time comes from Options.Now, so tests can drive
// the unlock timer without sleeping.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/cabinet"
)

// Options configure a Controller. The zero value is a working controller.
type Options struct {
	Now      func() time.Time // clock; time.Now when nil
	Boot     uint16           // boot counter before power-up; the controller starts at Boot+1
	QueueLen int              // event queue length; 16 (the minimum of §5) when 0
	FWMajor  uint8
	FWMinor  uint8
}

type queued struct {
	num  uint8
	kind cabinet.EventKind
	arg  uint8
	at   time.Time
}

// Controller is one simulated cabinet controller. Its methods are safe for concurrent use.
type Controller struct {
	addr uint8
	opts Options

	mu          sync.Mutex
	boot        uint16
	bootAt      time.Time
	negotiated  bool
	door        cabinet.Door
	lock        cabinet.LockState
	tamper      bool
	mainsLost   bool
	silent      bool
	jammed      bool
	unlockUntil time.Time
	queue       []queued
	nextNum     uint8
	lost        int
	overflowed  bool

	haveLast  bool
	lastSeq   uint8
	lastType  cabinet.Type
	lastReply []byte
	executed  int
}

// New returns a controller at addr that has just powered up: door closed, locked, a boot event
// queued, no version negotiated.
func New(addr uint8, opts Options) *Controller {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 16
	}
	c := &Controller{addr: addr, opts: opts, boot: opts.Boot}
	c.powerUp()
	return c
}

// Addr is the controller's bus address.
func (c *Controller) Addr() uint8 { return c.addr }

func (c *Controller) powerUp() {
	c.boot++
	c.bootAt = c.opts.Now()
	c.negotiated = false
	c.haveLast = false
	c.queue = nil
	c.nextNum = 0
	c.lost = 0
	c.overflowed = false
	c.unlockUntil = time.Time{}
	if c.lock != cabinet.LockFault {
		c.lock = cabinet.Locked
	}
	c.push(cabinet.EventBoot, uint8(c.boot))
}

// push queues an event, dropping the oldest when the queue is full (§5).
func (c *Controller) push(kind cabinet.EventKind, arg uint8) {
	c.pushAt(kind, arg, c.opts.Now())
}

func (c *Controller) pushAt(kind cabinet.EventKind, arg uint8, at time.Time) {
	if len(c.queue) >= c.opts.QueueLen {
		c.queue = c.queue[1:]
		c.lost++
		c.overflowed = true
	}
	c.nextNum++
	if c.nextNum == 0 {
		c.nextNum = 1
	}
	c.queue = append(c.queue, queued{num: c.nextNum, kind: kind, arg: arg, at: at})
}

// tick applies the unlock timer (§6 UNLOCK).
func (c *Controller) tick() {
	if c.lock != cabinet.Unlocked || c.unlockUntil.IsZero() || c.opts.Now().Before(c.unlockUntil) {
		return
	}
	if c.door == cabinet.DoorOpen {
		return // relocks when the door closes
	}
	c.lock = cabinet.Locked
	c.pushAt(cabinet.EventLocked, 1, c.unlockUntil)
	c.unlockUntil = time.Time{}
}

// OpenDoor opens the door (the bolt must be unlocked, unless the cabinet is being forced).
func (c *Controller) OpenDoor() { c.setDoor(cabinet.DoorOpen, cabinet.EventDoorOpened) }

// OpenByHand is a person opening the cabinet with its key or badge: a locked bolt is unlocked
// at the cabinet first (event unlocked, arg 1: local; it relocks when the door closes), then the
// door opens. A jammed bolt does not move: the door stays shut and false is returned.
func (c *Controller) OpenByHand() bool {
	c.mu.Lock()
	c.tick()
	if c.door == cabinet.DoorOpen {
		c.mu.Unlock()
		return true
	}
	if c.lock == cabinet.Locked {
		if c.jammed {
			c.mu.Unlock()
			return false
		}
		c.lock = cabinet.Unlocked
		c.unlockUntil = c.opts.Now() // relocks as soon as the door closes again
		c.push(cabinet.EventUnlocked, 1)
	}
	// Opened in the same breath: the expired local unlock must not relock before the door moves.
	c.door = cabinet.DoorOpen
	c.push(cabinet.EventDoorOpened, 0)
	c.mu.Unlock()
	return true
}

// CloseDoor closes the door; an expired unlock relocks at once.
func (c *Controller) CloseDoor() { c.setDoor(cabinet.DoorClosed, cabinet.EventDoorClosed) }

func (c *Controller) setDoor(d cabinet.Door, ev cabinet.EventKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick()
	if c.door == d {
		return
	}
	c.door = d
	c.push(ev, 0)
	if d == cabinet.DoorClosed && c.lock == cabinet.Unlocked && !c.unlockUntil.IsZero() && !c.opts.Now().Before(c.unlockUntil) {
		c.lock = cabinet.Locked
		c.push(cabinet.EventLocked, 1)
		c.unlockUntil = time.Time{}
	}
}

// SetTamper opens (true) or closes the tamper switch.
func (c *Controller) SetTamper(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tamper == on {
		return
	}
	c.tamper = on
	if on {
		c.push(cabinet.EventTamper, 0)
	} else {
		c.push(cabinet.EventTamperCleared, 0)
	}
}

// SetMainsLost switches the controller to battery (true) or back to mains.
func (c *Controller) SetMainsLost(lost bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mainsLost == lost {
		return
	}
	c.mainsLost = lost
	if lost {
		c.push(cabinet.EventPowerLost, 0)
	} else {
		c.push(cabinet.EventPowerRestored, 0)
	}
}

// SetSilent makes the controller stop answering (true), as a cut cable or a dead controller would.
func (c *Controller) SetSilent(s bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.silent = s
}

// JamLock makes the bolt stick (true): LOCK and UNLOCK fail with lock_fault.
func (c *Controller) JamLock(j bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jammed = j
}

// Reboot restarts the controller: the boot counter increments, RAM (event queue, duplicate
// memory, negotiated version) is lost and the bolt locks.
func (c *Controller) Reboot() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powerUp()
}

// Status is the controller's current status block.
func (c *Controller) Status() cabinet.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick()
	return c.status()
}

// Executed counts requests the controller executed (retries answered from the duplicate memory
// are not counted).
func (c *Controller) Executed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.executed
}

func (c *Controller) status() cabinet.Status {
	s := cabinet.Status{Door: c.door, Lock: c.lock}
	if c.tamper {
		s.Flags |= cabinet.FlagTamper
	}
	if c.mainsLost {
		s.Flags |= cabinet.FlagMainsLost
	}
	if c.overflowed {
		s.Flags |= cabinet.FlagOverflow
	}
	if !c.negotiated {
		s.Flags |= cabinet.FlagNotNegotiated
	}
	if c.lock == cabinet.Unlocked && !c.unlockUntil.IsZero() {
		left := c.unlockUntil.Sub(c.opts.Now())
		secs := (left + time.Second - 1) / time.Second
		if secs < 0 {
			secs = 0
		}
		s.UnlockLeft = uint16(secs)
	}
	return s
}

// Handle executes one request frame and returns the encoded reply, or nil when the controller
// must stay silent (not addressed to it, a reply heard on the bus, or silenced).
func (c *Controller) Handle(f cabinet.Frame) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.Addr != c.addr || f.Type.IsReply() || c.silent {
		return nil
	}
	c.tick()
	// §4: a retry of the last executed request gets the remembered reply, not a second execution.
	if f.Type != cabinet.TypeHello && c.haveLast && f.Seq == c.lastSeq && f.Type == c.lastType {
		return c.lastReply
	}
	reply := c.execute(f)
	b, err := cabinet.NewFrame(c.addr, f.Seq, reply).Encode()
	if err != nil {
		return nil // cannot happen: the address was valid on the way in
	}
	c.executed++
	if f.Type == cabinet.TypeHello {
		c.haveLast = false
	} else {
		c.haveLast, c.lastSeq, c.lastType, c.lastReply = true, f.Seq, f.Type, b
	}
	return b
}

func refuse(code cabinet.ErrorCode, t cabinet.Type) cabinet.Message {
	return cabinet.ErrorReply{Code: code, Request: t}
}

func (c *Controller) execute(f cabinet.Frame) cabinet.Message {
	m, err := f.Message()
	if err != nil {
		if errors.Is(err, cabinet.ErrPayload) && !knownRequest(f.Type) {
			return refuse(cabinet.CodeUnknownType, f.Type)
		}
		return refuse(cabinet.CodeBadPayload, f.Type)
	}
	if h, ok := m.(cabinet.Hello); ok {
		if h.Min > cabinet.ProtoVersion || h.Max < cabinet.ProtoVersion {
			return refuse(cabinet.CodeVersionUnsupported, f.Type)
		}
		c.negotiated = true
		return cabinet.HelloReply{Version: cabinet.ProtoVersion, FWMajor: c.opts.FWMajor, FWMinor: c.opts.FWMinor,
			Caps: cabinet.CapDoor | cabinet.CapLock | cabinet.CapTamper | cabinet.CapMains | cabinet.CapLED | cabinet.CapBeeper,
			Boot: c.boot}
	}
	if !c.negotiated {
		return refuse(cabinet.CodeNotNegotiated, f.Type)
	}
	switch m := m.(type) {
	case cabinet.Poll:
		return c.poll(m.Ack)
	case cabinet.StatusRequest:
		return cabinet.StatusReply{Status: c.status(), Boot: c.boot,
			Uptime: uint32(c.opts.Now().Sub(c.bootAt) / time.Second), Queued: uint8(min(len(c.queue), 255))}
	case cabinet.LockRequest:
		switch {
		case c.door == cabinet.DoorOpen:
			return refuse(cabinet.CodeDoorOpen, f.Type)
		case c.jammed:
			c.lock = cabinet.LockFault
			c.push(cabinet.EventLockFault, 0)
			return refuse(cabinet.CodeLockFault, f.Type)
		}
		if c.lock != cabinet.Locked {
			c.lock = cabinet.Locked
			c.push(cabinet.EventLocked, 0)
		}
		c.unlockUntil = time.Time{}
		return cabinet.CommandReply{Reply: cabinet.TypeLockReply, Status: c.status()}
	case cabinet.Unlock:
		switch {
		case c.tamper:
			return refuse(cabinet.CodeTamperLockout, f.Type)
		case c.jammed:
			c.lock = cabinet.LockFault
			c.push(cabinet.EventLockFault, 0)
			return refuse(cabinet.CodeLockFault, f.Type)
		}
		if c.lock != cabinet.Unlocked {
			c.lock = cabinet.Unlocked
			c.push(cabinet.EventUnlocked, 0)
		}
		c.unlockUntil = c.opts.Now().Add(time.Duration(m.Seconds) * time.Second)
		return cabinet.CommandReply{Reply: cabinet.TypeUnlockReply, Status: c.status()}
	case cabinet.Signal:
		return cabinet.CommandReply{Reply: cabinet.TypeSignalReply, Status: c.status()}
	}
	return refuse(cabinet.CodeUnknownType, f.Type)
}

func knownRequest(t cabinet.Type) bool {
	return t >= cabinet.TypeHello && t <= cabinet.TypeSignal
}

// poll removes acknowledged events and reports up to eight more (§5).
func (c *Controller) poll(ack uint8) cabinet.Message {
	for i, q := range c.queue {
		if q.num == ack {
			c.queue = c.queue[i+1:]
			break
		}
	}
	st := c.status()
	if c.lost > 0 && len(c.queue) < c.opts.QueueLen {
		c.push(cabinet.EventOverflow, uint8(min(c.lost, 255)))
		c.lost = 0
	}
	c.overflowed = false
	now := c.opts.Now()
	r := cabinet.PollReply{Status: st}
	for _, q := range c.queue[:min(len(c.queue), cabinet.MaxPollEvents)] {
		age := now.Sub(q.at) / (100 * time.Millisecond)
		r.Events = append(r.Events, cabinet.EventRecord{Num: q.num, Kind: q.kind, Arg: q.arg, Age: uint16(min(max(age, 0), 0xFFFF))})
	}
	return r
}

// Bus serves several controllers on one line.
type Bus struct {
	log   *slog.Logger
	ctrls map[uint8]*Controller
}

// NewBus puts controllers on one bus. Two controllers with one address is a wiring error.
func NewBus(log *slog.Logger, ctrls ...*Controller) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: log, ctrls: map[uint8]*Controller{}}
	for _, c := range ctrls {
		if !cabinet.ValidAddr(c.addr) {
			return nil, fmt.Errorf("cabinet sim: address 0x%02X: %w", c.addr, cabinet.ErrAddress)
		}
		if _, dup := b.ctrls[c.addr]; dup {
			return nil, fmt.Errorf("cabinet sim: two controllers at address 0x%02X", c.addr)
		}
		b.ctrls[c.addr] = c
	}
	return b, nil
}

// Serve answers requests on rw until ctx ends or rw fails. It closes rw when ctx ends, which is
// what unblocks its read; it returns nil after cancellation and the read or write error otherwise.
func (b *Bus) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	stop := context.AfterFunc(ctx, func() { rw.Close() })
	defer stop()
	b.log.Info("cabinet sim serving", "controllers", len(b.ctrls))
	defer b.log.Info("cabinet sim stopped")
	dec := cabinet.NewDecoder(rw)
	for {
		f, err := dec.Next()
		var fe *cabinet.FrameError
		switch {
		case errors.As(err, &fe):
			b.log.Debug("cabinet sim: bad frame", "offset", fe.Offset, "err", fe.Err)
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cabinet sim: %w", err)
		}
		c, ok := b.ctrls[f.Addr]
		if !ok {
			continue
		}
		if reply := c.Handle(f); reply != nil {
			if _, err := rw.Write(reply); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("cabinet sim: write reply to 0x%02X: %w", f.Addr, err)
			}
		}
	}
}
