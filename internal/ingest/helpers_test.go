package ingest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
	"github.com/custodyhq/custody/internal/testenv"
	"github.com/custodyhq/custody/internal/wire"
)

// openStore opens the register at path, or a fresh one on the run's store (storetest) when path
// is empty.
func openStore(t testing.TB, path string) *store.Store {
	t.Helper()
	if path == "" {
		path = storetest.Target(t)
	}
	st, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func enroll(t testing.TB, st *store.Store, id string) []byte {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO agents(id, key, created_at) VALUES (?,?,?)`, id, k, store.Now())
		return err
	})
	if err != nil {
		t.Fatalf("enroll %s: %v", id, err)
	}
	return k
}

func revoke(t testing.TB, st *store.Store, id string) {
	t.Helper()
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE agents SET revoked_at = ? WHERE id = ?`, store.Now(), id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// doors counts the door observations of agent: what the tests publish (the agent's cmd_result
// answers to resync are stored too, and are counted apart).
func doors(t testing.TB, st *store.Store, agent string) int64 {
	t.Helper()
	var n int64
	if err := st.DB().QueryRow(`SELECT count(*) FROM observations WHERE agent = ? AND kind = 'door'`, agent).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func rows(t testing.TB, st *store.Store, agent string) int64 {
	t.Helper()
	n, err := st.ObservationCount(context.Background(), agent)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// env is a test's view of one MQTT broker: where to connect and how custodyd logs in.
type env struct {
	url        string
	user, pass string // custodyd's credential ("" on an anonymous broker)
	base       string
	auth       bool // the broker checks agent passwords
	tls        *tls.Config
	ca         string // the CA file behind tls, for child processes
	restart    func(t testing.TB)

	ingests *ingests // told when the embedded broker drops queued messages
}

// ingests are those started on an embedded broker: it tells each when it drops queued messages,
// as custodyd's does (broker.Config.Dropped).
type ingests struct {
	mu   sync.Mutex
	list []*ingest.Ingest
	n    atomic.Int64 // messages the broker dropped
}

func (is *ingests) add(in *ingest.Ingest) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.list = append(is.list, in)
}

func (is *ingests) dropped(n int64) {
	is.n.Add(n)
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, in := range is.list {
		in.LostInTransit("the broker dropped messages queued for a full subscriber")
	}
}

// embedded starts custodyd's embedded broker on a free port. restart closes it and starts a new
// one on the same port: every session and queued message in the broker is lost.
func embedded(t testing.TB, st *store.Store) *env {
	t.Helper()
	return embeddedQueue(t, st, 0)
}

// embeddedQueue is embedded with at most maxInflight QoS 1 messages queued per client (0: the
// default); beyond it the broker drops them.
func embeddedQueue(t testing.TB, st *store.Store, maxInflight int) *env {
	t.Helper()
	blog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &env{base: wire.DefaultBase, auth: true, ingests: &ingests{}}
	b, err := broker.Start(context.Background(), broker.Config{Listen: "127.0.0.1:0", MaxInflight: maxInflight, Dropped: e.ingests.dropped}, st, blog)
	if err != nil {
		t.Fatalf("broker: %v", err)
	}
	var mu sync.Mutex
	cur := b
	t.Cleanup(func() { mu.Lock(); cur.Close(); mu.Unlock() })
	u, p := b.InternalCredentials()
	e.url, e.user, e.pass = b.URL(), u, p
	addr := b.Addr()
	e.restart = func(t testing.TB) {
		mu.Lock()
		defer mu.Unlock()
		cur.Close()
		var err error
		for i := 0; i < 50; i++ {
			cur, err = broker.Start(context.Background(), broker.Config{Listen: addr, InternalUser: u, InternalPassword: p, MaxInflight: maxInflight, Dropped: e.ingests.dropped}, st, blog)
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("restart broker: %v", err)
		}
	}
	return e
}

// mosquitto is the system Mosquitto on 127.0.0.1:1883 (anonymous, as CI starts it), under a base
// topic of this test's own so parallel runs do not meet.
func mosquitto(t testing.TB) *env {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		testenv.Unavailable(t, fmt.Sprintf("Mosquitto is not running on 127.0.0.1:1883 (CI starts it): %v", err))
	}
	c.Close()
	return &env{url: "tcp://127.0.0.1:1883", base: "custody-test-" + randHex(4)}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// running is one ingest started by a test.
type running struct {
	in      *ingest.Ingest
	conn    *mqttconn.Conn
	reg     *prometheus.Registry
	handler *countingHandler
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

// countingHandler records every envelope handed over after commit.
type countingHandler struct {
	mu    sync.Mutex
	seen  map[string]int // agent/seq → times handed over
	kinds map[string]int
	avail []string // "agent state", in the order heard
	n     atomic.Int64
	gate  chan struct{} // when set, each hand-over waits until it is closed: a stalled register side
}

// stall makes the hand-over after each commit wait until the returned func is called; ingest
// commits nothing more (and so acknowledges nothing more) meanwhile.
func (h *countingHandler) stall() (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate = make(chan struct{})
	return sync.OnceFunc(func() { close(h.gate) })
}

func (h *countingHandler) HandleAvailability(agent, state string, _ time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.avail = append(h.avail, agent+" "+state)
}

func (h *countingHandler) heard() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.avail...)
}

func (h *countingHandler) HandleObservations(ctx context.Context, obs []wire.Envelope) {
	h.mu.Lock()
	gate := h.gate
	h.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range obs {
		h.seen[fmt.Sprintf("%s/%d", e.Agent, e.Seq)]++
		h.kinds[e.Kind]++
	}
	h.n.Add(int64(len(obs)))
}

func (h *countingHandler) kind(k string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.kinds[k]
}

func (h *countingHandler) twice() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, n := range h.seen {
		if n != 1 {
			out = append(out, fmt.Sprintf("%s×%d", k, n))
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startIngest(t testing.TB, e *env, st *store.Store, tweak func(c *ingest.Config, m *mqttconn.Config)) *running {
	t.Helper()
	cfg := ingest.Config{Base: e.base, ResyncGrace: 300 * time.Millisecond, ResyncRetry: time.Second}
	ccfg := connConfig(e, "custodyd-test-"+randHex(4))
	if tweak != nil {
		tweak(&cfg, &ccfg)
	}
	r := &running{reg: prometheus.NewRegistry(), handler: &countingHandler{seen: map[string]int{}, kinds: map[string]int{}}, logs: &syncBuffer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.in, r.conn = newIngest(t, cfg, ccfg, st, r.handler, r.reg, log)
	if e.ingests != nil {
		e.ingests.add(r.in)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- runIngest(ctx, r.conn, r.in) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if !e.auth {
			forgetSession(e, ccfg.ClientID)
		}
	})
	waitFor(t, 10*time.Second, func() bool { return gauge(r.reg, "custody_ingest_connected") == 1 }, "ingest to connect")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(r.logs.String(), "mqtt connected and subscribed") }, "ingest to subscribe")
	return r
}

// connConfig is custodyd's connection to e's broker under clientID.
func connConfig(e *env, clientID string) mqttconn.Config {
	return mqttconn.Config{BrokerURL: e.url, Username: e.user, Password: e.pass, TLS: e.tls, Base: e.base, ClientID: clientID}
}

// newIngest builds custodyd's MQTT connection and ingest on it, as the daemon does.
func newIngest(t testing.TB, cfg ingest.Config, ccfg mqttconn.Config, st *store.Store, h ingest.Handler, reg prometheus.Registerer, log *slog.Logger) (*ingest.Ingest, *mqttconn.Conn) {
	t.Helper()
	conn, err := mqttconn.New(ccfg, st, reg, log)
	if err != nil {
		t.Fatalf("mqtt: %v", err)
	}
	in, err := ingest.New(cfg, conn, st, st, h, reg, log)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return in, conn
}

// runIngest runs the connection and ingest until ctx ends, as custodyd's runners do.
func runIngest(ctx context.Context, conn *mqttconn.Conn, in *ingest.Ingest) error {
	connDone := make(chan error, 1)
	go func() { connDone <- conn.Run(ctx) }()
	err := in.Run(ctx)
	return errors.Join(err, <-connDone)
}

// forgetSession ends a persistent session a test left on the shared Mosquitto.
func forgetSession(e *env, clientID string) {
	o := paho.NewClientOptions().AddBroker(e.url).SetClientID(clientID).SetCleanSession(true).SetConnectTimeout(2 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
		c.Disconnect(50)
	}
}

func metricValue(reg *prometheus.Registry, name string, label string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			if label != "" && !hasLabel(m, label) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
		return sum
	}
	return 0
}

func hasLabel(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

func dropped(r *running, reason string) float64 {
	return metricValue(r.reg, "custody_ingest_dropped_total", reason)
}

func gauge(reg *prometheus.Registry, name string) float64 { return metricValue(reg, name, "") }

func waitFor(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agent is a real paho client behaving as custody-agent does on the wire: persistent session,
// Last Will, availability, an outbox keyed by seq, and resync answered from that outbox.
type agent struct {
	t      testing.TB
	id     string
	key    []byte
	topics wire.Topics
	c      paho.Client
	boot   string

	mu       sync.Mutex
	outbox   map[uint64][]byte
	oldest   uint64
	next     uint64
	resyncs  int
	resent   int // envelopes published again in answer to resyncs, so far
	cmds     chan []byte
	other    chan wire.Envelope // verified commands other than resync
	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
}

func newAgent(t testing.TB, e *env, id string, key []byte) *agent {
	t.Helper()
	a := &agent{t: t, id: id, key: key, topics: wire.Topics{Base: e.base}, boot: randHex(4),
		outbox: map[uint64][]byte{}, oldest: 1, next: 1, cmds: make(chan []byte, 64), other: make(chan wire.Envelope, 16), done: make(chan struct{})}
	ready := make(chan struct{})
	var subscribed sync.Once
	clientID := id
	if !e.auth {
		clientID = id + "-" + randHex(3)
	}
	o := paho.NewClientOptions().AddBroker(e.url).SetClientID(clientID).SetCleanSession(false).SetStore(mqttconn.NewStore()).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100*time.Millisecond).
		SetMaxReconnectInterval(500*time.Millisecond).SetOrderMatters(false).
		SetBinaryWill(a.topics.Availability(id), wire.Offline, 1, true).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe(a.topics.Cmd(id), 1, func(_ paho.Client, m paho.Message) {
				select {
				case a.cmds <- m.Payload():
				case <-a.done:
				}
			}).WaitTimeout(5 * time.Second)
			subscribed.Do(func() { close(ready) })
			c.Publish(a.topics.Availability(id), 1, true, wire.Online)
		})
	if e.auth {
		o.SetUsername(id).SetPassword(base64.StdEncoding.EncodeToString(key))
	}
	if e.tls != nil {
		o.SetTLSConfig(e.tls)
	}
	a.c = paho.NewClient(o)
	if tok := a.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent %s connect: %v", id, tok.Error())
	}
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("agent %s did not subscribe to its commands", id)
	}
	a.wg.Add(1)
	go a.serveCommands()
	t.Cleanup(func() {
		a.stop()
		if !e.auth {
			forgetSession(e, clientID)
		}
	})
	return a
}

