package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// brokers runs a test against the embedded broker and against Mosquitto on 127.0.0.1:1883.
func brokers(t *testing.T, f func(t *testing.T, st *store.Store, e *env)) {
	t.Run("embedded", func(t *testing.T) {
		st := openStore(t, "")
		f(t, st, embedded(t, st))
	})
	t.Run("mosquitto", func(t *testing.T) {
		st := openStore(t, "")
		f(t, st, mosquitto(t))
	})
}

func TestSameEnvelopeThreeTimesAppliedOnce(t *testing.T) {
	brokers(t, func(t *testing.T, st *store.Store, e *env) {
		key := enroll(t, st, "agent-1")
		r := startIngest(t, e, st, nil)
		a := newAgent(t, e, "agent-1", key)
		const n = 200
		for i := 0; i < n; i++ {
			_, p := a.publish(wire.KindDoor, door(i), false)
			for k := 0; k < 3; k++ {
				a.raw(p)
			}
		}
		waitFor(t, 20*time.Second, func() bool { return dropped(r, "duplicate") >= 2*n && doors(t, st, "agent-1") == n }, "the duplicates to be counted")
		time.Sleep(200 * time.Millisecond)
		if got := doors(t, st, "agent-1"); got != n {
			t.Errorf("rows: got %d, want %d", got, n)
		}
		if got := r.handler.kind(wire.KindDoor); got != n {
			t.Errorf("handed to the register side: got %d, want %d", got, n)
		}
		if tw := r.handler.twice(); len(tw) > 0 {
			t.Errorf("handed over more than once: %v", tw)
		}
		// Each envelope came three times, plus whatever the agent sent again when it was asked to
		// resync after coming online: at least two duplicates each.
		if got := dropped(r, "duplicate"); got < 2*n {
			t.Errorf("duplicates counted: got %v, want at least %d", got, 2*n)
		}
	})
}

func TestOutOfOrderAppliedOnceEach(t *testing.T) {
	brokers(t, func(t *testing.T, st *store.Store, e *env) {
		key := enroll(t, st, "agent-1")
		r := startIngest(t, e, st, nil)
		a := newAgent(t, e, "agent-1", key)
		const n = 500
		payloads := make([][]byte, n)
		for i := range payloads {
			_, payloads[i] = a.seal(wire.KindDoor, door(i))
		}
		// Reverse pairs and blocks: 2,1,4,3,… then the last block backwards.
		var order []int
		for i := 0; i+1 < n-100; i += 2 {
			order = append(order, i+1, i)
		}
		for i := n - 1; i >= n-100; i-- {
			order = append(order, i)
		}
		for _, i := range order {
			a.raw(payloads[i])
		}
		waitFor(t, 20*time.Second, func() bool { return doors(t, st, "agent-1") == n }, fmt.Sprintf("%d rows", n))
		time.Sleep(300 * time.Millisecond) // any resync answer arrives as duplicates
		if got := doors(t, st, "agent-1"); got != n {
			t.Errorf("rows: got %d, want %d", got, n)
		}
		if got := r.handler.kind(wire.KindDoor); got != n {
			t.Errorf("handed over: got %d, want %d", got, n)
		}
		if tw := r.handler.twice(); len(tw) > 0 {
			t.Errorf("handed over more than once: %v", tw)
		}
		waitFor(t, 5*time.Second, func() bool { return gauge(r.reg, "custody_ingest_open_gaps") == 0 }, "no open gap")
	})
}

func TestGapIsFilledByResync(t *testing.T) {
	brokers(t, func(t *testing.T, st *store.Store, e *env) {
		key := enroll(t, st, "agent-1")
		r := startIngest(t, e, st, nil)
		a := newAgent(t, e, "agent-1", key)
		for i := 1; i <= 20; i++ {
			a.publish(wire.KindDoor, door(i), i != 5 && i != 6 && i != 13) // three lost on the way
		}
		// The agent answers resync from its outbox; ingest stores the holes and nothing twice.
		waitFor(t, 20*time.Second, func() bool { return doors(t, st, "agent-1") == 20 }, "the holes to be filled")
		if got := metricValue(r.reg, "custody_ingest_resync_requests_total", ""); got < 1 {
			t.Errorf("resync requests: got %v, want at least 1", got)
		}
		waitFor(t, 5*time.Second, func() bool { return gauge(r.reg, "custody_ingest_open_gaps") == 0 }, "the gap to close")
		if tw := r.handler.twice(); len(tw) > 0 {
			t.Errorf("handed over more than once: %v", tw)
		}
		// 20 doors plus one cmd_result per resync answered.
		a.mu.Lock()
		want := int64(a.next - 1)
		a.mu.Unlock()
		waitFor(t, 5*time.Second, func() bool { return rows(t, st, "agent-1") == want }, fmt.Sprintf("%d rows", want))
	})
}

