package mqttconn_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// fakeClient stands in for paho where what the connection asks of paho is the question: it
// records the calls and answers as told. The real broker is in ingest's and the daemon's tests.
type fakeClient struct {
	paho.Client // nil: only the five calls of mqttconn.Client are used (another one panics)
	opts        *paho.ClientOptions

	mu          sync.Mutex
	subFails    int  // SubscribeMultiple fails this many times before it succeeds
	dropOnFail  bool // and the connection is gone when it fails
	subscribed  []map[string]byte
	published   []string
	pubErr      error
	open        bool
	disconnects int
}

type doneToken struct{ err error }

func (t doneToken) Wait() bool                     { return true }
func (t doneToken) WaitTimeout(time.Duration) bool { return true }
func (t doneToken) Error() error                   { return t.err }
func (t doneToken) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Connect "connects" and runs the OnConnect handler on a goroutine of its own, as paho does.
func (f *fakeClient) Connect() paho.Token {
	f.mu.Lock()
	f.open = true
	f.mu.Unlock()
	go f.opts.OnConnect(f)
	return doneToken{}
}

func (f *fakeClient) Disconnect(uint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open = false
	f.disconnects++
}

func (f *fakeClient) SubscribeMultiple(filters map[string]byte, _ paho.MessageHandler) paho.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribed = append(f.subscribed, filters)
	if f.subFails > 0 {
		f.subFails--
		f.open = f.open && !f.dropOnFail
		return doneToken{err: errors.New("subscription timed out")}
	}
	return doneToken{}
}

func (f *fakeClient) Publish(topic string, _ byte, _ bool, _ any) paho.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, topic)
	return doneToken{err: f.pubErr}
}

func (f *fakeClient) IsConnectionOpen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (f *fakeClient) state() (subs []map[string]byte, disconnects int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]byte(nil), f.subscribed...), f.disconnects
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

// fakes makes the connection's clients, each a fakeClient prepared by prep (i: the connection).
type fakes struct {
	mu      sync.Mutex
	clients []*fakeClient
	prep    func(i int, f *fakeClient)
}

func (fs *fakes) newClient(o *paho.ClientOptions) mqttconn.Client {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := &fakeClient{opts: o}
	if fs.prep != nil {
		fs.prep(len(fs.clients), f)
	}
	fs.clients = append(fs.clients, f)
	return f
}

