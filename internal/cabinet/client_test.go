package cabinet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/custodyhq/custody/internal/cabinet"
	"github.com/custodyhq/custody/internal/cabinet/sim"
)

// lineFault sits between the simulator and its pseudo-terminal and damages what the controllers
// send, as a noisy RS-485 line would.
type lineFault struct {
	io.ReadWriteCloser
	mu     sync.Mutex
	writes int
	drop   func(n int) bool   // drop the n-th reply entirely
	noise  func(n int) []byte // bytes to put on the line before the n-th reply
}

func (l *lineFault) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.writes++
	n := l.writes
	l.mu.Unlock()
	if l.drop != nil && l.drop(n) {
		return len(p), nil
	}
	if l.noise != nil {
		if junk := l.noise(n); len(junk) > 0 {
			if _, err := l.ReadWriteCloser.Write(junk); err != nil {
				return 0, err
			}
		}
	}
	return l.ReadWriteCloser.Write(p)
}

type rig struct {
	client *cabinet.Client
	ptmx   *os.File
	port   serial.Port
	runErr chan error
	cancel context.CancelFunc
	// unplugged: the test closed the device side itself
	unplugged bool
}

// newRig runs a simulated bus on a pseudo-terminal and a client on the other end opened with
// go.bug.st/serial, exactly as the agent opens /dev/ttyUSB0.
func newRig(t *testing.T, cfg cabinet.Config, fault *lineFault, ctrls ...*sim.Controller) *rig {
	t.Helper()
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ptmx := p.Master
	bus, err := sim.NewBus(slog.New(slog.DiscardHandler), ctrls...)
	if err != nil {
		t.Fatal(err)
	}
	var simSide io.ReadWriteCloser = ptmx
	if fault != nil {
		fault.ReadWriteCloser = ptmx
		simSide = fault
	}
	simCtx, simCancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	r := &rig{ptmx: ptmx, runErr: make(chan error, 1)}
	go func() { simDone <- bus.Serve(simCtx, simSide) }()
	t.Cleanup(func() {
		simCancel()
		if err := <-simDone; err != nil && !r.unplugged {
			t.Errorf("simulator: %v", err)
		}
	})

	port, err := serial.Open(p.Path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s with go.bug.st/serial: %v", p.Path, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.OfflinePoll == 0 {
		cfg.OfflinePoll = 150 * time.Millisecond
	}
	client, err := cabinet.NewClient(port, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.client, r.port, r.cancel = client, port, cancel
	go func() { r.runErr <- client.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.runErr:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
		if err := client.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	return r
}

// next waits for the next event of one of the given kinds, skipping others.
func next(t *testing.T, evs <-chan cabinet.Event, want ...cabinet.EventKind) cabinet.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-evs:
			if !ok {
				t.Fatalf("events closed, want %v", want)
			}
			for _, k := range want {
				if e.Kind == k {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("no %v event within 5 s", want)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClientEventsThroughPTY(t *testing.T) {
	a, b := sim.New(0x03, sim.Options{Boot: 41}), sim.New(0x07, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x03: "cab-03", 0x07: "cab-07"}}, nil, a, b)
	evs := r.client.Events()

	e := next(t, evs, cabinet.EventBoot)
	if e.Cabinet != "cab-03" && e.Cabinet != "cab-07" {
		t.Errorf("boot event from %q, want cab-03 or cab-07", e.Cabinet)
	}
	b.OpenDoor()
	e = next(t, evs, cabinet.EventDoorOpened)
	if e.Cabinet != "cab-07" || e.Addr != 0x07 {
		t.Errorf("door event got cabinet %q addr %d, want cab-07 addr 7", e.Cabinet, e.Addr)
	}
	if age := time.Since(e.At); age < 0 || age > 2*time.Second {
		t.Errorf("event dated %v ago, want within 2 s", age)
	}
	a.SetTamper(true)
	a.SetMainsLost(true)
	if e := next(t, evs, cabinet.EventTamper, cabinet.EventPowerLost); e.Kind != cabinet.EventTamper || e.Cabinet != "cab-03" {
		t.Errorf("got %s from %s, want tamper from cab-03 first", e.Kind, e.Cabinet)
	}
	if e := next(t, evs, cabinet.EventPowerLost); e.Cabinet != "cab-03" {
		t.Errorf("power_lost from %s, want cab-03", e.Cabinet)
	}
	st, err := r.client.Status(ctx(t), 0x03)
	if err != nil {
		t.Fatal(err)
	}
	if st.Boot != 42 || st.Flags&cabinet.FlagTamper == 0 || st.Flags&cabinet.FlagMainsLost == 0 {
		t.Errorf("status got boot %d flags %s, want boot 42 flags tamper+mains_lost", st.Boot, st.Flags)
	}
	// Events are acknowledged once delivered: the controller's queue drains.
	waitFor(t, func() bool { s, err := r.client.Status(ctx(t), 0x07); return err == nil && s.Queued == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}

func TestClientCommands(t *testing.T) {
	c := sim.New(0x05, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x05: "cab-05"}}, nil, c)
	evs := r.client.Events()

	st, err := r.client.Unlock(ctx(t), 0x05, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lock != cabinet.Unlocked || st.UnlockLeft != 30 {
		t.Errorf("after unlock got %s, %d s left; want unlocked, 30 s", st.Lock, st.UnlockLeft)
	}
	next(t, evs, cabinet.EventUnlocked)
	c.OpenDoor()
	next(t, evs, cabinet.EventDoorOpened)

	_, err = r.client.Lock(ctx(t), 0x05)
	var refusal cabinet.ErrorReply
	if !errors.Is(err, cabinet.CodeDoorOpen) || !errors.As(err, &refusal) {
		t.Fatalf("lock with door open: got %v, want the door_open refusal", err)
	}
	if got := refusal.Code.Text("zh-CN"); got != "柜门未关，无法上锁" {
		t.Errorf("zh-CN text got %q", got)
	}
	c.CloseDoor()
	if st, err = r.client.Lock(ctx(t), 0x05); err != nil || st.Lock != cabinet.Locked {
		t.Fatalf("lock: got %v %v, want locked", st.Lock, err)
	}
	next(t, evs, cabinet.EventLocked)
	if _, err := r.client.Signal(ctx(t), 0x05, cabinet.Signal{LED: cabinet.LEDRed, Pattern: cabinet.PatternFastBlink, Beeps: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Signal(ctx(t), 0x05, cabinet.Signal{Beeps: 11}); !errors.Is(err, cabinet.ErrPayload) {
		t.Errorf("signal with 11 beeps: got %v, want ErrPayload before anything is sent", err)
	}
	if _, err := r.client.Unlock(ctx(t), 0x05, time.Hour); err == nil {
		t.Error("unlock for an hour: got nil, want an error")
	}
	if _, err := r.client.Lock(ctx(t), 0x09); !errors.Is(err, cabinet.ErrUnknownCabinet) {
		t.Errorf("lock unknown address: got %v, want ErrUnknownCabinet", err)
	}
	c.SetTamper(true)
	if _, err := r.client.Unlock(ctx(t), 0x05, 5*time.Second); !errors.Is(err, cabinet.CodeTamperLockout) {
		t.Errorf("unlock during tamper: got %v, want tamper_lockout", err)
	}
}

// A lost reply is retried with the same sequence number and the controller answers from its
// duplicate memory: the unlock runs once.
func TestClientRetryIsNotExecutedTwice(t *testing.T) {
	c := sim.New(0x02, sim.Options{})
	var dropNext atomic.Bool
	fault := &lineFault{drop: func(int) bool { return dropNext.CompareAndSwap(true, false) }}
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x02: "cab-02"}, PollInterval: time.Hour}, fault, c)
	if _, err := r.client.Status(ctx(t), 0x02); err != nil {
		t.Fatal(err)
	}
	// Run polls every controller once as it starts, racing our Status. Wait until the controller
	// has executed all three (HELLO, that poll, our Status): a poll still to come would count as a
	// second execution, or have its reply dropped in place of the unlock's (a flake under load,
	// 4 in 30 runs with -race).
	for deadline := time.Now().Add(5 * time.Second); c.Executed() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("controller executed %d requests after start, want HELLO, the first poll and STATUS", c.Executed())
		}
	}
	before := c.Executed()
	dropNext.Store(true)
	if _, err := r.client.Unlock(ctx(t), 0x02, 10*time.Second); err != nil {
		t.Fatalf("unlock with its first reply lost: %v", err)
	}
	if got := c.Executed() - before; got != 1 {
		t.Errorf("controller executed %d requests, want 1", got)
	}
}