func (a *agent) stop() {
	a.stopOnce.Do(func() {
		close(a.done)
		a.wg.Wait()
		a.c.Disconnect(100)
	})
}

// serveCommands answers resync from the outbox, like the real agent does.
func (a *agent) serveCommands() {
	defer a.wg.Done()
	for {
		select {
		case <-a.done:
			return
		case p := <-a.cmds:
			e, err := wire.Parse(p, wire.DirCmd)
			if err != nil || e.Verify(wire.DirCmd, a.key) != nil {
				continue
			}
			if e.Kind != wire.KindResync {
				select {
				case a.other <- e:
				default:
				}
				continue
			}
			b, err := e.DecodeBody(wire.DirCmd)
			if err != nil {
				continue
			}
			rs := b.(*wire.Resync)
			a.mu.Lock()
			a.resyncs++
			from, to := max(rs.From, a.oldest), a.next-1
			if rs.To != 0 {
				to = min(to, rs.To)
			}
			var again [][]byte
			for s := from; s <= to; s++ {
				if p, ok := a.outbox[s]; ok {
					again = append(again, p)
				}
			}
			oldest := a.oldest
			a.mu.Unlock()
			for _, p := range again {
				a.c.Publish(a.topics.Obs(a.id), 1, false, p)
				a.mu.Lock()
				a.resent++
				a.mu.Unlock()
			}
			yes := true
			a.publish(wire.KindCmdResult, wire.CmdResult{Cmd: e.ID, Kind: wire.KindResync, OK: &yes, Oldest: oldest}, true)
		}
	}
}

