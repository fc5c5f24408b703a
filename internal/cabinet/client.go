package cabinet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Client errors.
var (
	// ErrNoResponse: the controller did not answer any attempt of a request (§4).
	ErrNoResponse = errors.New("controller did not answer")
	// ErrClosed: the client was closed, or its port failed.
	ErrClosed = errors.New("cabinet bus closed")
	// ErrUnknownCabinet: the address is not in the configuration.
	ErrUnknownCabinet = errors.New("unknown cabinet address")
)

// Config describes one bus. Zero durations take the defaults of §4 and §5.
type Config struct {
	Cabinets     map[uint8]string // controller address → cabinet ID, e.g. 0x03 → "cab-03"
	Timeout      time.Duration    // reply timeout, default 100 ms
	Retries      int              // retries after the first attempt, default 3; -1 for none
	PollInterval time.Duration    // poll period for reachable controllers, default 250 ms
	OfflinePoll  time.Duration    // poll period for unreachable ones, default 2 s
	EventBuffer  int              // Events channel capacity, default 64
	Logger       *slog.Logger     // default: discard
}

// Event is something that happened at a cabinet, dated by the controller's age field.
type Event struct {
	Cabinet string    `json:"cabinet"`
	Addr    uint8     `json:"addr"`
	Kind    EventKind `json:"event"`
	Arg     uint8     `json:"arg"`
	Num     uint8     `json:"num"` // the controller's event number; 0 for the client's own link events
	At      time.Time `json:"at"`
}

// Port is what the client drives: a serial port (go.bug.st/serial), a pseudo-terminal, a pipe.
// Close must unblock a pending Read; that is how Run ends with its context.
type Port interface {
	io.ReadWriteCloser
}

type ctrlState struct {
	seq        uint8
	ack        uint8
	negotiated bool
	online     bool
	known      bool // answered at least once
	boot       uint16
	nextPoll   time.Time
}

// Client is the master of one bus (§1). Create it with NewClient, start Run, then issue commands
// from any goroutine; the bus carries one transaction at a time.
type Client struct {
	port Port
	cfg  Config
	log  *slog.Logger
	now  func() time.Time

	txMu    sync.Mutex // one transaction at a time: the bus is half-duplex
	stateMu sync.Mutex
	state   map[uint8]*ctrlState

	started chan struct{} // closed when Run has started reading

	replies   chan Frame
	events    chan Event
	dead      chan struct{} // closed when the reader stops
	deadErr   error
	closeOnce sync.Once
	runOnce   sync.Once
}

// NewClient checks cfg and returns a client for port. It does no I/O.
func NewClient(port Port, cfg Config) (*Client, error) {
	if len(cfg.Cabinets) == 0 {
		return nil, errors.New("cabinet client: config: no cabinets")
	}
	for a, id := range cfg.Cabinets {
		if !ValidAddr(a) {
			return nil, fmt.Errorf("cabinet client: config: cabinet %q at address 0x%02X: %w", id, a, ErrAddress)
		}
		if id == "" {
			return nil, fmt.Errorf("cabinet client: config: address 0x%02X has no cabinet ID", a)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.OfflinePoll <= 0 {
		cfg.OfflinePoll = 2 * time.Second
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{port: port, cfg: cfg, log: cfg.Logger, now: time.Now, state: map[uint8]*ctrlState{},
		replies: make(chan Frame, 16), started: make(chan struct{}), events: make(chan Event, cfg.EventBuffer), dead: make(chan struct{})}
	for a := range cfg.Cabinets {
		c.state[a] = &ctrlState{online: true}
	}
	return c, nil
}

// Events delivers controller events and the client's link_lost/link_restored. It is closed when
// Run returns. An event is acknowledged to its controller only after it was taken from here, so a
// slow consumer slows polling but loses nothing.
func (c *Client) Events() <-chan Event { return c.events }

// Close closes the port, which ends Run. It is safe to call more than once.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.port.Close()
		if err != nil {
			err = fmt.Errorf("cabinet client: close port: %w", err)
		}
	})
	return err
}

