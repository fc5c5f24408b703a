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
	"strconv"
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

	mu     sync.Mutex
	client paho.Client
	gaps   map[string]*gap
	marks  map[string]store.SeqState // each agent's stored seqs, as the last commit left them
	asked  map[string]time.Time      // when each agent was last asked for a full resync
	ran    bool

	answers *answers // cmd_results and availability, for Ask
	health  health
}

type item struct {
	msg     paho.Message
	env     wire.Envelope
	refused string // not_bound or rebound: already counted (and reported); only its seq is recorded
}

type gap struct {
	from      uint64 // first missing seq
	to        uint64 // last missing seq of the hole (0: unknown, through the latest)
	since     time.Time
	lastAsked time.Time

	// Holes up to askedThrough were asked for at askedAt; they are not asked again before
	// ResyncRetry has passed, so a hole the agent is still answering does not cause a storm of
	// requests each time the contiguous mark moves.
	askedThrough uint64
	askedAt      time.Time
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
		gaps:    map[string]*gap{},
		marks:   map[string]store.SeqState{},
		asked:   map[string]time.Time{},
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

// options configures connection i. Each has its own fixed client id and persistent session.
func (in *Ingest) options(ctx context.Context, i int) *paho.ClientOptions {
	id := in.cfg.ClientID
	if i > 0 {
		id += "-" + strconv.Itoa(i)
	}
	opts := paho.NewClientOptions().
		AddBroker(in.cfg.BrokerURL).
		SetClientID(id).
		SetUsername(in.cfg.Username).
		SetPassword(in.cfg.Password).
		SetCleanSession(false). // the broker keeps unacknowledged messages for us across our restarts
		SetStore(newCopyingStore()).
		SetAutoAckDisabled(true).
		SetOrderMatters(true). // one handler goroutine; it only does a channel send
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { in.receive(ctx, m) }).
		SetOnConnectHandler(func(c paho.Client) { in.onConnect(ctx, c, i) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			in.m.connected.Dec()
			in.health.lost(time.Now())
			in.log.Warn("mqtt connection lost", "broker", in.cfg.BrokerURL, "client_id", id, "err", err)
		})
	if in.cfg.TLS != nil {
		opts.SetTLSConfig(in.cfg.TLS)
	}
	return opts
}

func (in *Ingest) obsFilter() string {
	switch {
	case in.cfg.Share != "":
		return "$share/" + in.cfg.Share + "/" + in.topics.ObsFilter()
	case in.cfg.Connections > 1:
		return "$share/" + in.cfg.ClientID + "/" + in.topics.ObsFilter()
	}
	return in.topics.ObsFilter()
}

// onConnect (re)subscribes: with ConnectRetry and a persistent session this is the one place
// that makes sure the subscriptions exist. It runs on paho's own goroutine.
func (in *Ingest) onConnect(ctx context.Context, c paho.Client, i int) {
	in.m.connected.Inc()
	in.health.connected()
	filters := map[string]byte{in.obsFilter(): 1}
	if i == 0 { // availability is not shared: one connection hears it
		filters[in.topics.AvailabilityFilter()] = 1
	}
	// Without the subscription nothing arrives, so it is retried while this connection lasts.
	// (It used to Disconnect to make paho reconnect — but an explicit Disconnect ends a paho
	// client for good: ingest stayed away from the broker until custodyd was restarted.) When
	// the connection goes, paho reconnects and runs this handler again.
	var tok paho.Token
	for attempt := 0; ; attempt++ {
		tok = c.SubscribeMultiple(filters, nil)
		if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			break
		}
		if ctx.Err() != nil || !c.IsConnectionOpen() {
			return // stopping, or the connection is gone and the next one subscribes
		}
		in.log.Error("mqtt subscribe failed; retrying", "broker", in.cfg.BrokerURL, "err", tok.Error(), "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(1<<min(attempt, 5))*time.Second, 30*time.Second)):
		}
	}
	for f, code := range tok.(*paho.SubscribeToken).Result() {
		if code == 0x80 {
			in.log.Error("mqtt subscription refused by the broker", "filter", f)
		}
	}
	in.log.Info("mqtt connected and subscribed", "broker", in.cfg.BrokerURL, "filter", in.obsFilter())
	select {
	case in.resyncN <- struct{}{}:
	case <-ctx.Done():
	default:
	}
}

