package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/cabinet"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// do sends one request to c and decodes its reply.
func do(t *testing.T, c *Controller, seq uint8, m cabinet.Message) cabinet.Message {
	t.Helper()
	b := c.Handle(cabinet.NewFrame(c.Addr(), seq, m))
	if b == nil {
		t.Fatalf("%s: no reply", m.Type())
	}
	f, n, err := cabinet.Parse(b)
	if err != nil || n != len(b) {
		t.Fatalf("%s: reply % X does not parse: %v", m.Type(), b, err)
	}
	if f.Seq != seq || f.Addr != c.Addr() {
		t.Fatalf("%s: reply addr %d seq %d, want %d %d", m.Type(), f.Addr, f.Seq, c.Addr(), seq)
	}
	r, err := f.Message()
	if err != nil {
		t.Fatalf("%s: reply payload: %v", m.Type(), err)
	}
	return r
}

func wantRefusal(t *testing.T, r cabinet.Message, code cabinet.ErrorCode) {
	t.Helper()
	e, ok := r.(cabinet.ErrorReply)
	if !ok || e.Code != code {
		t.Fatalf("got %#v, want refusal %s", r, code)
	}
}

func newCtrl(t *testing.T) (*Controller, *clock) {
	clk := &clock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	c := New(0x03, Options{Now: clk.now, FWMajor: 2, FWMinor: 5})
	if r := do(t, c, 1, cabinet.Hello{Min: 1, Max: 1}); r.(cabinet.HelloReply).Boot != 1 {
		t.Fatalf("hello: got %+v, want boot 1", r)
	}
	return c, clk
}

func TestNotNegotiatedUntilHello(t *testing.T) {
	c := New(0x03, Options{})
	wantRefusal(t, do(t, c, 1, cabinet.Poll{}), cabinet.CodeNotNegotiated)
	wantRefusal(t, do(t, c, 2, cabinet.Hello{Min: 2, Max: 3}), cabinet.CodeVersionUnsupported)
	if _, ok := do(t, c, 3, cabinet.Hello{Min: 1, Max: 3}).(cabinet.HelloReply); !ok {
		t.Fatal("hello 1..3: want a hello reply")
	}
	if _, ok := do(t, c, 4, cabinet.Poll{}).(cabinet.PollReply); !ok {
		t.Fatal("poll after hello: want a poll reply")
	}
}

func TestPollAcknowledgement(t *testing.T) {
	c, clk := newCtrl(t)
	clk.advance(1500 * time.Millisecond)
	c.OpenDoor()
	clk.advance(500 * time.Millisecond)
	r := do(t, c, 2, cabinet.Poll{Ack: 0}).(cabinet.PollReply)
	if len(r.Events) != 2 || r.Events[0].Kind != cabinet.EventBoot || r.Events[1].Kind != cabinet.EventDoorOpened {
		t.Fatalf("got events %+v, want boot then door_opened", r.Events)
	}
	if r.Events[0].Age != 20 || r.Events[1].Age != 5 {
		t.Errorf("ages got %d and %d, want 20 and 5 tenths", r.Events[0].Age, r.Events[1].Age)
	}
	// Acknowledging the first leaves the second.
	r = do(t, c, 3, cabinet.Poll{Ack: r.Events[0].Num}).(cabinet.PollReply)
	if len(r.Events) != 1 || r.Events[0].Kind != cabinet.EventDoorOpened {
		t.Fatalf("after ack 1 got %+v, want door_opened only", r.Events)
	}
	// An ack that is not in the queue removes nothing.
	r = do(t, c, 4, cabinet.Poll{Ack: 200}).(cabinet.PollReply)
	if len(r.Events) != 1 {
		t.Fatalf("after a foreign ack got %d events, want 1", len(r.Events))
	}
	r = do(t, c, 5, cabinet.Poll{Ack: r.Events[0].Num}).(cabinet.PollReply)
	if len(r.Events) != 0 || r.Door != cabinet.DoorOpen {
		t.Fatalf("got %+v, want no events and the door open", r)
	}
}

func TestQueueOverflow(t *testing.T) {
	c, _ := newCtrl(t)
	for range 12 { // 24 events + boot into a queue of 16
		c.OpenDoor()
		c.CloseDoor()
	}
	r := do(t, c, 2, cabinet.Poll{}).(cabinet.PollReply)
	if r.Flags&cabinet.FlagOverflow == 0 {
		t.Errorf("flags got %s, want overflow", r.Flags)
	}
	if len(r.Events) != cabinet.MaxPollEvents {
		t.Fatalf("got %d events, want %d", len(r.Events), cabinet.MaxPollEvents)
	}
	var overflow *cabinet.EventRecord
	for ack := r.Events[len(r.Events)-1].Num; overflow == nil; {
		r = do(t, c, ack, cabinet.Poll{Ack: ack}).(cabinet.PollReply)
		if len(r.Events) == 0 {
			t.Fatal("no overflow event")
		}
		for i, e := range r.Events {
			if e.Kind == cabinet.EventOverflow {
				overflow = &r.Events[i]
			}
		}
		ack = r.Events[len(r.Events)-1].Num
	}
	if overflow.Arg != 9 {
		t.Errorf("overflow arg got %d, want 9 events lost", overflow.Arg)
	}
}