// Run reads replies and polls every cabinet until ctx ends (it then returns nil) or the port
// fails (it returns that error, wrapping ErrClosed). It closes the port and the Events channel
// on return. Run may be called once. Commands issued before Run starts wait for it; after it has
// returned they fail with ErrClosed.
func (c *Client) Run(ctx context.Context) error {
	err := errors.New("cabinet client: Run called twice")
	c.runOnce.Do(func() { err = c.run(ctx) })
	return err
}

func (c *Client) run(ctx context.Context) error {
	c.log.Info("cabinet bus started", "cabinets", len(c.cfg.Cabinets))
	var wg sync.WaitGroup
	wg.Go(c.readLoop)
	close(c.started)
	defer func() {
		c.Close()
		wg.Wait()
		// No transaction can be waiting now (Close woke them via dead), but a command may still
		// be between its checks; take the bus before closing events.
		c.txMu.Lock()
		close(c.events)
		c.txMu.Unlock()
		c.log.Info("cabinet bus stopped")
	}()

	addrs := make([]uint8, 0, len(c.cfg.Cabinets))
	for a := range c.cfg.Cabinets {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		for _, a := range addrs {
			if err := c.pollOne(ctx, a); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, ErrClosed) {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.dead:
			return c.deadErr
		case <-t.C:
		}
	}
}

func (c *Client) readLoop() {
	dec := NewDecoder(c.port)
	for {
		f, err := dec.Next()
		var fe *FrameError
		switch {
		case errors.As(err, &fe):
			c.log.Warn("cabinet bus: bad frame", "offset", fe.Offset, "err", fe.Err)
			continue
		case err != nil:
			c.deadErr = fmt.Errorf("cabinet client: port: %w: %w", ErrClosed, err)
			close(c.dead)
			return
		}
		if !f.Type.IsReply() {
			continue // our own request echoed by an adapter, or another master's: not for us
		}
		select {
		case c.replies <- f:
		default:
			c.log.Warn("cabinet bus: reply dropped, nobody waiting", "addr", f.Addr, "seq", f.Seq)
		}
	}
}

func (c *Client) cabinet(addr uint8) string { return c.cfg.Cabinets[addr] }

// pollOne polls addr when it is due, delivers its events and tracks reachability.
func (c *Client) pollOne(ctx context.Context, addr uint8) error {
	c.stateMu.Lock()
	st := c.state[addr]
	due := st.online || !c.now().Before(st.nextPoll)
	c.stateMu.Unlock()
	if !due {
		return nil
	}
	r, err := c.Poll(ctx, addr)
	if err != nil {
		if errors.Is(err, ErrNoResponse) {
			c.stateMu.Lock()
			was := st.online
			st.online, st.negotiated = false, false
			st.nextPoll = c.now().Add(c.cfg.OfflinePoll)
			c.stateMu.Unlock()
			if was {
				c.log.Warn("cabinet unreachable", "cabinet", c.cabinet(addr), "addr", addr, "err", err)
				return c.deliver(ctx, Event{Cabinet: c.cabinet(addr), Addr: addr, Kind: EventLinkLost, At: c.now()}, addr)
			}
			return nil
		}
		c.log.Warn("cabinet poll failed", "cabinet", c.cabinet(addr), "err", err)
		return err
	}
	c.stateMu.Lock()
	was := st.online
	st.online = true
	c.stateMu.Unlock()
	if !was {
		c.log.Info("cabinet reachable again", "cabinet", c.cabinet(addr), "addr", addr)
		if err := c.deliver(ctx, Event{Cabinet: c.cabinet(addr), Addr: addr, Kind: EventLinkRestored, At: c.now()}, addr); err != nil {
			return err
		}
	}
	now := c.now()
	for _, e := range r.Events {
		ev := Event{Cabinet: c.cabinet(addr), Addr: addr, Kind: e.Kind, Arg: e.Arg, Num: e.Num,
			At: now.Add(-time.Duration(e.Age) * 100 * time.Millisecond)}
		if err := c.deliver(ctx, ev, addr); err != nil {
			return err
		}
	}
	return nil
}

