// Package mqttconn is custodyd's one MQTT connection to the broker. It owns the paho client,
// keeps it connected and subscribed, hands what arrives to its one consumer (ingest), and carries
// everything custodyd says: signed commands to agents (Send, and Ask, which waits for the answer)
// and custodyd's own announcements (Publish: alerts, the morning summary). Health and Connected
// report its state for /healthz.
//
// Contract:
//   - One connection per custodyd (docs/architecture.md): a production Mosquitto takes the client
//     id from the user name (use_username_as_clientid), so a second client under custodyd's
//     account would take the session over, and the two would push each other off for ever.
//     Config.Connections > 1 opens more, for a broker that caps the QoS 1 messages in flight per
//     client; they share the consumer's subscription and the first one publishes.
//   - The session is persistent with a fixed client id (clean when Config.Share names a
//     subscription shared with other instances: see options), acknowledgements are manual (the
//     consumer acknowledges after its commit), and the subscriptions are made on every connect,
//     retried while that connection lasts — never by Disconnect, which ends a paho client for good.
//   - Run owns the clients: it connects them (paho retries in the background) and disconnects
//     them when its context ends. A consumer's Receive runs on paho's goroutine and must not
//     block on anything but a queue its owner drains, or the context Run was given.
//   - Send, Publish and Ask wait for the broker's acknowledgement up to their context or 10 s; a
//     publish that fails makes Health say so until one succeeds.
//
// The paho traps (field.md) are avoided here, and paho v1.5.1's reconnect race (issue #703) by a
// store that hands out copies (pahostore.go).
package mqttconn

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/wire"
)

// Client is what the connection uses of a paho client: the five calls below. Config.NewClient
// may supply another, so what the connection asks of paho can be tested without a broker.
type Client interface {
	Connect() paho.Token
	Disconnect(quiesce uint)
	SubscribeMultiple(filters map[string]byte, callback paho.MessageHandler) paho.Token
	Publish(topic string, qos byte, retained bool, payload any) paho.Token
	IsConnectionOpen() bool
}

// Keys looks up an agent's enrolled key to sign its commands; *store.Store satisfies it. An
// unknown agent is an error wrapping store.ErrNotFound.
type Keys interface {
	AgentKey(ctx context.Context, id string) (key []byte, revoked bool, err error)
}

// Message is what a consumer gets of a received message; paho's messages are ones. Ack
// acknowledges it to the broker (QoS 1): until then the broker keeps it for our session.
type Message interface {
	Topic() string
	Payload() []byte
	Ack()
}

// Subscription is the consumer's: Shared filters on every connection (through a $share group
// when there are several, or when Config.Share names one), First filters on the first connection
// only (what must be heard once, like the agents' availability). Receive gets every message, on
// paho's goroutine, with Run's context. Subscribed, if set, is told after each (re)subscription:
// while we were away the broker may have dropped what it held for us.
type Subscription struct {
	Shared     map[string]byte
	First      map[string]byte
	Receive    func(ctx context.Context, m Message)
	Subscribed func()

	// Peers, with Config.Share set, hears the other custodyd instances on the shared
	// subscription come and go: each says "online" (retained) at {base}/custodyd/{client id} when
	// it connects and "offline" when it stops, and its Last Will says "offline" when it dies. It
	// runs on paho's goroutine and must not block. What arrives there is never passed to Receive.
	Peers func(instance, state string)
}

// Config configures the connection. BrokerURL is required; the rest has defaults.
type Config struct {
	BrokerURL string      // tcp://host:port, ssl://host:port (the embedded broker's URL, or Mosquitto's)
	Username  string      // the embedded broker's internal user, or custodyd's Mosquitto account
	Password  string      //
	TLS       *tls.Config // for ssl:// URLs; nil uses the system roots
	ClientID  string      // fixed, so the broker keeps our session across restarts; default "custodyd"
	Base      string      // base topic; default wire.DefaultBase
	Share     string      // if set, the shared filters go through $share/{Share}/… so several instances split the stream

	// Connections > 1 opens that many connections (client ids ClientID, ClientID-1, …) on one
	// shared subscription. A broker that limits the QoS 1 messages in flight per client
	// (Mosquitto's max_inflight_messages, 20 by default) caps what the consumer can have
	// unacknowledged at that limit; more connections lift the cap. Not with Mosquitto's
	// use_username_as_clientid unless each has its own account. Default 1.
	Connections int

	// DisconnectGrace is how long the connection may be away from the broker before Health says
	// so; default DisconnectGrace (custodyd: [mqtt] disconnect_grace).
	DisconnectGrace time.Duration

	// NewClient makes a client from its options; nil: paho.NewClient.
	NewClient func(*paho.ClientOptions) Client
}