// receive is paho's message handler. It must not block paho on anything but our own queue, which
// the verifier drains; when ctx ends it returns at once (the message stays unacknowledged and is
// redelivered to our session later).
func (in *Ingest) receive(ctx context.Context, m paho.Message) {
	select {
	case in.msgs <- m:
	case <-ctx.Done():
	}
}

// drop refuses one message: counted, logged once, acknowledged (redelivering it would not help).
func (in *Ingest) drop(m paho.Message, agent string, reason string, detail string) {
	// The line before the count: whoever sees the counter move can already read why.
	in.drops.log(reason, agent, m.Topic(), detail)
	in.m.dropped.WithLabelValues(reason).Inc()
	m.Ack()
}

// verify parses and checks each message and gathers the good ones into a batch for the committer.
func (in *Ingest) verify(ctx context.Context) {
	var batch []item
	for {
		var out chan []item
		if len(batch) > 0 {
			out = in.commits
		}
		if len(batch) >= in.cfg.MaxBatch {
			select {
			case in.commits <- batch:
				batch = nil
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case m := <-in.msgs:
			if it, ok := in.check(ctx, m); ok {
				batch = append(batch, it)
			}
		case out <- batch:
			batch = nil
		case <-ctx.Done():
			return
		}
	}
}

// check runs every refusal of mqtt.md §7 except the duplicate ones, which the database decides.
func (in *Ingest) check(ctx context.Context, m paho.Message) (item, bool) {
	topicAgent, leaf, ok := in.topics.AgentOf(m.Topic())
	if ok && leaf == "availability" {
		in.availability(ctx, m, topicAgent)
		return item{}, false
	}
	in.m.received.Inc()
	if !ok || leaf != "obs" {
		in.drop(m, "", "topic", "not an observation topic")
		return item{}, false
	}
	env, err := wire.Parse(m.Payload(), wire.DirObs)
	if err != nil {
		in.drop(m, topicAgent, string(wire.ReasonOf(err)), err.Error())
		return item{}, false
	}
	if env.Agent != topicAgent {
		in.drop(m, topicAgent, "agent_mismatch", fmt.Sprintf("envelope names agent %q on agent %q's topic", env.Agent, topicAgent))
		return item{}, false
	}
	key, ok := in.agentKey(ctx, m, env.Agent)
	if !ok {
		return item{}, false
	}
	if err := env.Verify(wire.DirObs, key); err != nil {
		in.drop(m, env.Agent, string(wire.ReasonOf(err)), err.Error())
		return item{}, false
	}
	if mark := in.mark(env.Agent); env.Seq > mark.MaxSeen+MaxSeqAhead {
		// A signed seq far ahead would open a hole no agent can fill (resync for ever) and
		// poison the lost count: refused, counted, not stored.
		in.drop(m, env.Agent, "seq_ahead", fmt.Sprintf("seq %d is more than %d ahead of the highest stored (%d)", env.Seq, MaxSeqAhead, mark.MaxSeen))
		return item{}, false
	}
	body, err := env.DecodeBody(wire.DirObs)
	if err != nil {
		in.drop(m, env.Agent, string(wire.ReasonOf(err)), err.Error())
		return item{}, false
	}
	if r, ok := body.(*wire.CmdResult); ok {
		if to := in.answers.recipient(r.Cmd); to != "" && to != env.Agent {
			return in.refuse(m, env, Refusal{PlaceKind: "command", Place: r.Cmd, Owner: to},
				fmt.Sprintf("answer to command %q, which was sent to %q", r.Cmd, to))
		}
	}
	if bad, owner, ok := in.bound(ctx, &env, body); !ok {
		if bad.kind == "" { // ctx ended: leave it unacknowledged, the broker redelivers it
			return item{}, false
		}
		if in.servedThen(ctx, &env, bad) {
			return in.late(m, env, fmt.Sprintf("%s observation for %s %q made at %s, when %s still served it; it is bound to %q now", env.Kind, bad.kind, bad.code, env.At, env.Agent, owner))
		}
		return in.refuse(m, env, Refusal{PlaceKind: bad.kind, Place: bad.code, Owner: owner},
			fmt.Sprintf("%s observation for %s %q, which is bound to %q", env.Kind, bad.kind, bad.code, owner))
	}
	return item{msg: m, env: env}, true
}

// late handles an authentic envelope about a place its agent served when it made it, arriving
// after the place was rebound to another: refused like not_bound — its content is not applied,
// since the place's record now comes from its new agent, and only its seq is recorded — but
// counted as `rebound` and raised to nobody: it is the old agent's outbox catching up, not an
// attack.
func (in *Ingest) late(m paho.Message, env wire.Envelope, detail string) (item, bool) {
	in.drops.log("rebound", env.Agent, m.Topic(), detail)
	in.m.dropped.WithLabelValues("rebound").Inc()
	return item{msg: m, env: env, refused: "rebound"}, true
}

// refuse handles an authentic envelope that speaks for what is not its agent's: counted and
// logged as not_bound, reported to the RefusalHandler, and passed on to the committer only to
// record that its seq was used (no content, no handler) — else the hole it leaves would be asked
// for again and again, and each answer refused again.
func (in *Ingest) refuse(m paho.Message, env wire.Envelope, r Refusal, detail string) (item, bool) {
	in.drops.log("not_bound", env.Agent, m.Topic(), detail)
	in.m.dropped.WithLabelValues("not_bound").Inc()
	r.Agent, r.Kind, r.Seq, r.ID, r.At = env.Agent, env.Kind, env.Seq, env.ID, time.Now()
	if h, ok := in.handler.(RefusalHandler); ok {
		h.HandleRefusal(r)
	}
	return item{msg: m, env: env, refused: "not_bound"}, true
}

// agentKey looks up agent's key; a message from an agent that is not enrolled or was revoked is
// dropped. When the register cannot be read it waits and retries, since that is not the message's
// fault; if ctx ends first the message stays unacknowledged and is redelivered to our session.
func (in *Ingest) agentKey(ctx context.Context, m paho.Message, agent string) ([]byte, bool) {
	key, reason, err := in.keys.get(ctx, agent)
	for err != nil {
		if ctx.Err() != nil {
			return nil, false // stopping: unacknowledged, redelivered after the restart
		}
		in.log.Error("ingest: agent key lookup failed; retrying", "agent", agent, "err", err)
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(time.Second):
		}
		key, reason, err = in.keys.get(ctx, agent)
	}
	if reason != "" {
		in.drop(m, agent, reason, "agent "+strconv.Quote(agent)+" is "+map[string]string{"unknown_agent": "not enrolled", "revoked": "revoked"}[reason])
		return nil, false
	}
	return key, true
}

