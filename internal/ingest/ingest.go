// Package ingest receives observation envelopes over MQTT, verifies them, stores each exactly once
// and hands the new ones to the register side.
//
// Contract (firmware-protocol/mqtt.md §7):
//   - An envelope is applied only if it parses, names a known and unrevoked agent that matches its
//     topic, carries that agent's MAC, its body fits its kind's schema, and every cabinet or desk
//     it speaks for is bound to that agent in the register (DESIGN.md §5 rule 12). Anything else
//     is dropped, counted in custody_ingest_dropped_total{reason} and logged once with the
//     reason; a not_bound drop is also handed to a RefusalHandler, since it is an attack.
//   - A QoS 1 message is acknowledged only after its envelope is durably committed (or after it is
//     refused), so a crash at any point loses nothing: the broker delivers unacknowledged
//     messages again to the persistent session, and the database's unique keys on (agent, seq)
//     and id turn every second copy into a counted no-op. This also holds with two custodyd
//     instances on one $share subscription.
//   - Envelopes are stored by group commit: while one transaction commits, the next batch
//     gathers (up to Config.MaxBatch), so throughput grows with load and latency stays low.
//   - Per agent, custodyd knows the highest seq up to which everything is stored; when a later
//     seq is stored and a hole stays open longer than ResyncGrace, or when the agent comes
//     online, it publishes a signed resync command so the agent fills the hole from its outbox.
//   - Handler.HandleObservations is called after each commit with the newly stored envelopes, in
//     the order they arrived, from one goroutine; a Handler that is also an AvailabilityHandler
//     hears each enrolled agent's online/offline message.
//   - Ingest's connection is custodyd's one MQTT client: Send publishes signed commands and
//     Publish custodyd's own announcements on it; Ask sends a command and waits for the agent's
//     cmd_result (after its commit), refusing at once an agent whose last word was offline.
//
// Run owns every goroutine it starts; they all end when its context is cancelled and Run returns.
// The paho traps (field.md) are avoided here: the message handler never blocks on anything but a
// channel drained by our own goroutine, subscriptions are made in OnConnect, the session is
// persistent with a fixed client id, and acknowledgements are manual.
package ingest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// Store is where observations go; *store.Store satisfies it.
type Store interface {
	StoreObservations(ctx context.Context, obs []store.Observation) ([]store.Outcome, []store.SeqState, error)
	SkipObservations(ctx context.Context, agent string, oldest uint64) (store.SeqState, error)
	ObservationSeqs(ctx context.Context) ([]store.SeqState, error)
	ObservationHoles(ctx context.Context, agent string, after uint64, limit int, span uint64) ([]store.Hole, error)
}

// Keys looks up an agent's enrolled key; *store.Store satisfies it. An unknown agent is an error
// wrapping store.ErrNotFound; any other error is taken as transient.
type Keys interface {
	AgentKey(ctx context.Context, id string) (key []byte, revoked bool, err error)
}

// Handler receives newly stored observations after their commit. It runs on ingest's commit
// goroutine: it should return quickly (hand work off) or it slows ingest down.
type Handler interface {
	HandleObservations(ctx context.Context, obs []wire.Envelope)
}

// AvailabilityHandler is what a Handler also implements to hear agents come and go: state is
// "online" or "offline" (the agent's Last Will), at is when custodyd heard it — a retained
// message heard at start says how the agent is now, not since when. Only enrolled, unrevoked
// agents are passed on. It runs on ingest's verifier goroutine and must return quickly.
type AvailabilityHandler interface {
	HandleAvailability(agent, state string, at time.Time)
}

// Config configures ingest. BrokerURL is required; the rest has defaults.
type Config struct {
	BrokerURL string      // tcp://host:port, ssl://host:port (the embedded broker's URL, or Mosquitto's)
	Username  string      // the embedded broker's internal user, or custodyd's Mosquitto account
	Password  string      //
	TLS       *tls.Config // for ssl:// URLs; nil uses the system roots
	ClientID  string      // fixed, so the broker keeps our session across restarts; default "custodyd"
	Base      string      // base topic; default wire.DefaultBase
	Share     string      // if set, subscribe through $share/{Share}/… so several instances split the stream

	MaxBatch    int           // most envelopes per transaction; default 1024
	ResyncGrace time.Duration // how long a hole may stay open (out-of-order delivery) before a resync; default 1s
	ResyncRetry time.Duration // how often to ask again while it stays open; default 5s
	KeyTTL      time.Duration // how long a looked-up key is trusted without Invalidate; default 1m

	// DisconnectGrace is how long ingest may be away from the broker before Health says so;
	// default DisconnectGrace (custodyd: [mqtt] disconnect_grace).
	DisconnectGrace time.Duration

	// Connections > 1 opens that many connections (client ids ClientID, ClientID-1, …) on one
	// shared subscription, all feeding the same group commit. A broker that limits the QoS 1
	// messages in flight per client (Mosquitto's max_inflight_messages, 20 by default) caps a batch
	// at that limit, since we acknowledge only after the commit; more connections lift the cap.
	// Not with Mosquitto's use_username_as_clientid unless each has its own account. Default 1.
	Connections int
	Queue       int // messages buffered between paho and the verifier; default 4*MaxBatch

	// Places says which agent each cabinet and desk is bound to; an observation about a place
	// not bound to its signer is dropped (not_bound) and handed to a RefusalHandler. custodyd
	// always sets it; only tests of the transport, which publish for unregistered places, leave
	// it nil.
	Places Places
}