// Garbage and damaged frames on the line cost retries, never a wrong answer.
func TestClientNoisyLine(t *testing.T) {
	c := sim.New(0x04, sim.Options{})
	fault := &lineFault{noise: func(n int) []byte {
		switch n % 4 {
		case 1:
			return []byte{0x00, 0xFF, 0xC5, 0x04} // line noise with a false sync
		case 2:
			return []byte{0xC5, 0x04, 0x01, 0x83, 0x0C, 0x00} // half a frame, cut
		}
		return nil
	}}
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x04: "cab-04"}, PollInterval: time.Hour}, fault, c)
	for i := range 20 {
		st, err := r.client.Status(ctx(t), 0x04)
		if err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
		if st.Door != cabinet.DoorClosed || st.Lock != cabinet.Locked {
			t.Fatalf("status %d: got %s/%s, want closed/locked", i, st.Door, st.Lock)
		}
	}
}

func TestClientControllerStopsAnswering(t *testing.T) {
	c := sim.New(0x06, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x06: "cab-06"}, Retries: 2}, nil, c)
	evs := r.client.Events()
	next(t, evs, cabinet.EventBoot)

	c.SetSilent(true)
	e := next(t, evs, cabinet.EventLinkLost)
	if e.Cabinet != "cab-06" {
		t.Errorf("link_lost from %q, want cab-06", e.Cabinet)
	}
	start := time.Now()
	_, err := r.client.Lock(ctx(t), 0x06)
	if !errors.Is(err, cabinet.ErrNoResponse) {
		t.Fatalf("lock on a silent controller: got %v, want ErrNoResponse", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("giving up took %v, want about 3 × 60 ms", d)
	}
	// It comes back after a restart: link_restored, and its boot event.
	c.Reboot()
	c.SetSilent(false)
	next(t, evs, cabinet.EventLinkRestored)
	if e := next(t, evs, cabinet.EventBoot); e.Arg != 2 {
		t.Errorf("boot event arg got %d, want 2 (second boot)", e.Arg)
	}
}