// availability handles an agent's retained online/offline message: passed to the handler (an
// agent that stops answering must become an alert), and on "online" the agent is asked for what
// it holds that we lack. The broker's ACL already limits who may write the topic; the register
// decides whether we still listen to that agent.
func (in *Ingest) availability(ctx context.Context, m paho.Message, agent string) {
	state, err := wire.ParseAvailability(m.Payload())
	if err != nil {
		in.drop(m, agent, string(wire.ReasonOf(err)), err.Error())
		return
	}
	if _, ok := in.agentKey(ctx, m, agent); !ok {
		return
	}
	m.Ack()
	in.answers.setState(agent, state)
	if h, ok := in.handler.(AvailabilityHandler); ok {
		h.HandleAvailability(agent, state, time.Now())
	}
	if state == "online" {
		select {
		case in.avail <- agent:
		default: // the gap loop is behind; its next check of open gaps catches up
		}
	}
}

// commit stores each batch in one transaction, then acknowledges, then hands the new envelopes on.
func (in *Ingest) commit(ctx context.Context) {
	for {
		var batch []item
		select {
		case batch = <-in.commits:
		case <-ctx.Done():
			return
		}
		obs := make([]store.Observation, len(batch))
		for i, it := range batch {
			e := &it.env
			obs[i] = store.Observation{Agent: e.Agent, Seq: e.Seq, ID: e.ID, Boot: e.Boot, V: e.V, At: e.At, Kind: e.Kind, Body: e.Body, MAC: e.MAC, Refused: it.refused}
		}
		start := time.Now()
		outcomes, states, err := in.st.StoreObservations(ctx, obs)
		for err != nil {
			// Never acknowledge what is not stored. Keep trying: the broker holds the messages
			// (unacknowledged) meanwhile, and a restart redelivers them.
			if ctx.Err() != nil {
				return // stopping: not an error to report
			}
			in.m.storeErrors.Inc()
			in.log.Error("ingest: storing a batch failed; retrying", "batch", len(obs), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			outcomes, states, err = in.st.StoreObservations(ctx, obs)
		}
		in.m.commitSeconds.Observe(time.Since(start).Seconds())
		in.m.batchSize.Observe(float64(len(batch)))
		var fresh []wire.Envelope
		for i, it := range batch {
			it.msg.Ack()
			if it.refused != "" { // counted when refused; only its seq was recorded
				continue
			}
			if outcomes[i] == store.Stored {
				fresh = append(fresh, it.env)
				continue
			}
			in.drops.log(outcomes[i].String(), it.env.Agent, it.msg.Topic(), fmt.Sprintf("seq %d id %q", it.env.Seq, it.env.ID))
			in.m.dropped.WithLabelValues(outcomes[i].String()).Inc()
		}
		in.m.stored.Add(float64(len(fresh)))
		in.noteStates(states, time.Now())
		for _, e := range fresh {
			if e.Kind == wire.KindCmdResult {
				in.cmdResult(ctx, e)
			}
		}
		if in.handler != nil && len(fresh) > 0 {
			in.handler.HandleObservations(ctx, fresh)
		}
	}
}

// cmdResult closes a hole the agent can no longer fill (its answer to resync names its oldest seq).
func (in *Ingest) cmdResult(ctx context.Context, e wire.Envelope) {
	b, err := e.DecodeBody(wire.DirObs)
	if err != nil {
		return
	}
	r := b.(*wire.CmdResult)
	in.answers.put(*r)
	if r.Kind != wire.KindResync || r.Oldest <= 1 {
		return
	}
	in.mu.Lock()
	var g gap // a copy: noteStates changes the map's under the lock
	if p := in.gaps[e.Agent]; p != nil {
		g = *p
	}
	open := g.from > 0 && g.from < r.Oldest
	in.mu.Unlock()
	if !open {
		return
	}
	oldest := min(r.Oldest, in.mark(e.Agent).MaxSeen+1) // never skip past what was ever stored
	st, err := in.st.SkipObservations(ctx, e.Agent, oldest)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		in.log.Error("ingest: closing an unfillable gap failed", "agent", e.Agent, "err", err)
		return
	}
	// Count only seqs that were really missing: at most up to the highest one stored, whatever
	// oldest the answer claims (a far-future oldest must not poison the metric).
	lostTo := min(r.Oldest, st.MaxSeen+1)
	if g.to > 0 {
		lostTo = min(lostTo, g.to+1) // the hole ends below the next stored seq
	}
	in.log.Warn("observations lost for good: the agent no longer holds them", "agent", e.Agent, "from", g.from, "below", r.Oldest)
	if lostTo > g.from {
		in.m.lost.Add(float64(lostTo - g.from))
	}
	in.noteStates([]store.SeqState{st}, time.Now())
}