func (c *Config) defaults() error {
	if c.BrokerURL == "" {
		return errors.New("ingest: broker URL is required")
	}
	if c.ClientID == "" {
		c.ClientID = "custodyd"
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1024
	}
	if c.ResyncGrace <= 0 {
		c.ResyncGrace = time.Second
	}
	if c.ResyncRetry <= 0 {
		c.ResyncRetry = 5 * time.Second
	}
	if c.KeyTTL <= 0 {
		c.KeyTTL = time.Minute
	}
	if c.DisconnectGrace <= 0 {
		c.DisconnectGrace = DisconnectGrace
	}
	if c.Connections <= 0 {
		c.Connections = 1
	}
	if c.Queue <= 0 {
		c.Queue = 4 * c.MaxBatch
	}
	return nil
}

// Ingest is the MQTT consumer. Create it with New, run it with Run.
type Ingest struct {
	cfg     Config
	topics  wire.Topics
	st      Store
	keys    *keyCache
	places  *placeCache // nil: bindings are not checked (Config.Places)
	handler Handler
	log     *slog.Logger
	m       *metrics
	drops   *dropLog

	boot   string        // our own boot id, in command envelopes
	cmdSeq atomic.Uint64 // command seq: starts at the start time in µs so it grows across restarts

	msgs    chan paho.Message // paho handler → verifier
	avail   chan string       // agents that came online → gap loop
	commits chan []item       // verifier → committer (unbuffered: group commit)
	resyncN chan struct{}     // (re)connected: ask every agent with a hole
	gaps    *gapBook

	mu     sync.Mutex
	client paho.Client
	ran    bool

	answers *answers // cmd_results and availability, for Ask
	health  health
}

type item struct {
	msg     paho.Message
	env     wire.Envelope
	refused string // not_bound or rebound: already counted (and reported); only its seq is recorded
}

// New checks the configuration and builds an ingest without any I/O. reg receives the metrics
// (nil: a private registry); handler may be nil.
func New(cfg Config, st Store, keys Keys, handler Handler, reg prometheus.Registerer, log *slog.Logger) (*Ingest, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if st == nil || keys == nil {
		return nil, errors.New("ingest: store and key lookup are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	in := &Ingest{
		cfg: cfg, topics: wire.Topics{Base: cfg.Base}, st: st, handler: handler, log: log, m: m,
		keys:    newKeyCache(keys, cfg.KeyTTL),
		drops:   newDropLog(log),
		boot:    randomID(),
		msgs:    make(chan paho.Message, cfg.Queue),
		avail:   make(chan string, 256),
		commits: make(chan []item),
		resyncN: make(chan struct{}, 1),
		gaps:    newGapBook(cfg.ResyncGrace, cfg.ResyncRetry),
		answers: newAnswers(),
	}
	if cfg.Places != nil {
		in.places = &placeCache{lookup: cfg.Places, ttl: cfg.KeyTTL, m: map[subject]placeEntry{}}
	}
	in.cmdSeq.Store(uint64(time.Now().UnixMicro()))
	// The connect grace counts from custodyd's start, not from the instant Run's goroutine is
	// first scheduled: /healthz is served as soon as the HTTP listener is up, and said "ingest is
	// not running" (503) in the moments before.
	in.health.started = time.Now()
	return in, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Invalidate forgets the cached key of agent, so a revocation or re-enrollment takes effect on
// the next envelope.
func (in *Ingest) Invalidate(agent string) { in.keys.invalidate(agent) }

// Run connects and consumes until ctx is cancelled. It returns nil after a clean stop.
func (in *Ingest) Run(ctx context.Context) error {
	in.mu.Lock()
	if in.ran {
		in.mu.Unlock()
		return errors.New("ingest: Run called twice")
	}
	in.ran = true
	in.mu.Unlock()
	in.health.mu.Lock()
	in.health.started = time.Now()
	in.health.mu.Unlock()

	states, err := in.st.ObservationSeqs(ctx)
	if err != nil {
		return fmt.Errorf("ingest: load seq states: %w", err)
	}
	in.noteStates(states, time.Now())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	clients := make([]paho.Client, in.cfg.Connections)
	for i := range clients {
		clients[i] = paho.NewClient(in.options(ctx, i))
	}
	in.mu.Lock()
	in.client = clients[0]
	in.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); in.verify(ctx) }()
	go func() { defer wg.Done(); in.commit(ctx) }()
	go func() { defer wg.Done(); in.gapLoop(ctx) }()

	in.log.Info("ingest started", "broker", in.cfg.BrokerURL, "client_id", in.cfg.ClientID, "connections", len(clients), "filter", in.obsFilter())
	for _, c := range clients {
		c.Connect() // retries in the background until it succeeds or Disconnect
	}
	<-ctx.Done()
	for _, c := range clients {
		c.Disconnect(250)
	}
	wg.Wait()
	in.log.Info("ingest stopped", "broker", in.cfg.BrokerURL)
	return nil
}
