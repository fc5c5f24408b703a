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
//     and id turn every second copy into a counted no-op. Two custodyd instances on one $share
//     subscription have clean sessions (mqttconn): what a dead one held unacknowledged is gone
//     from the broker, and is asked for again (LostInTransit, and resync of every hole).
//   - Envelopes are stored by group commit: while one transaction commits, the next batch
//     gathers (up to Config.MaxBatch), so throughput grows with load and latency stays low.
//   - Per agent, custodyd knows the highest seq up to which everything is stored; when a later
//     seq is stored and a hole stays open longer than ResyncGrace, or when the agent comes
//     online, it publishes a signed resync command so the agent fills the hole from its outbox.
//   - Handler.HandleObservations is called after each commit with the newly stored envelopes, in
//     the order they arrived, from one goroutine; a Handler that is also an AvailabilityHandler
//     hears each enrolled agent's online/offline message.
//   - Ingest only consumes. It subscribes on custodyd's one MQTT connection (internal/mqttconn),
//     which carries commands, alerts and the summary out; ingest sends on it only the resync
//     commands, and tells it each stored cmd_result and each agent's availability, for Ask.
//
// Run owns every goroutine it starts; they all end when its context is cancelled and Run returns.
// The connection's message handler never blocks on anything but a channel drained by our own
// goroutine.
//
// Files by job: verify.go (the way in: every refusal, and the one MAC check), commit.go (group
// commit, acknowledgement, hand-off), resync.go and gaps.go (holes in each agent's seqs, and
// asking for them), places.go and keys.go (the register's answers, cached).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/mqttconn"
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

// Conn is what ingest needs of custodyd's MQTT connection; *mqttconn.Conn is one.
type Conn interface {
	// Subscribe sets ingest's subscription, before the connection runs.
	Subscribe(mqttconn.Subscription) error
	// Send signs and publishes a command (ingest's are resync requests).
	Send(ctx context.Context, agent, kind string, body any) (string, error)
	// Recipient is the agent a recent command went to ("" if none of ours): an answer from
	// another agent is refused.
	Recipient(cmd string) string
	// Answered and Availability tell Ask what it waits for: a stored cmd_result, an agent's
	// last availability.
	Answered(r wire.CmdResult)
	Availability(agent, state string)
}

// Config configures ingest. Everything has a default.
type Config struct {
	Base string // base topic; default wire.DefaultBase

	MaxBatch    int           // most envelopes per transaction; default 1024
	ResyncGrace time.Duration // how long a hole may stay open (out-of-order delivery) before a resync; default 1s
	ResyncRetry time.Duration // how often to ask again while it stays open; default 5s
	KeyTTL      time.Duration // how long a looked-up key or binding is trusted without Invalidate; default 1m

	// Queue is how many messages are buffered between the connection and the verifier; default
	// 4*MaxBatch. A batch is acknowledged only after its commit, so a broker that limits the
	// QoS 1 messages in flight per client caps a batch at that limit (mqttconn.Config.Connections).
	Queue int

	// Places says which agent each cabinet and desk is bound to; an observation about a place
	// not bound to its signer is dropped (not_bound) and handed to a RefusalHandler. custodyd
	// always sets it; only tests of the transport, which publish for unregistered places, leave
	// it nil.
	Places Places
}

func (c *Config) defaults() {
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
	if c.Queue <= 0 {
		c.Queue = 4 * c.MaxBatch
	}
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

	conn Conn

	msgs    chan mqttconn.Message // connection → verifier
	avail   chan string           // agents that came online → gap loop
	commits chan []item           // verifier → committer (unbuffered: group commit)
	resyncN chan struct{}         // (re)connected: ask every agent with a hole
	stopped chan struct{}         // closed when Run returns: the connection's handler stops waiting
	gaps    *gapBook

	// lostSince is when something may first have been lost in transit (LostInTransit; unix ns,
	// 0: nothing), lastMsg when the connection last handed us a message: the gap loop asks every
	// agent once the queue is quiet, or ResyncRetry after lostSince at the latest.
	lostSince atomic.Int64
	lastMsg   atomic.Int64

	mu  sync.Mutex
	ran bool
}

type item struct {
	msg     mqttconn.Message
	env     wire.Envelope
	refused string // not_bound or rebound: already counted (and reported); only its seq is recorded
}

// New checks the configuration and builds an ingest without any I/O, subscribed on conn (which
// must not be running yet). reg receives the metrics (nil: a private registry); handler may be nil.
func New(cfg Config, conn Conn, st Store, keys Keys, handler Handler, reg prometheus.Registerer, log *slog.Logger) (*Ingest, error) {
	cfg.defaults()
	if conn == nil || st == nil || keys == nil {
		return nil, errors.New("ingest: connection, store and key lookup are required")
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
		conn:    conn,
		keys:    newKeyCache(keys, cfg.KeyTTL),
		drops:   newDropLog(log),
		msgs:    make(chan mqttconn.Message, cfg.Queue),
		avail:   make(chan string, 256),
		commits: make(chan []item),
		resyncN: make(chan struct{}, 1),
		stopped: make(chan struct{}),
		gaps:    newGapBook(cfg.ResyncGrace, cfg.ResyncRetry),
	}
	if cfg.Places != nil {
		in.places = &placeCache{lookup: cfg.Places, ttl: cfg.KeyTTL, m: map[subject]placeEntry{}}
	}
	if err := conn.Subscribe(in.subscription()); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return in, nil
}

// LostInTransit says envelopes may have been lost between the agents and custodyd where no later
// seq need ever reveal it: the broker dropped messages it had queued for a subscriber whose queue
// was full, or another custodyd instance on the shared subscription went away holding some it had
// not acknowledged. Once nothing has arrived for ResyncGrace (a second at most) — the broker has
// handed over what it kept; asking while its queue is still full would only queue more to drop —
// or ResyncRetry later at the latest (a busy site is never quiet), ingest asks every agent for
// what follows its contiguous mark, as after its own reconnect. why is logged.
func (in *Ingest) LostInTransit(why string) {
	if in.lostSince.CompareAndSwap(0, time.Now().UnixNano()) {
		in.log.Warn("ingest: envelopes may have been lost in transit; every agent will be asked to resend what follows its mark", "why", why)
	}
}

// Invalidate forgets the cached key of agent, so a revocation or re-enrollment takes effect on
// the next envelope.
func (in *Ingest) Invalidate(agent string) { in.keys.invalidate(agent) }

// Run consumes until ctx is cancelled; the connection runs beside it. It returns nil after a
// clean stop.
func (in *Ingest) Run(ctx context.Context) error {
	in.mu.Lock()
	if in.ran {
		in.mu.Unlock()
		return errors.New("ingest: Run called twice")
	}
	in.ran = true
	in.mu.Unlock()
	defer close(in.stopped)

	// Messages wait in the queue until the marks are known: the verifier's seq bound needs them.
	states, err := in.st.ObservationSeqs(ctx)
	if err != nil {
		return fmt.Errorf("ingest: load seq states: %w", err)
	}
	in.noteStates(states, time.Now())

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); in.verify(ctx) }()
	go func() { defer wg.Done(); in.commit(ctx) }()
	go func() { defer wg.Done(); in.gapLoop(ctx) }()
	in.log.Info("ingest started", "filter", in.topics.ObsFilter())
	wg.Wait()
	in.log.Info("ingest stopped")
	return nil
}