// noteStates records which agents have a hole, and since when.
func (in *Ingest) noteStates(states []store.SeqState, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, st := range states {
		in.marks[st.Agent] = st
		if !st.Gap() {
			delete(in.gaps, st.Agent)
			continue
		}
		from := st.Contiguous + 1
		g := in.gaps[st.Agent]
		switch {
		case g == nil:
			g = &gap{from: from, since: now}
			in.gaps[st.Agent] = g
		case g.from != from: // part filled: what remains is due after the grace, but holes
			// already asked for stay asked (askedThrough) until ResyncRetry passes
			g.from, g.since, g.lastAsked, g.to = from, now, time.Time{}, 0
		}
		if st.HoleEnd >= from {
			g.to = st.HoleEnd
		}
	}
	in.m.gaps.Set(float64(len(in.gaps)))
}

// gapLoop asks agents to resync: holes older than ResyncGrace (again every ResyncRetry), agents
// that just came online (what they sent while the broker was away may be gone), and every agent
// after our own (re)connect (resyncAll).
func (in *Ingest) gapLoop(ctx context.Context) {
	tick := time.NewTicker(max(in.cfg.ResyncGrace/4, 20*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case agent := <-in.avail:
			// After our own (re)connect, resyncAll has just asked every agent, and the broker
			// then hands us every retained "online": ask once, not twice.
			in.mu.Lock()
			recent := time.Since(in.asked[agent]) < in.cfg.ResyncRetry
			in.mu.Unlock()
			if !recent {
				in.resync(ctx, agent, 0, false)
			}
		case <-in.resyncN:
			in.resyncAll(ctx)
		case now := <-tick.C:
			in.mu.Lock()
			var due []string
			for a, g := range in.gaps {
				if now.Sub(g.since) >= in.cfg.ResyncGrace && now.Sub(g.lastAsked) >= in.cfg.ResyncRetry {
					g.lastAsked = now
					due = append(due, a)
				}
			}
			in.mu.Unlock()
			for _, a := range due {
				in.resyncHoles(ctx, a)
			}
		}
	}
}