func TestUnfillableGapIsClosedByOldest(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, nil)
	a := newAgent(t, e, "agent-1", key)
	// The agent's outbox was pruned: it starts at seq 10 and holds nothing below.
	a.mu.Lock()
	a.next, a.oldest = 10, 10
	a.mu.Unlock()
	a.publish(wire.KindDoor, door(1), true)
	a.publish(wire.KindDoor, door(2), true)
	waitFor(t, 10*time.Second, func() bool { return gauge(r.reg, "custody_ingest_open_gaps") == 0 && rows(t, st, "agent-1") >= 3 },
		"the agent's cmd_result to close the gap")
	if got := metricValue(r.reg, "custody_ingest_lost_total", ""); got != 9 {
		t.Errorf("lost seqs: got %v, want 9", got)
	}
	if !contains(r.logs.String(), "observations lost for good") {
		t.Errorf("no warning about the seqs the agent no longer holds")
	}
}

// TestBadInputDropped sends each kind of bad input through the embedded broker with the internal
// credential (which may publish anywhere, so the broker's ACL does not stop it first) and checks
// that it is dropped, counted by reason, logged once, and nothing is applied.
func TestBadInputDropped(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	otherKey := enroll(t, st, "agent-2")
	revokedKey := enroll(t, st, "agent-r")
	revoke(t, st, "agent-r")
	r := startIngest(t, e, st, nil)

	pub := internalClient(t, e)
	tp := wire.Topics{}
	good := func(seq uint64, mut func(*wire.Envelope)) []byte {
		env, _ := wire.Seal(wire.DirObs, key, "agent-1", "b1", seq, fmt.Sprintf("m-%d", seq), time.Now(), wire.KindDoor, door(int(seq)))
		if mut != nil {
			mut(&env)
		}
		p, _ := json.Marshal(env)
		return p
	}
	resign := func(k []byte) func(*wire.Envelope) {
		return func(e *wire.Envelope) { e.MAC = e.ComputeMAC(wire.DirObs, k) }
	}
	// One good envelope first, so a replay has something to collide with.
	send(t, pub, tp.Obs("agent-1"), good(1, nil))
	waitFor(t, 5*time.Second, func() bool { return rows(t, st, "") == 1 }, "the good envelope")

	cases := []struct {
		reason  string
		topic   string
		payload []byte
	}{
		{"malformed", tp.Obs("agent-1"), []byte(`{"v":"1.0","agent":`)},
		{"bad_mac", tp.Obs("agent-1"), good(2, func(e *wire.Envelope) { e.MAC = "" })},
		{"bad_mac", tp.Obs("agent-1"), good(3, func(e *wire.Envelope) { e.MAC = strings.Repeat("ab", 32) })},
		{"bad_mac", tp.Obs("agent-1"), good(4, resign(otherKey))},
		{"unknown_agent", tp.Obs("ghost"), good(5, func(e *wire.Envelope) { e.Agent = "ghost"; resign(key)(e) })},
		{"revoked", tp.Obs("agent-r"), good(6, func(e *wire.Envelope) { e.Agent = "agent-r"; resign(revokedKey)(e) })},
		{"agent_mismatch", tp.Obs("agent-2"), good(7, nil)},
		{"duplicate", tp.Obs("agent-1"), good(1, nil)},
		{"seq_reused", tp.Obs("agent-1"), good(1, func(e *wire.Envelope) { e.ID = "m-other"; resign(key)(e) })},
		{"oversized", tp.Obs("agent-1"), append(good(8, nil), bytes.Repeat([]byte(" "), wire.MaxPayload)...)},
		{"unknown_kind", tp.Obs("agent-1"), good(9, func(e *wire.Envelope) { e.Kind = "teleport"; resign(key)(e) })},
		{"schema", tp.Obs("agent-1"), good(10, func(e *wire.Envelope) { e.Body = json.RawMessage(`{"cabinet":"C1","state":"ajar"}`); resign(key)(e) })},
		{"schema", tp.Obs("agent-1"), good(11, func(e *wire.Envelope) { e.Seq = 0; resign(key)(e) })},
		{"version", tp.Obs("agent-1"), good(12, func(e *wire.Envelope) { e.V = "2.0"; resign(key)(e) })},
	}
	want := map[string]float64{}
	for _, c := range cases {
		want[c.reason]++
		before := r.logs.String()
		send(t, pub, c.topic, c.payload)
		waitFor(t, 5*time.Second, func() bool { return dropped(r, c.reason) == want[c.reason] }, "drop counted as "+c.reason)
		added := strings.TrimPrefix(r.logs.String(), before)
		if n := strings.Count(added, "reason="+c.reason); n != 1 {
			t.Errorf("%s: logged %d times, want once:\n%s", c.reason, n, added)
		}
	}
	if got := rows(t, st, ""); got != 1 {
		t.Errorf("rows after bad input: got %d, want 1 (only the good envelope)", got)
	}
	if got := r.handler.n.Load(); got != 1 {
		t.Errorf("handed over: got %d, want 1", got)
	}
	for reason, n := range want {
		if got := dropped(r, reason); got != n {
			t.Errorf("dropped{%s}: got %v, want %v", reason, got, n)
		}
	}
}

