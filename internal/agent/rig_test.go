package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/wire"
)

// The tests here run the real agent against real parts: the R2000 simulator on a pseudo-terminal
// opened with go.bug.st/serial, custodyd's embedded broker (mochi) with its real authentication
// and ACL, the outbox in a SQLite file, and a paho client standing where custodyd's ingest stands.

const agentID = "room-301"

// keys is the broker's credential lookup for these tests: one enrolled agent. (custodyd passes
// its register here; the agent tests do not need a register.)
type keys map[string][]byte

func (k keys) AgentKey(_ context.Context, id string) ([]byte, bool, error) {
	key, ok := k[id]
	if !ok {
		return nil, false, errors.New("unknown agent")
	}
	return key, false, nil
}

func testKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func startBroker(t testing.TB, addr string, key []byte) *broker.Broker {
	t.Helper()
	var b *broker.Broker
	var err error
	for range 50 { // the port of a broker just closed may take a moment to free
		b, err = broker.Start(context.Background(), broker.Config{Listen: addr}, keys{agentID: key}, nil)
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// cabinets is the scenario: C-07 on antennas 1 and 2, C-08 on antenna 3 of one reader.
func scenario() sim.Scenario {
	s := sim.Scenario{Seed: 11, Firmware: "2.3"}
	for i := range 6 {
		s.Tags = append(s.Tags, sim.Tag{EPC: fmt.Sprintf("E28011606000020A0B0C%04X", i), Antenna: 1 + i%2, RSSIDBm: -50 - i})
	}
	for i := range 3 {
		s.Tags = append(s.Tags, sim.Tag{EPC: fmt.Sprintf("E28011606000020A0B0D%04X", i), Antenna: 3, RSSIDBm: -55, ReadProbability: 0.6})
	}
	return s
}

// simReader is a simulated reader on a pty; replug gives it a new pty, as a USB reader unplugged
// and plugged back gets a new device node.
type simReader struct {
	t     testing.TB
	mu    sync.Mutex
	sim   *sim.R2000
	pty   *sim.PTY
	stop  context.CancelFunc
	done  chan error
	old   []chan error // simulators unplugged: they end once the agent lets go of the pty
	sc    sim.Scenario
	plugs int
	slow  bool // answer at 115200 baud, as a real serial line does, so a round takes a while
}

func newSimReader(t testing.TB, sc sim.Scenario) *simReader {
	r := &simReader{t: t, sc: sc}
	r.plug()
	t.Cleanup(func() {
		r.unplug()
		for _, d := range r.old {
			<-d
		}
	})
	return r
}

func (r *simReader) plug() {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := sim.NewR2000(r.sc)
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := sim.OpenPTY()
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var rw io.ReadWriter = p.Master
	if r.slow {
		rw = &throttled{ReadWriter: p.Master}
	}
	go func() { done <- s.Serve(ctx, rw) }()
	r.sim, r.pty, r.stop, r.done = s, p, cancel, done
	r.plugs++
}

func (r *simReader) unplug() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pty == nil {
		return
	}
	// The simulator's read on the master may only return once the other side is closed too, so
	// its end is awaited at cleanup, after the agent has stopped.
	r.stop()
	r.pty.Close()
	r.old = append(r.old, r.done)
	r.pty = nil
}

func (r *simReader) path() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pty == nil {
		return "", errors.New("unplugged")
	}
	return r.pty.Path, nil
}

func (r *simReader) device() *sim.R2000 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sim
}