// resyncAll asks every agent that ever sent anything for what follows its contiguous mark. It
// runs after each (re)connect of ours: while we were away the broker may have dropped what it
// queued for us (a restart, a queue limit, an expired session), and no later seq need ever come
// to reveal that tail as a gap.
func (in *Ingest) resyncAll(ctx context.Context) {
	states, err := in.st.ObservationSeqs(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		in.log.Error("ingest: read seq states for resync", "err", err)
		return
	}
	in.noteStates(states, time.Now())
	for _, st := range states {
		if ctx.Err() != nil {
			return
		}
		if _, reason, err := in.keys.get(ctx, st.Agent); err != nil || reason != "" {
			continue // revoked or gone: nothing to ask
		}
		in.resync(ctx, st.Agent, st.Contiguous+1, false)
	}
}

// resyncHoles asks agent for each hole below its stored seqs (up to 512 at a time), so one round
// trip fills scattered losses without the agent sending again what is stored.
func (in *Ingest) resyncHoles(ctx context.Context, agent string) {
	now := time.Now()
	in.mu.Lock()
	g := in.gaps[agent]
	var after, skipThrough uint64
	if g != nil {
		after = g.from - 1
		if now.Sub(g.askedAt) < in.cfg.ResyncRetry {
			skipThrough = g.askedThrough
		}
	}
	in.mu.Unlock()
	if g == nil {
		return
	}
	holes, err := in.st.ObservationHoles(ctx, agent, after, 512, 1_000_000)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		in.log.Error("ingest: list holes for resync", "agent", agent, "err", err)
		return
	}
	if len(holes) == 0 {
		if skipThrough == 0 {
			in.resync(ctx, agent, 0, true)
		}
		return
	}
	var through uint64
	for _, h := range holes {
		if h.To <= skipThrough {
			continue
		}
		through = h.To
		id, err := in.Send(ctx, agent, wire.KindResync, wire.Resync{From: h.From, To: h.To})
		if err != nil {
			in.log.Warn("ingest: resync request not sent", "agent", agent, "from", h.From, "err", err)
			return
		}
		in.m.resyncs.Inc()
		in.log.Info("resync requested", "agent", agent, "from", h.From, "to", h.To, "cmd", id)
	}
	if through > 0 {
		in.mu.Lock()
		if g := in.gaps[agent]; g != nil {
			if skipThrough == 0 {
				g.askedAt = now
			}
			g.askedThrough = max(g.askedThrough, through)
		}
		in.mu.Unlock()
	}
}

// resync asks agent to publish again from its first missing seq (from its state; from=1 when we
// know nothing of it yet). holeOnly asks just for the known hole (a gap below stored seqs);
// otherwise everything from there on, since a tail may be missing too.
func (in *Ingest) resync(ctx context.Context, agent string, from uint64, holeOnly bool) {
	var to uint64
	in.mu.Lock()
	if g := in.gaps[agent]; g != nil {
		if from == 0 || g.from < from {
			from = g.from
		}
		if holeOnly {
			to = g.to
		}
		g.lastAsked = time.Now()
	}
	in.mu.Unlock()
	if from == 0 {
		st, err := in.seqState(ctx, agent)
		if err != nil {
			if ctx.Err() != nil {
				return // stopping
			}
			in.log.Error("ingest: read seq state for resync", "agent", agent, "err", err)
			return
		}
		from = st.Contiguous + 1
	}
	id, err := in.Send(ctx, agent, wire.KindResync, wire.Resync{From: from, To: to})
	if err != nil {
		in.log.Warn("ingest: resync request not sent", "agent", agent, "from", from, "err", err)
		return
	}
	if to == 0 {
		in.mu.Lock()
		in.asked[agent] = time.Now()
		in.mu.Unlock()
	}
	in.m.resyncs.Inc()
	in.log.Info("resync requested", "agent", agent, "from", from, "to", to, "cmd", id)
}