// A controller that was only out of reach (same boot) keeps its queue: after the HELLO that
// follows link_restored, events already handed on are not handed on again. (They were: the HELLO
// reset the acknowledgement to 0, the controller resent its unacknowledged events, and the agent
// saw a door open a second time after reading the bolt as locked — a false forced_door.)
func TestClientDeliversNothingTwiceAcrossALinkLoss(t *testing.T) {
	c := sim.New(0x07, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x07: "cab-07"}, Retries: 1, PollInterval: 300 * time.Millisecond}, nil, c)
	evs := r.client.Events()
	next(t, evs, cabinet.EventBoot)

	if !c.OpenByHand() {
		t.Fatal("the door did not open")
	}
	next(t, evs, cabinet.EventUnlocked)
	next(t, evs, cabinet.EventDoorOpened)
	// Out of reach before the next POLL can acknowledge those two.
	c.SetSilent(true)
	next(t, evs, cabinet.EventLinkLost)
	c.SetSilent(false)
	next(t, evs, cabinet.EventLinkRestored)
	c.CloseDoor()
	for {
		select {
		case e := <-evs:
			switch e.Kind {
			case cabinet.EventUnlocked, cabinet.EventDoorOpened:
				t.Fatalf("%s #%d handed on a second time after the link came back", e.Kind, e.Num)
			case cabinet.EventDoorClosed:
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no door_closed within 5 s")
		}
	}
}

// A controller that restarted between two requests answers not_negotiated; the client
// negotiates again and the request succeeds.
func TestClientRenegotiatesAfterReboot(t *testing.T) {
	c := sim.New(0x08, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x08: "cab-08"}, PollInterval: time.Hour}, nil, c)
	if _, err := r.client.Status(ctx(t), 0x08); err != nil {
		t.Fatal(err)
	}
	c.Reboot()
	st, err := r.client.Status(ctx(t), 0x08)
	if err != nil {
		t.Fatalf("status after reboot: %v", err)
	}
	if st.Boot != 2 || st.Flags&cabinet.FlagNotNegotiated != 0 {
		t.Errorf("got boot %d flags %s, want boot 2 and negotiated", st.Boot, st.Flags)
	}
}

// The port disappears (the USB adapter is pulled): Run ends with ErrClosed, commands fail with a
// clear error, and the events channel is closed.
func TestClientPortDisappears(t *testing.T) {
	c := sim.New(0x01, sim.Options{})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x01: "cab-01"}}, nil, c)
	next(t, r.client.Events(), cabinet.EventBoot)
	r.unplugged = true
	r.ptmx.Close()
	select {
	case err := <-r.runErr:
		if !errors.Is(err, cabinet.ErrClosed) {
			t.Fatalf("Run got %v, want ErrClosed", err)
		}
		r.runErr <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not notice the port going away")
	}
	if _, err := r.client.Status(ctx(t), 0x01); !errors.Is(err, cabinet.ErrClosed) {
		t.Errorf("status after the port went: got %v, want ErrClosed", err)
	}
	for range r.client.Events() {
	} // closed: the loop ends
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]cabinet.Config{
		"no cabinets":      {},
		"reserved address": {Cabinets: map[uint8]string{0xF8: "x"}},
		"empty id":         {Cabinets: map[uint8]string{0x01: ""}},
	} {
		if _, err := cabinet.NewClient(nopPort{}, cfg); err == nil {
			t.Errorf("%s: got nil error, want a config error", name)
		}
	}
}

type nopPort struct{}

func (nopPort) Read([]byte) (int, error)    { return 0, io.EOF }
func (nopPort) Write(p []byte) (int, error) { return len(p), nil }
func (nopPort) Close() error                { return nil }

// Commands from several goroutines while Run polls: the bus carries one transaction at a time
// and every caller gets the reply to its own request.
func TestClientConcurrentCommands(t *testing.T) {
	a, b := sim.New(0x0A, sim.Options{}), sim.New(0x0B, sim.Options{Boot: 9})
	r := newRig(t, cabinet.Config{Cabinets: map[uint8]string{0x0A: "cab-10", 0x0B: "cab-11"}}, nil, a, b)
	go func() {
		for range r.client.Events() {
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 4 {
		wg.Go(func() {
			addr, boot := uint8(0x0A), uint16(1)
			if g%2 == 1 {
				addr, boot = 0x0B, 10
			}
			for range 10 {
				st, err := r.client.Status(ctx(t), addr)
				if err != nil {
					errs <- err
					return
				}
				if st.Boot != boot {
					errs <- fmt.Errorf("address %d: got boot %d, want %d (a reply for another request)", addr, st.Boot, boot)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