// deliver hands ev on and only then records its number as acknowledged (§5).
func (c *Client) deliver(ctx context.Context, ev Event, addr uint8) error {
	select {
	case c.events <- ev:
	case <-ctx.Done():
		return ctx.Err()
	}
	if ev.Num != 0 {
		c.stateMu.Lock()
		c.state[addr].ack = ev.Num
		c.stateMu.Unlock()
	}
	return nil
}

// Hello negotiates the protocol version with addr (§3).
func (c *Client) Hello(ctx context.Context, addr uint8) (HelloReply, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	return c.hello(ctx, addr)
}

func (c *Client) hello(ctx context.Context, addr uint8) (HelloReply, error) {
	m, err := c.transact(ctx, addr, Hello{Min: ProtoVersion, Max: ProtoVersion})
	if err != nil {
		return HelloReply{}, err
	}
	r, ok := m.(HelloReply)
	if !ok {
		return HelloReply{}, fmt.Errorf("cabinet %q: hello: unexpected %s", c.cabinet(addr), m.Type())
	}
	c.stateMu.Lock()
	st := c.state[addr]
	if st.known && st.boot != r.Boot {
		c.log.Info("cabinet controller restarted", "cabinet", c.cabinet(addr), "boot", r.Boot)
	}
	if !st.known || st.boot != r.Boot {
		st.ack = 0 // a restarted controller numbers its events from 1 again
	}
	// Otherwise the same boot's numbering goes on (a controller that was only out of reach keeps
	// its queue), and the next POLL must acknowledge what was already handed on: with ack 0 it
	// would deliver those events a second time — a door opening replayed after the bolt's
	// status was read anew looked like a door forced open.
	st.known, st.boot, st.negotiated = true, r.Boot, true
	c.stateMu.Unlock()
	return r, nil
}

// withAck fills in a Poll's acknowledgement at the last moment: a HELLO just before it resets
// the numbering, and a stale ack would drop an undelivered event (§5).
func (c *Client) withAck(addr uint8, m Message) Message {
	if _, ok := m.(Poll); !ok {
		return m
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return Poll{Ack: c.state[addr].ack}
}

// Poll collects the events of addr and acknowledges those already delivered. The events are
// not delivered on Events; Run's own polling does that.
func (c *Client) Poll(ctx context.Context, addr uint8) (PollReply, error) {
	r, err := c.request(ctx, addr, Poll{})
	if err != nil {
		return PollReply{}, err
	}
	return r.(PollReply), nil
}

// Status asks addr for its status.
func (c *Client) Status(ctx context.Context, addr uint8) (StatusReply, error) {
	r, err := c.request(ctx, addr, StatusRequest{})
	if err != nil {
		return StatusReply{}, err
	}
	return r.(StatusReply), nil
}

// Lock locks the cabinet at addr. A refusal is an ErrorReply: errors.Is(err, CodeDoorOpen).
func (c *Client) Lock(ctx context.Context, addr uint8) (Status, error) {
	r, err := c.request(ctx, addr, LockRequest{})
	if err != nil {
		return Status{}, err
	}
	return r.(CommandReply).Status, nil
}

// Unlock unlocks the cabinet at addr for d (rounded up to whole seconds, 1 s to 15 min).
func (c *Client) Unlock(ctx context.Context, addr uint8, d time.Duration) (Status, error) {
	secs := (d + time.Second - 1) / time.Second
	if secs < 1 || secs > MaxUnlockSeconds {
		return Status{}, fmt.Errorf("cabinet %q: unlock for %v: want 1 s to %d s", c.cabinet(addr), d, MaxUnlockSeconds)
	}
	r, err := c.request(ctx, addr, Unlock{Seconds: uint16(secs)})
	if err != nil {
		return Status{}, err
	}
	return r.(CommandReply).Status, nil
}

// Signal sets the LED and beeps.
func (c *Client) Signal(ctx context.Context, addr uint8, s Signal) (Status, error) {
	if _, err := decodePayload(TypeSignal, s.appendPayload(nil)); err != nil {
		return Status{}, fmt.Errorf("cabinet %q: signal: %w", c.cabinet(addr), err)
	}
	r, err := c.request(ctx, addr, s)
	if err != nil {
		return Status{}, err
	}
	return r.(CommandReply).Status, nil
}

// request runs one transaction, negotiating first when the controller needs it, and turns an
// ERROR reply into an error. The reply type is checked, so callers may assert it.
func (c *Client) request(ctx context.Context, addr uint8, m Message) (Message, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	c.stateMu.Lock()
	st, ok := c.state[addr]
	negotiated := ok && st.negotiated
	c.stateMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("cabinet address 0x%02X: %w", addr, ErrUnknownCabinet)
	}
	if !negotiated {
		if _, err := c.hello(ctx, addr); err != nil {
			return nil, err
		}
	}
	r, err := c.transact(ctx, addr, c.withAck(addr, m))
	if errors.Is(err, CodeNotNegotiated) {
		// The controller restarted since our HELLO (§3): negotiate and ask again.
		if _, err := c.hello(ctx, addr); err != nil {
			return nil, err
		}
		r, err = c.transact(ctx, addr, c.withAck(addr, m))
	}
	if err != nil {
		return nil, err
	}
	if r.Type() != m.Type()|0x80 {
		return nil, fmt.Errorf("cabinet %q: %s answered with %s", c.cabinet(addr), m.Type(), r.Type())
	}
	return r, nil
}