// client is the i-th client made, waiting up to 10 s for Run's goroutine to make it: a test that
// asks right after start ran ahead of Run and got nil (seen on a loaded machine).
func (fs *fakes) client(i int) *fakeClient {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		fs.mu.Lock()
		if i < len(fs.clients) {
			defer fs.mu.Unlock()
			return fs.clients[i]
		}
		fs.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type running struct {
	conn   *mqttconn.Conn
	fakes  *fakes
	logs   *syncBuffer
	subbed chan struct{}
	cancel context.CancelFunc
	done   chan error
}

// start runs a connection over fake clients with a subscription like ingest's.
func start(t *testing.T, cfg mqttconn.Config, prep func(i int, f *fakeClient)) *running {
	t.Helper()
	r := &running{fakes: &fakes{prep: prep}, logs: &syncBuffer{}, subbed: make(chan struct{}, 16), done: make(chan error, 1)}
	cfg.BrokerURL = "tcp://broker.invalid:1883"
	cfg.NewClient = r.fakes.newClient
	conn, err := mqttconn.New(cfg, openStore(t), nil, slog.New(slog.NewTextHandler(r.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Subscribe(mqttconn.Subscription{
		Shared:     map[string]byte{"custody/agents/+/obs": 1},
		First:      map[string]byte{"custody/agents/+/availability": 1},
		Receive:    func(context.Context, mqttconn.Message) {},
		Subscribed: func() { r.subbed <- struct{}{} },
	}); err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- conn.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// A failed subscription is retried while the connection lasts, never by Disconnect: an explicit
// Disconnect ends a paho client for good, and custodyd would stay off the broker until restarted
// (commit 4310546).
func TestFailedSubscriptionIsRetriedNotDisconnected(t *testing.T) {
	r := start(t, mqttconn.Config{}, func(_ int, f *fakeClient) { f.subFails = 2 })
	select {
	case <-r.subbed:
	case <-time.After(30 * time.Second): // two back-offs (1 s, 2 s) under CI's load
		t.Fatalf("not subscribed after two failures; log:\n%s", r.logs.String())
	}
	subs, disconnects := r.fakes.client(0).state()
	if len(subs) != 3 {
		t.Errorf("subscription attempts: got %d, want 3 (two failed, one made)", len(subs))
	}
	if disconnects != 0 {
		t.Errorf("Disconnect called %d times while subscribing, want never", disconnects)
	}
	if n := strings.Count(r.logs.String(), "mqtt subscribe failed; retrying"); n != 2 {
		t.Errorf("retry lines in the log: got %d, want 2", n)
	}
	if err := r.conn.Connected(); err != nil {
		t.Errorf("Connected after the subscription: %v, want nil", err)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.done <- nil // for the cleanup
	if _, disconnects := r.fakes.client(0).state(); disconnects != 1 {
		t.Errorf("Disconnect after Run's context ended: called %d times, want once", disconnects)
	}
}

// When the connection is gone, a failed subscription is left to the next connection's handler.
func TestSubscriptionOnALostConnectionIsLeftToTheNext(t *testing.T) {
	r := start(t, mqttconn.Config{}, func(_ int, f *fakeClient) { f.subFails, f.dropOnFail = 1, true })
	f := r.fakes.client(0)
	waitFor(t, 10*time.Second, func() bool { subs, _ := f.state(); return len(subs) > 0 }, "the first subscription attempt")
	select {
	case <-r.subbed:
		t.Fatal("Subscribed was told although the subscription failed")
	case <-time.After(1500 * time.Millisecond): // past the first back-off
	}
	if subs, _ := f.state(); len(subs) != 1 {
		t.Errorf("subscription attempts on the lost connection: got %d, want 1", len(subs))
	}
	if strings.Contains(r.logs.String(), "retrying") {
		t.Errorf("a retry was logged for a connection that is gone:\n%s", r.logs.String())
	}
}

// Each connection subscribes to the shared filters — through a $share group when there are
// several connections or Share names one — and only the first to the others.
func TestFiltersPerConnection(t *testing.T) {
	tests := []struct {
		name  string
		cfg   mqttconn.Config
		conns int
		want  []map[string]byte
	}{
		{"one connection", mqttconn.Config{}, 1, []map[string]byte{
			{"custody/agents/+/obs": 1, "custody/agents/+/availability": 1},
		}},
		{"a share group", mqttconn.Config{Share: "site-a"}, 1, []map[string]byte{
			{"$share/site-a/custody/agents/+/obs": 1, "custody/agents/+/availability": 1},
		}},
		{"two connections", mqttconn.Config{ClientID: "cd", Connections: 2}, 2, []map[string]byte{
			{"$share/cd/custody/agents/+/obs": 1, "custody/agents/+/availability": 1},
			{"$share/cd/custody/agents/+/obs": 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.cfg, nil)
			for range tc.conns {
				select {
				case <-r.subbed:
				case <-time.After(10 * time.Second):
					t.Fatal("not subscribed")
				}
			}
			for i, want := range tc.want {
				subs, _ := r.fakes.client(i).state()
				if len(subs) != 1 || !reflect.DeepEqual(subs[0], want) {
					t.Errorf("connection %d subscribed to %v, want %v", i, subs, want)
				}
				if got := r.fakes.client(i).opts.ClientID; i > 0 && !strings.HasPrefix(got, tc.cfg.ClientID+"-") {
					t.Errorf("connection %d's client id: got %q, want %s-%d", i, got, tc.cfg.ClientID, i)
				}
				// A session shared with other instances is clean: a broker goes on handing a dead
				// instance's persistent session its share of the stream.
				if got, want := r.fakes.client(i).opts.CleanSession, tc.cfg.Share != ""; got != want {
					t.Errorf("connection %d's clean session: got %v, want %v", i, got, want)
				}
				// On a share the first connection's Last Will tells the other instances it died
				// (retained, at {base}/custodyd/{client id}); alone, there is nobody to tell.
				o := r.fakes.client(i).opts
				if want := tc.cfg.Share != "" && i == 0; o.WillEnabled != want {
					t.Errorf("connection %d's Last Will: %v, want %v", i, o.WillEnabled, want)
				} else if want && (o.WillTopic != "custody/custodyd/custodyd" || !o.WillRetained || string(o.WillPayload) != string(wire.Offline)) {
					t.Errorf("connection %d's Last Will: %q %q retained %v", i, o.WillTopic, o.WillPayload, o.WillRetained)
				}
			}
		})
	}
}

// A publish that fails makes Health say so until one succeeds; one custodyd would never hand
// the broker (over MaxPublish) is refused before it reaches paho.
func TestPublishFailureShowsInHealth(t *testing.T) {
	r := start(t, mqttconn.Config{}, nil)
	select {
	case <-r.subbed:
	case <-time.After(10 * time.Second):
		t.Fatal("not subscribed")
	}
	f := r.fakes.client(0)
	f.mu.Lock()
	f.pubErr = errors.New("not connected")
	f.mu.Unlock()
	ctx := context.Background()
	if err := r.conn.Publish(ctx, "custody/alerts", []byte(`{"id":"A-1"}`)); err == nil {
		t.Fatal("Publish on a failing client: nil, want the error")
	}
	if err := r.conn.Health(); err == nil || !strings.Contains(err.Error(), "publishing to the MQTT broker fails since") {
		t.Errorf("Health after a failed publish: %v, want publishing fails", err)
	}
	f.mu.Lock()
	f.pubErr = nil
	f.mu.Unlock()
	if err := r.conn.Publish(ctx, "custody/alerts", []byte(`{"id":"A-1"}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := r.conn.Health(); err != nil {
		t.Errorf("Health after a publish succeeded again: %v, want nil", err)
	}
	big := make([]byte, mqttconn.MaxPublish+1)
	if err := r.conn.Publish(ctx, "custody/summary", big); err == nil || !strings.Contains(err.Error(), "more than custodyd publishes") {
		t.Errorf("Publish of %d bytes: %v, want refused", len(big), err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"custody/alerts", "custody/alerts"}; !reflect.DeepEqual(f.published, want) {
		t.Errorf("handed to paho: %v, want %v (the oversized one refused before)", f.published, want)
	}
}

// Send and Publish before Run say the connection is not running; Send to an agent that is not
// enrolled is refused without a publish.
func TestSendBeforeRunAndToAStranger(t *testing.T) {
	st := openStore(t)
	conn, err := mqttconn.New(mqttconn.Config{BrokerURL: "tcp://broker.invalid:1883"}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Send(context.Background(), "agent-1", wire.KindLock, wire.Lock{Cabinet: "C-1"}); !errors.Is(err, mqttconn.ErrNotConnected) {
		t.Errorf("Send before Run: %v, want ErrNotConnected", err)
	}
	if err := conn.Publish(context.Background(), "custody/alerts", nil); !errors.Is(err, mqttconn.ErrNotConnected) {
		t.Errorf("Publish before Run: %v, want ErrNotConnected", err)
	}

	r := start(t, mqttconn.Config{}, nil)
	<-r.subbed
	if _, err := r.conn.Send(context.Background(), "ghost", wire.KindLock, wire.Lock{Cabinet: "C-1"}); err == nil || !strings.Contains(err.Error(), "unknown_agent") {
		t.Errorf("Send to an agent never enrolled: %v, want unknown_agent", err)
	}
	f := r.fakes.client(0)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.published) != 0 {
		t.Errorf("published for a stranger: %v", f.published)
	}
}

// Between custodyd's start and the first instant of Run's goroutine, /healthz is already served:
// the connection is within its connect grace then, not "not running" (a daemon test once read
// 503 there).
func TestHealthyWithinTheGraceBeforeRunIsScheduled(t *testing.T) {
	conn, err := mqttconn.New(mqttconn.Config{BrokerURL: "tcp://127.0.0.1:1", Base: "custody", ClientID: "custodyd", DisconnectGrace: time.Minute},
		openStore(t), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Health(); err != nil {
		t.Fatalf("health before Run, within the grace: %v, want ok", err)
	}
	if err := conn.Connected(); err == nil {
		t.Fatal("readiness before any connection: ok, want not ready")
	}
}