// TestAvailabilityReachesTheHandler: an agent coming online and its Last Will when its connection
// drops reach the handler (custodyd's agent_offline alert hangs on this); availability of a revoked
// agent or a malformed one does not.
func TestAvailabilityReachesTheHandler(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	enroll(t, st, "agent-2")
	enroll(t, st, "agent-r")
	revoke(t, st, "agent-r")
	r := startIngest(t, e, st, nil)

	rl := newRelay(t, strings.TrimPrefix(e.url, "tcp://"))
	via := *e
	via.url = rl.url()
	newAgent(t, &via, "agent-1", key)
	waitFor(t, 5*time.Second, func() bool { return slices.Contains(r.handler.heard(), "agent-1 online") }, "agent-1 online")

	pub := internalClient(t, e)
	tp := wire.Topics{}
	send(t, pub, tp.Availability("agent-r"), wire.Offline)
	send(t, pub, tp.Availability("agent-2"), []byte(`{"state":"asleep"}`))
	waitFor(t, 5*time.Second, func() bool { return dropped(r, "revoked") == 1 && dropped(r, "schema") == 1 }, "both refused")

	rl.cut() // no DISCONNECT: the broker publishes agent-1's Last Will
	waitFor(t, 10*time.Second, func() bool { return slices.Contains(r.handler.heard(), "agent-1 offline") }, "agent-1's Last Will")
	for _, h := range r.handler.heard() {
		if !strings.HasPrefix(h, "agent-1 ") {
			t.Errorf("handed over %q", h)
		}
	}
}

func TestRevocationTakesEffectOnInvalidate(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, func(c *ingest.Config, _ *mqttconn.Config) { c.KeyTTL = time.Hour })
	pub := internalClient(t, e)
	env, _ := wire.Seal(wire.DirObs, key, "agent-1", "b1", 1, "m-1", time.Now(), wire.KindDoor, door(1))
	p, _ := env.Marshal()
	send(t, pub, wire.Topics{}.Obs("agent-1"), p)
	waitFor(t, 5*time.Second, func() bool { return rows(t, st, "") == 1 }, "the first envelope")

	revoke(t, st, "agent-1")
	r.in.Invalidate("agent-1")
	env, _ = wire.Seal(wire.DirObs, key, "agent-1", "b1", 2, "m-2", time.Now(), wire.KindDoor, door(2))
	p, _ = env.Marshal()
	send(t, pub, wire.Topics{}.Obs("agent-1"), p)
	waitFor(t, 5*time.Second, func() bool { return dropped(r, "revoked") == 1 }, "the revoked drop")
	if got := rows(t, st, ""); got != 1 {
		t.Errorf("rows: got %d, want 1", got)
	}
}

func TestSendSignsCommandsForTheAgent(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, nil)
	a := newAgent(t, e, "agent-1", key)
	id, err := r.conn.Send(context.Background(), "agent-1", wire.KindUnlock, wire.Unlock{Cabinet: "C-1", Seconds: 30})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	select {
	case env := <-a.other: // parsed and verified with the agent's key by the agent
		if env.ID != id || env.Agent != "agent-1" || env.Kind != wire.KindUnlock {
			t.Errorf("command: got id %q agent %q, want %q agent-1", env.ID, env.Agent, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the agent did not receive the command")
	}
	if _, err := r.conn.Send(context.Background(), "ghost", wire.KindLock, wire.Lock{Cabinet: "C-1"}); err == nil {
		t.Errorf("send to an unknown agent: got nil, want an error")
	}
	if _, err := r.conn.Send(context.Background(), "agent-1", wire.KindLock, wire.Lock{Cabinet: "bad cabinet"}); err == nil {
		t.Errorf("send with a bad body: got nil, want a schema error")
	}
}

func internalClient(t *testing.T, e *env) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(e.url).SetClientID("tester-" + randHex(3)).SetUsername(e.user).SetPassword(e.pass)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("internal client: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func send(t *testing.T, c paho.Client, topic string, p []byte) {
	t.Helper()
	tok := c.Publish(topic, 1, false, p)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}