// seal makes the next observation and keeps it in the outbox.
func (a *agent) seal(kind string, body any) (uint64, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	seq := a.next
	a.next++
	e, err := wire.Seal(wire.DirObs, a.key, a.id, a.boot, seq, fmt.Sprintf("%s-%s-%d", a.id, a.boot, seq), time.Now(), kind, body)
	if err != nil {
		a.t.Errorf("seal: %v", err)
	}
	p, _ := e.Marshal()
	a.outbox[seq] = p
	return seq, p
}

// publish seals and sends one observation; send=false keeps it in the outbox only (a message
// lost on the way).
func (a *agent) publish(kind string, body any, send bool) (uint64, []byte) {
	seq, p := a.seal(kind, body)
	if send {
		a.c.Publish(a.topics.Obs(a.id), 1, false, p)
	}
	return seq, p
}

func (a *agent) raw(p []byte) paho.Token { return a.c.Publish(a.topics.Obs(a.id), 1, false, p) }

func door(i int) wire.Door {
	state := "open"
	if i%2 == 1 {
		state = "closed"
	}
	return wire.Door{Cabinet: "C-" + fmt.Sprint(i%7), State: state}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func (a *agent) resyncCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resyncs
}

// state says, for a failing test's log, how far the agent got: the resyncs it heard, what it
// published again, and how many commands wait unread.
func (a *agent) state() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("agent heard %d resyncs, published %d again, next seq %d, %d commands unread", a.resyncs, a.resent, a.next, len(a.cmds))
}

// relay forwards TCP connections to addr until cut, which drops every connection at once without
// an MQTT DISCONNECT — to the broker it looks like a pulled network cable.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRelay(t testing.TB, addr string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(r.cut)
	return r
}

func (r *relay) url() string { return "tcp://" + r.ln.Addr().String() }

func (r *relay) cut() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