// §4: a retry (same SEQ and TYPE) is answered from memory, not executed again.
func TestDuplicateSuppression(t *testing.T) {
	c, clk := newCtrl(t)
	first := do(t, c, 7, cabinet.Unlock{Seconds: 10}).(cabinet.CommandReply)
	clk.advance(4 * time.Second)
	again := do(t, c, 7, cabinet.Unlock{Seconds: 10}).(cabinet.CommandReply)
	if again != first {
		t.Errorf("retry got %+v, want the remembered %+v", again, first)
	}
	if got := c.Status().UnlockLeft; got != 6 {
		t.Errorf("unlock left got %d s, want 6 (the retry must not restart the timer)", got)
	}
	// A new sequence number executes.
	do(t, c, 8, cabinet.Unlock{Seconds: 10})
	if got := c.Status().UnlockLeft; got != 10 {
		t.Errorf("unlock left got %d s, want 10", got)
	}
	// HELLO clears the memory: seq 8 again is a new request.
	do(t, c, 9, cabinet.Hello{Min: 1, Max: 1})
	before := c.Executed()
	do(t, c, 8, cabinet.LockRequest{})
	if c.Executed() != before+1 {
		t.Error("request after HELLO was answered from stale memory")
	}
}

func TestUnlockTimerAndDoor(t *testing.T) {
	c, clk := newCtrl(t)
	do(t, c, 2, cabinet.Unlock{Seconds: 5})
	c.OpenDoor()
	wantRefusal(t, do(t, c, 3, cabinet.LockRequest{}), cabinet.CodeDoorOpen)
	clk.advance(6 * time.Second)
	if s := c.Status(); s.Lock != cabinet.Unlocked || s.UnlockLeft != 0 {
		t.Errorf("door open after the timer: got %s %d s, want unlocked 0 s", s.Lock, s.UnlockLeft)
	}
	c.CloseDoor()
	if s := c.Status(); s.Lock != cabinet.Locked {
		t.Errorf("after closing: got %s, want locked", s.Lock)
	}
	do(t, c, 4, cabinet.Unlock{Seconds: 5})
	clk.advance(5 * time.Second)
	r := do(t, c, 5, cabinet.Poll{}).(cabinet.PollReply)
	if r.Lock != cabinet.Locked {
		t.Fatalf("after the timer with the door shut: got %s, want locked", r.Lock)
	}
	last := r.Events[len(r.Events)-1]
	if last.Kind != cabinet.EventLocked || last.Arg != 1 || last.Age != 0 {
		t.Errorf("last event got %+v, want automatic locked, age 0", last)
	}
}

func TestFaults(t *testing.T) {
	c, _ := newCtrl(t)
	c.SetTamper(true)
	wantRefusal(t, do(t, c, 2, cabinet.Unlock{Seconds: 5}), cabinet.CodeTamperLockout)
	c.SetTamper(false)
	c.JamLock(true)
	wantRefusal(t, do(t, c, 3, cabinet.Unlock{Seconds: 5}), cabinet.CodeLockFault)
	if s := c.Status(); s.Lock != cabinet.LockFault {
		t.Errorf("jammed: got %s, want fault", s.Lock)
	}
	wantRefusal(t, do(t, c, 4, cabinet.Unlock{Seconds: 0}), cabinet.CodeBadPayload)
	b := c.Handle(cabinet.Frame{Addr: 3, Seq: 5, Type: 0x30})
	f, _, err := cabinet.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r0, err := f.Message()
	if err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, r0, cabinet.CodeUnknownType)
	c.SetSilent(true)
	if b := c.Handle(cabinet.NewFrame(3, 6, cabinet.StatusRequest{})); b != nil {
		t.Errorf("silent controller answered % X", b)
	}
	c.SetSilent(false)
	if b := c.Handle(cabinet.NewFrame(4, 6, cabinet.StatusRequest{})); b != nil {
		t.Error("controller answered a frame for another address")
	}
	c.Reboot()
	r := do(t, c, 7, cabinet.Hello{Min: 1, Max: 1}).(cabinet.HelloReply)
	if r.Boot != 2 {
		t.Errorf("boot after reboot got %d, want 2", r.Boot)
	}
}

func TestNewBusRejectsDuplicates(t *testing.T) {
	if _, err := NewBus(nil, New(1, Options{}), New(1, Options{})); err == nil {
		t.Error("two controllers at one address: got nil, want an error")
	}
	if _, err := NewBus(nil, New(0, Options{})); !errors.Is(err, cabinet.ErrAddress) {
		t.Errorf("address 0: got %v, want ErrAddress", err)
	}
}