// MaxSeqAhead is how far beyond the highest stored seq of an agent a new seq may be: an outbox
// keeps days of observations, never a million more than custodyd has seen (docs/limits.md).
const MaxSeqAhead = 1_000_000

// mark is agent's stored-seq state as the last commit (or start) left it.
func (in *Ingest) mark(agent string) store.SeqState {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.marks[agent]
}

func (in *Ingest) seqState(ctx context.Context, agent string) (store.SeqState, error) {
	all, err := in.st.ObservationSeqs(ctx)
	if err != nil {
		return store.SeqState{}, err
	}
	for _, st := range all {
		if st.Agent == agent {
			return st, nil
		}
	}
	return store.SeqState{Agent: agent}, nil
}

// ErrNotConnected is returned by Send and Publish before Run has started.
var ErrNotConnected = errors.New("ingest: not running")

// Send signs a command for agent with its key and publishes it at QoS 1 on the agent's cmd topic,
// returning the command's envelope id (the agent's cmd_result names it). It waits for the broker's
// acknowledgement up to ctx or 10 s. Do not call it from a Handler that must stay fast.
func (in *Ingest) Send(ctx context.Context, agent, kind string, body any) (string, error) {
	in.mu.Lock()
	c := in.client
	in.mu.Unlock()
	if c == nil {
		return "", ErrNotConnected
	}
	key, reason, err := in.keys.get(ctx, agent)
	if err != nil {
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	}
	if reason != "" {
		return "", fmt.Errorf("command %s for %s: agent is %s", kind, agent, reason)
	}
	seq := in.cmdSeq.Add(1)
	id := "cmd-" + in.boot + "-" + strconv.FormatUint(seq, 10)
	env, err := wire.Seal(wire.DirCmd, key, agent, in.boot, seq, id, time.Now(), kind, body)
	if err != nil {
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	}
	if _, err := env.DecodeBody(wire.DirCmd); err != nil {
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	}
	p, err := env.Marshal()
	if err != nil {
		return "", err
	}
	in.answers.sent(id, agent) // before the publish: a fast agent answers before it returns
	err = publish(ctx, c, in.topics.Cmd(agent), p)
	in.notePublish(err)
	if err != nil {
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	}
	return id, nil
}

// Publish sends custodyd's own announcements (alerts, the morning summary) at QoS 1 on ingest's
// connection and waits for the broker's acknowledgement up to ctx or 10 s. There is one
// connection because a production Mosquitto takes the client id from the user name
// (use_username_as_clientid): a second client under custodyd's account would take the session
// over, and the two would push each other off for ever.
func (in *Ingest) Publish(ctx context.Context, topic string, payload []byte) error {
	in.mu.Lock()
	c := in.client
	in.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	if len(payload) > MaxPublish {
		// Never hand the broker what it would answer by dropping our connection (and with it
		// ingest): refuse here, loudly.
		err := fmt.Errorf("publish on %s: %d bytes is more than custodyd publishes (%d)", topic, len(payload), MaxPublish)
		in.notePublish(err)
		return err
	}
	err := publish(ctx, c, topic, payload)
	in.notePublish(err)
	return err
}

// MaxPublish bounds what custodyd publishes in one message: its alerts and summary are a few
// kilobytes (docs/limits.md); a broker's packet limit is far above this.
const MaxPublish = 64 << 10

// notePublish records a publish outcome for Health and the metrics. A publish that fails marks
// ingest unhealthy until one succeeds; the caller does not loop on it.
func (in *Ingest) notePublish(err error) {
	in.health.published(err, time.Now())
	if err != nil {
		in.m.publishFailures.Inc()
	}
}

func publish(ctx context.Context, c paho.Client, topic string, payload []byte) error {
	tok := c.Publish(topic, 1, false, payload)
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish on %s: %w", topic, err)
		}
		return nil
	case <-wait.Done():
		return fmt.Errorf("publish on %s: the broker did not acknowledge: %w", topic, wait.Err())
	}
}
