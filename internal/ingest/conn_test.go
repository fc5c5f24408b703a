package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// fakeConn is custodyd's connection as ingest sees it (ingest.Conn), for the questions a broker
// only blurs: at which instant ingest acknowledges a message, and what it asks an agent for.
// Everything else about ingest is tested against the embedded broker and Mosquitto.
type fakeConn struct {
	sub mqttconn.Subscription

	mu   sync.Mutex
	sent []sentCmd
}

type sentCmd struct {
	agent, kind string
	body        any
}

func (c *fakeConn) Subscribe(s mqttconn.Subscription) error { c.sub = s; return nil }
func (c *fakeConn) Recipient(string) string                 { return "" }
func (c *fakeConn) Answered(wire.CmdResult)                 {}
func (c *fakeConn) Availability(string, string)             {}

func (c *fakeConn) Send(_ context.Context, agent, kind string, body any) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, sentCmd{agent, kind, body})
	return fmt.Sprintf("cmd-%d", len(c.sent)), nil
}

func (c *fakeConn) commands() []sentCmd {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sentCmd(nil), c.sent...)
}

type fakeMessage struct {
	topic   string
	payload []byte
	ack     func()
}

func (m *fakeMessage) Topic() string   { return m.topic }
func (m *fakeMessage) Payload() []byte { return m.payload }
func (m *fakeMessage) Ack()            { m.ack() }

// A message is acknowledged only once its envelope is stored (else a crash between the two
// loses it), and a hole left by a lost seq is asked for, just that hole, after the grace.
func TestAcknowledgedAfterCommitAndHoleAskedFor(t *testing.T) {
	st := openStore(t, "")
	key := enroll(t, st, "agent-1")
	conn := &fakeConn{}
	in, err := ingest.New(ingest.Config{ResyncGrace: 100 * time.Millisecond, ResyncRetry: time.Hour}, conn, st, st, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()

	type acked struct {
		seq    uint64
		stored store.SeqState // the store's state for the agent at the instant of the Ack
	}
	acks := make(chan acked, 2)
	topics := wire.Topics{}
	for _, seq := range []uint64{1, 3} { // 2 is lost on the way
		e, err := wire.Seal(wire.DirObs, key, "agent-1", "boot-1", seq, fmt.Sprintf("agent-1-boot-1-%d", seq), time.Now(), wire.KindDoor, door(int(seq)))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := e.Marshal()
		conn.sub.Receive(ctx, &fakeMessage{topic: topics.Obs("agent-1"), payload: p, ack: func() {
			states, err := st.ObservationSeqs(context.Background())
			if err != nil {
				t.Errorf("read the store at the ack: %v", err)
			}
			var s store.SeqState
			for _, x := range states {
				if x.Agent == "agent-1" {
					s = x
				}
			}
			acks <- acked{seq, s}
		}})
	}
	for range 2 {
		select {
		case a := <-acks:
			if a.stored.MaxSeen < a.seq {
				t.Errorf("seq %d acknowledged while the store held up to %d: acknowledged before its commit", a.seq, a.stored.MaxSeen)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("not acknowledged within 30 s")
		}
	}

	waitFor(t, 30*time.Second, func() bool { return len(conn.commands()) > 0 }, "a resync request for the hole")
	got := conn.commands()[0]
	if r, ok := got.body.(wire.Resync); got.agent != "agent-1" || got.kind != wire.KindResync || !ok || r != (wire.Resync{From: 2, To: 2}) {
		t.Errorf("asked %s for %s %+v, want agent-1 for resync {From:2 To:2} (just the hole)", got.agent, got.kind, got.body)
	}
}