func (c *Config) defaults() error {
	if c.BrokerURL == "" {
		return errors.New("mqtt: broker URL is required")
	}
	if c.ClientID == "" {
		c.ClientID = "custodyd"
	}
	if c.DisconnectGrace <= 0 {
		c.DisconnectGrace = DisconnectGrace
	}
	if c.Connections <= 0 {
		c.Connections = 1
	}
	if c.NewClient == nil {
		c.NewClient = func(o *paho.ClientOptions) Client { return paho.NewClient(o) }
	}
	return nil
}

// Conn is custodyd's MQTT connection. Create it with New, subscribe its consumer, run it with Run.
type Conn struct {
	cfg    Config
	topics wire.Topics
	keys   Keys
	log    *slog.Logger
	m      *metrics

	boot   string        // our own boot id, in command envelopes
	cmdSeq atomic.Uint64 // command seq: starts at the start time in µs so it grows across restarts

	mu     sync.Mutex
	sub    *Subscription
	client Client // the first connection: it publishes
	ran    bool

	answers *answers // cmd_results and availability, for Ask
	health  health
}

// New checks the configuration and builds a connection without any I/O. reg receives the
// metrics (nil: a private registry).
func New(cfg Config, keys Keys, reg prometheus.Registerer, log *slog.Logger) (*Conn, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("mqtt: the key lookup is required")
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
	c := &Conn{cfg: cfg, topics: wire.Topics{Base: cfg.Base}, keys: keys, log: log, m: m, boot: randomID(), answers: newAnswers()}
	c.cmdSeq.Store(uint64(time.Now().UnixMicro()))
	// The connect grace counts from custodyd's start, not from the instant Run's goroutine is
	// first scheduled: /healthz is served as soon as the HTTP listener is up, and said "not
	// running" (503) in the moments before.
	c.health.started = time.Now()
	return c, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Subscribe sets the consumer's subscription. It must be called once, before Run.
func (c *Conn) Subscribe(s Subscription) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ran:
		return errors.New("mqtt: Subscribe after Run")
	case c.sub != nil:
		return errors.New("mqtt: a second consumer")
	case s.Receive == nil:
		return errors.New("mqtt: a subscription without Receive")
	}
	c.sub = &s
	return nil
}

// Run connects and stays connected until ctx is cancelled. It returns nil after a clean stop.
func (c *Conn) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.ran {
		c.mu.Unlock()
		return errors.New("mqtt: Run called twice")
	}
	c.ran = true
	sub := c.sub
	c.mu.Unlock()
	c.health.mu.Lock()
	c.health.started = time.Now()
	c.health.mu.Unlock()

	clients := make([]Client, c.cfg.Connections)
	for i := range clients {
		clients[i] = c.cfg.NewClient(c.options(ctx, i, sub))
	}
	c.mu.Lock()
	c.client = clients[0]
	c.mu.Unlock()

	c.log.Info("mqtt connection started", "broker", c.cfg.BrokerURL, "client_id", c.cfg.ClientID, "connections", len(clients))
	for _, cl := range clients {
		cl.Connect() // retries in the background until it succeeds or Disconnect
	}
	<-ctx.Done()
	// A clean DISCONNECT sends no Last Will: say it, so the others ask the agents for what this
	// instance leaves unacknowledged.
	if c.presence() && clients[0].IsConnectionOpen() {
		c.sayPresence(clients[0], wire.Offline)
	}
	for _, cl := range clients {
		cl.Disconnect(250)
	}
	c.log.Info("mqtt connection stopped", "broker", c.cfg.BrokerURL)
	return nil
}