// transact sends m with a new sequence number and waits for the matching reply, retrying with
// the same sequence number (§4). The caller holds txMu.
func (c *Client) transact(ctx context.Context, addr uint8, m Message) (Message, error) {
	// Requests made before Run starts wait for it; after Run has ended they fail with ErrClosed.
	select {
	case <-c.started:
	case <-ctx.Done():
		return nil, fmt.Errorf("cabinet %q: %s: waiting for the bus to start: %w", c.cabinet(addr), m.Type(), ctx.Err())
	}
	select {
	case <-c.dead:
		return nil, fmt.Errorf("cabinet %q: %s: %w", c.cabinet(addr), m.Type(), c.deadErr)
	default:
	}
	c.stateMu.Lock()
	st, ok := c.state[addr]
	if ok {
		st.seq++
	}
	c.stateMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("cabinet address 0x%02X: %w", addr, ErrUnknownCabinet)
	}
	req := NewFrame(addr, st.seq, m)
	wire, err := req.Encode()
	if err != nil {
		return nil, fmt.Errorf("cabinet %q: %s: %w", c.cabinet(addr), m.Type(), err)
	}
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	attempts := c.cfg.Retries + 1
	for attempt := 1; attempt <= attempts; attempt++ {
		if _, err := c.port.Write(wire); err != nil {
			return nil, fmt.Errorf("cabinet %q: %s: write: %w: %w", c.cabinet(addr), m.Type(), ErrClosed, err)
		}
		timer.Reset(c.cfg.Timeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("cabinet %q: %s: %w", c.cabinet(addr), m.Type(), ctx.Err())
			case <-c.dead:
				return nil, fmt.Errorf("cabinet %q: %s: %w", c.cabinet(addr), m.Type(), c.deadErr)
			case <-timer.C:
				if attempt < attempts {
					c.log.Debug("cabinet retry", "cabinet", c.cabinet(addr), "type", m.Type(), "seq", req.Seq, "attempt", attempt+1)
				}
				break wait
			case f := <-c.replies:
				if f.Addr != addr || f.Seq != req.Seq || (f.Type != req.Type|0x80 && f.Type != TypeError) {
					c.log.Debug("cabinet bus: stray reply", "addr", f.Addr, "seq", f.Seq, "type", f.Type)
					continue
				}
				r, err := f.Message()
				if err != nil {
					// A good CRC but a payload we cannot read: a firmware bug, not noise.
					return nil, fmt.Errorf("cabinet %q: %s: %w", c.cabinet(addr), m.Type(), err)
				}
				if e, ok := r.(ErrorReply); ok {
					return nil, fmt.Errorf("cabinet %q: %w", c.cabinet(addr), e)
				}
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("cabinet %q (address 0x%02X): %s: %w after %d attempts of %v",
		c.cabinet(addr), addr, m.Type(), ErrNoResponse, attempts, c.cfg.Timeout)
}