func testConfig(t *testing.T, brokerURL string, key []byte) config.Config {
	t.Helper()
	src := fmt.Sprintf(`
[agent]
id = %q
key = "%s"
outbox = %q
health_listen = "127.0.0.1:0"
[mqtt]
brokers = [%q]
max_reconnect_interval = "1s"
[[reader]]
id = "r1"
driver = "r2000"
port = "/dev/null"
flip_target = true
  [[reader.antenna]]
  port = 1
  cabinet = "C-07"
  [[reader.antenna]]
  port = 2
  cabinet = "C-07"
  [[reader.antenna]]
  port = 3
  cabinet = "C-08"
[rounds]
quiet_passes = 3
max_passes = 30
time_limit = "20s"
[schedule]
every = "0s"
after_door_close = ["100ms"]
after_power_return = true
`, agentID, b64(key), filepath.Join(t.TempDir(), "outbox.db"), brokerURL)
	c, err := config.Parse([]byte(src), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runAgent opens and runs an agent whose reader r1 is the simulated reader.
func runAgent(t *testing.T, cfg config.Config, r *simReader, opt Options) (*Agent, func()) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	}
	if r != nil {
		opt.OpenPort = func(rc config.Reader) (Port, error) {
			p, err := r.path()
			if err != nil {
				return nil, err
			}
			rc.Port = p
			return openSerial(rc)
		}
	}
	a, err := Open(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("agent close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

func logLevel() slog.Level {
	if os.Getenv("AGENT_TEST_LOG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelError + 4
}

// obs is one observation as custodyd would receive it: parsed, MAC verified, body decoded.
type obs struct {
	env  wire.Envelope
	body wire.Body
}

// observer stands where custodyd's ingest stands: it logs in with the broker's internal
// credentials and checks every envelope exactly as ingest does.
type observer struct {
	t      testing.TB
	key    []byte
	client paho.Client
	mu     sync.Mutex
	got    []obs
	avail  []string
	notify chan struct{}
	topics wire.Topics
	agent  string
	mac    string // the MAC the agent was enrolled with: wire.MACSHA256 unless a test says
}

func newObserver(t testing.TB, b *broker.Broker, key []byte) *observer {
	t.Helper()
	user, pass := b.InternalCredentials()
	return newObserverAt(t, b.URL(), user, pass, wire.Topics{}, agentID, key)
}

// newObserverAt connects to any broker (Mosquitto too) under a base topic.
func newObserverAt(t testing.TB, url, user, pass string, topics wire.Topics, agent string, key []byte) *observer {
	t.Helper()
	o := &observer{t: t, key: key, notify: make(chan struct{}, 1), topics: topics, agent: agent, mac: wire.MACSHA256}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID("observer-" + newID()[:6]).SetUsername(user).SetPassword(pass).
		SetOrderMatters(true).SetAutoReconnect(false)
	o.client = paho.NewClient(opts)
	if tok := o.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	tok := o.client.Subscribe(topics.ObsFilter(), 1, func(_ paho.Client, m paho.Message) {
		env, err := wire.Parse(m.Payload(), wire.DirObs)
		if err != nil {
			t.Errorf("observation refused by the contract: %v: %s", err, m.Payload())
			return
		}
		h, _ := cryptoprofile.MACHash(o.mac)
		if err := env.VerifyWith(wire.DirObs, o.key, o.mac, h); err != nil {
			t.Errorf("observation seq %d: %v", env.Seq, err)
			return
		}
		body, err := env.DecodeBody(wire.DirObs)
		if err != nil {
			t.Errorf("observation seq %d kind %s: body refused: %v: %s", env.Seq, env.Kind, err, env.Body)
			return
		}
		o.mu.Lock()
		o.got = append(o.got, obs{env, body})
		o.mu.Unlock()
		select {
		case o.notify <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer subscribe: %v", tok.Error())
	}
	tok = o.client.Subscribe(topics.AvailabilityFilter(), 1, func(_ paho.Client, m paho.Message) {
		o.mu.Lock()
		o.avail = append(o.avail, string(m.Payload()))
		o.mu.Unlock()
	})
	tok.WaitTimeout(5 * time.Second)
	t.Cleanup(func() { o.client.Disconnect(0) })
	return o
}

// wait returns the first observation (from index from on) that match accepts, or fails the test.
func (o *observer) wait(from int, d time.Duration, what string, match func(obs) bool) (obs, int) {
	o.t.Helper()
	deadline := time.After(d)
	for {
		o.mu.Lock()
		for i := from; i < len(o.got); i++ {
			if match(o.got[i]) {
				g := o.got[i]
				o.mu.Unlock()
				return g, i
			}
		}
		o.mu.Unlock()
		select {
		case <-o.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			o.t.Fatalf("no %s within %s (got %d observations: %s)", what, d, o.count(), o.kinds())
		}
	}
}

func (o *observer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.got)
}

func (o *observer) all() []obs {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]obs(nil), o.got...)
}

func (o *observer) kinds() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := ""
	for _, g := range o.got {
		s += fmt.Sprintf("%d:%s ", g.env.Seq, g.env.Kind)
	}
	return s
}

// command publishes a signed command to the agent, as custodyd does.
func (o *observer) command(kind string, body any, at time.Time) string {
	o.t.Helper()
	id := "cmd-" + newID()[:10]
	h, _ := cryptoprofile.MACHash(o.mac)
	env, err := wire.SealWith(wire.DirCmd, o.mac, h, o.key, o.agent, "custodyd-boot", 1, id, at, kind, body)
	if err != nil {
		o.t.Fatal(err)
	}
	p, _ := env.Marshal()
	tok := o.client.Publish(o.topics.Cmd(o.agent), 1, false, p)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("publish command: %v", tok.Error())
	}
	return id
}

func isKind(kind string) func(obs) bool {
	return func(g obs) bool { return g.env.Kind == kind }
}

func inventoryOf(cabinet string) func(obs) bool {
	return func(g obs) bool {
		inv, ok := g.body.(*wire.Inventory)
		return ok && inv.Cabinet == cabinet
	}
}

func resultOf(cmd string) func(obs) bool {
	return func(g obs) bool {
		r, ok := g.body.(*wire.CmdResult)
		return ok && r.Cmd == cmd
	}
}

// inOrder checks that the seqs received, first copies only, run 1, 2, 3 … without a gap.
func inOrder(t *testing.T, got []obs) uint64 {
	t.Helper()
	var next uint64 = 1
	for _, g := range got {
		switch {
		case g.env.Seq == next:
			next++
		case g.env.Seq < next:
			// A resend after a reconnect: a duplicate custodyd drops by (agent, seq).
		default:
			t.Fatalf("seq %d arrived when %d was next: out of order or a gap", g.env.Seq, next)
		}
	}
	return next - 1
}