// options configures connection i. Each has its own fixed client id and persistent session.
func (c *Conn) options(ctx context.Context, i int, sub *Subscription) *paho.ClientOptions {
	id := c.cfg.ClientID
	if i > 0 {
		id += "-" + strconv.Itoa(i)
	}
	opts := paho.NewClientOptions().
		AddBroker(c.cfg.BrokerURL).
		SetClientID(id).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		// The broker keeps unacknowledged messages for us across our restarts — except on a
		// subscription shared with other instances: Mosquitto and mochi go on handing a
		// disconnected persistent session its share of the stream, so a dead instance would
		// take every second envelope with it until it came back. There each session ends with
		// its connection, the others get everything, and what the dead one held unacknowledged
		// is asked for again (ingest's resync: holes at once, tails when the others hear it go —
		// Subscription.Peers — and at the next leader's start).
		SetCleanSession(c.cfg.Share != "").
		SetStore(NewStore()).
		SetAutoAckDisabled(true).
		SetOrderMatters(true). // one handler goroutine; the consumer's Receive only queues
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetOnConnectHandler(func(pc paho.Client) { c.onConnect(ctx, pc, i, sub) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.m.connected.Dec()
			c.health.lost(time.Now())
			c.log.Warn("mqtt connection lost", "broker", c.cfg.BrokerURL, "client_id", id, "err", err)
		})
	if sub != nil {
		opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			if inst, ok := c.topics.InstanceOf(m.Topic()); ok {
				c.peer(inst, m)
				return
			}
			sub.Receive(ctx, m)
		})
	}
	if c.presence() && i == 0 {
		opts.SetBinaryWill(c.topics.Instance(c.cfg.ClientID), wire.Offline, 1, true)
	}
	if c.cfg.TLS != nil {
		opts.SetTLSConfig(c.cfg.TLS)
	}
	return opts
}

// filters is what connection i subscribes to.
func (c *Conn) filters(i int, sub *Subscription) map[string]byte {
	out := map[string]byte{}
	for f, qos := range sub.Shared {
		switch {
		case c.cfg.Share != "":
			f = "$share/" + c.cfg.Share + "/" + f
		case c.cfg.Connections > 1:
			f = "$share/" + c.cfg.ClientID + "/" + f
		}
		out[f] = qos
	}
	if i == 0 {
		maps.Copy(out, sub.First)
		if c.presence() && sub.Peers != nil {
			out[c.topics.InstanceFilter()] = 1
		}
	}
	return out
}

// presence says whether this connection tells other instances when it comes and goes: only on a
// shared subscription (Config.Share), under a client id that is one topic level.
func (c *Conn) presence() bool {
	return c.cfg.Share != "" && wire.ValidID(c.cfg.ClientID)
}

// peer passes another instance's presence on to the consumer (never our own, retained from our
// last run or just said).
func (c *Conn) peer(inst string, m paho.Message) {
	m.Ack()
	state, err := wire.ParseAvailability(m.Payload())
	if err != nil {
		c.log.Warn("mqtt: unreadable presence of a custodyd instance", "instance", inst, "err", err)
		return
	}
	if inst == c.cfg.ClientID {
		return
	}
	c.log.Info("custodyd instance presence", "instance", inst, "state", state)
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub != nil && sub.Peers != nil {
		sub.Peers(inst, state)
	}
}

// sayPresence publishes this instance's presence (retained), waiting up to 5 s.
func (c *Conn) sayPresence(pc Client, payload []byte) {
	tok := pc.Publish(c.topics.Instance(c.cfg.ClientID), 1, true, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		c.log.Warn("mqtt: could not tell the other instances this one's presence", "err", tok.Error())
	}
}

// onConnect (re)subscribes: with ConnectRetry and a persistent session this is the one place
// that makes sure the subscriptions exist. It runs on paho's own goroutine.
func (c *Conn) onConnect(ctx context.Context, pc Client, i int, sub *Subscription) {
	c.m.connected.Inc()
	c.health.connected()
	if sub == nil {
		c.log.Info("mqtt connected", "broker", c.cfg.BrokerURL)
		return
	}
	filters := c.filters(i, sub)
	// Without the subscription nothing arrives, so it is retried while this connection lasts.
	// (It used to Disconnect to make paho reconnect — but an explicit Disconnect ends a paho
	// client for good: ingest stayed away from the broker until custodyd was restarted.) When
	// the connection goes, paho reconnects and runs this handler again.
	var tok paho.Token
	for attempt := 0; ; attempt++ {
		tok = pc.SubscribeMultiple(filters, nil)
		if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			break
		}
		if ctx.Err() != nil || !pc.IsConnectionOpen() {
			return // stopping, or the connection is gone and the next one subscribes
		}
		c.log.Error("mqtt subscribe failed; retrying", "broker", c.cfg.BrokerURL, "err", tok.Error(), "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(1<<min(attempt, 5))*time.Second, 30*time.Second)):
		}
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code == 0x80 {
				c.log.Error("mqtt subscription refused by the broker", "filter", f)
			}
		}
	}
	if c.presence() && i == 0 {
		c.sayPresence(pc, wire.Online)
	}
	c.log.Info("mqtt connected and subscribed", "broker", c.cfg.BrokerURL, "filters", slices.Sorted(maps.Keys(filters)))
	if sub.Subscribed != nil {
		sub.Subscribed()
	}
}
