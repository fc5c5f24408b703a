// Package broker runs the MQTT broker embedded in custodyd (mochi-mqtt/server/v2), so custodyd alone
// is a working installation.
//
// Contract: nobody connects without credentials. An agent logs in with user name = client id =
// its agent id and password = its enrolled key in base64 (firmware-protocol/mqtt.md §4.1); when
// the listener asks for TLS client certificates, the certificate's common name must also be the
// agent id. An agent may publish only under {base}/agents/{id}/, subscribe only to its own
// {base}/agents/{id}/cmd, and its Last Will may only be its own availability topic. custodyd's own
// client logs in with an internal credential generated at start (InternalCredentials) and has full
// access. Everything else is denied. A revoked agent is refused at login, and DisconnectAgent
// throws out a connected one at once.
//
// The broker is not the system of record: it keeps sessions in memory only and loses them on a
// restart. Nothing is lost by that, because agents keep an outbox and custodyd asks for a resync
// when it sees a gap (mqtt.md §7).
package broker

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/custodyhq/custody/internal/wire"

	"github.com/custodyhq/custody/internal/custody"
)

// DefaultListen is the default address. Not 1883: a system Mosquitto often listens there already,
// and custodyd must start beside it (`make run`).
const DefaultListen = "127.0.0.1:18830"

// Credentials looks up an agent's enrolled key. *store.Store satisfies it. An unknown agent is an
// error (the store's wraps store.ErrNotFound); any error refuses the login.
type Credentials interface {
	AgentKey(ctx context.Context, id string) (key []byte, revoked bool, err error)
}

// Config configures the broker. The zero value listens on DefaultListen without TLS under the
// default base topic.
type Config struct {
	Listen string      // host:port; "" means DefaultListen; port 0 picks a free port (tests)
	TLS    *tls.Config // nil: plain TCP. With ClientAuth ≥ VerifyClientCertIfGiven, a given certificate's CN must equal the user name
	Base   string      // base topic; "" means wire.DefaultBase

	// InternalUser and InternalPassword are custodyd's own full-access login. Empty: generated
	// at start (the normal case: ingest runs in the same process and is handed them).
	InternalUser     string
	InternalPassword string

	// MaxInflight bounds the QoS 1 messages queued for one client; beyond it messages are
	// dropped (agents resend on resync). 0 means 8192.
	MaxInflight int

	// MonitorPassword, if set, lets the user MonitorUser (client id MonitorUser or
	// MonitorUser-<anything>) read {base}/alerts and {base}/summary and nothing else: a duty-room
	// display or the monitoring system, as the custody-monitor account does on Mosquitto.
	MonitorPassword string

	// Oversized, if set, is told the agent id of every agent the broker
	// disconnects for sending a packet larger than its limit (wire.MaxPayload plus room for the
	// topic and header). custodyd counts it as custody_ingest_dropped_total{reason="oversized"}
	// (firmware-protocol/mqtt.md §1): such a message never reaches ingest. It runs on the
	// client's goroutine and must not block.
	Oversized func(agent string)

	// Dropped, if set, is told how many QoS 1 messages the broker dropped since it was last told:
	// messages it had acknowledged to their publisher but could not queue for a subscriber
	// whose queue was full (MaxInflight) or whose writes lagged. Nothing later need ever come to
	// reveal such a lost tail to custodyd, so custodyd asks the agents to resend (ingest). It is
	// called from the broker's own goroutine, at most once per DropPoll.
	Dropped func(n int64)
}

// DropPoll is how often the broker looks whether it dropped queued messages (Config.Dropped):
// mochi counts them but offers no hook for a full queue.
const DropPoll = 200 * time.Millisecond

// MaxPacket is the largest MQTT packet the broker reads: the envelope limit plus room for the
// topic and header. A client sending a larger one is disconnected before its payload is read.
const MaxPacket = wire.MaxPayload + 4096

// MonitorUser is the read-only account for custodyd's announcements; no agent may be called so.
const MonitorUser = "custody-monitor"

// Broker is a running embedded broker.
type Broker struct {
	cfg      Config
	topics   wire.Topics
	log      *slog.Logger
	srv      *mqtt.Server
	addr     string
	user     string
	pass     string
	closeMu  sync.Mutex
	closed   bool
	lookupTO time.Duration

	stop    chan struct{}  // closed by Close: the drop watch ends
	watchWG sync.WaitGroup // the drop watch
}

// Start opens the listener and serves until Close. ctx bounds only the start itself.
func Start(ctx context.Context, cfg Config, creds Credentials, log *slog.Logger) (*Broker, error) {
	if creds == nil {
		return nil, errors.New("broker: no credential lookup configured")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	b := &Broker{cfg: cfg, topics: wire.Topics{Base: cfg.Base}, log: log, lookupTO: 5 * time.Second, stop: make(chan struct{})}
	b.user, b.pass = cfg.InternalUser, cfg.InternalPassword
	if b.user == "" || b.pass == "" {
		b.user = "custodyd-internal-" + randomHex(6)
		b.pass = randomHex(32)
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacket
	if cfg.MaxInflight > 0 {
		caps.MaximumInflight = uint16(min(cfg.MaxInflight, 65535))
		caps.MaximumClientWritesPending = int32(cfg.MaxInflight)
	}
	// mochi logs every connect at info; keep its chatter out of custodyd's info log. Its line per
	// message dropped for a full queue is left out too: watchDrops says it once, with the count.
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 slog.New(quotaFilter{log.With("component", "mochi").Handler()}),
		InlineClient:           false,
		SysTopicResendInterval: 0,
	})
	if err := srv.AddHook(&authHook{b: b, creds: creds}, nil); err != nil {
		return nil, fmt.Errorf("broker: add auth hook: %w", err)
	}
	if err := srv.AddHook(&oversizedHook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("broker: add oversized hook: %w", err)
	}
	l := TCPListener(srv, "custody", cfg.Listen, cfg.TLS)
	if err := srv.AddListener(l); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("broker: listen on %s: %w — another program (often a system Mosquitto) already uses that port; set [mqtt] listen to a free address, or point custodyd at that broker with [mqtt] url", cfg.Listen, err)
		}
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Listen, err)
	}
	b.addr = l.Address()
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b.srv = srv
	b.watchWG.Add(1)
	go b.watchDrops()
	log.Info("mqtt broker started", "listen", b.addr, "tls", cfg.TLS != nil)
	return b, nil
}

// watchDrops tells Config.Dropped, and the log once per burst, when mochi's counters of dropped
// QoS 1 messages grow. It ends with Close.
func (b *Broker) watchDrops() {
	defer b.watchWG.Done()
	tick := time.NewTicker(DropPoll)
	defer tick.Stop()
	var seen int64
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			n := atomic.LoadInt64(&b.srv.Info.InflightDropped) + atomic.LoadInt64(&b.srv.Info.MessagesDropped)
			if n <= seen {
				continue
			}
			b.log.Warn("mqtt broker dropped queued messages: a subscriber's queue was full; the agents will be asked to resend them",
				"dropped", n-seen, "max_inflight", b.srv.Options.Capabilities.MaximumInflight)
			if b.cfg.Dropped != nil {
				b.cfg.Dropped(n - seen)
			}
			seen = n
		}
	}
}

// quotaFilter leaves out mochi's warning for each message it drops for a full queue.
type quotaFilter struct{ slog.Handler }

func (f quotaFilter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "client store quota reached" {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f quotaFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return quotaFilter{f.Handler.WithAttrs(as)}
}

func (f quotaFilter) WithGroup(name string) slog.Handler {
	return quotaFilter{f.Handler.WithGroup(name)}
}

func randomHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}

// Addr is the address the broker listens on (with the real port when Listen had port 0).
func (b *Broker) Addr() string { return b.addr }

// URL is the address as a paho broker URL: tcp://host:port, or ssl://host:port with TLS.
func (b *Broker) URL() string {
	if b.cfg.TLS != nil {
		return "ssl://" + b.addr
	}
	return "tcp://" + b.addr
}

// InternalCredentials are custodyd's own login (full access), generated at each start and never
// written anywhere.
func (b *Broker) InternalCredentials() (user, password string) { return b.user, b.pass }

// DisconnectAgent throws out the connected agent id, if any. After a revocation its next login is
// refused because the credential lookup says revoked.
func (b *Broker) DisconnectAgent(id string) {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return
	}
	if cl, ok := b.srv.Clients.Get(id); ok && string(cl.Properties.Username) == id {
		b.log.Info("mqtt agent disconnected", "agent", id, "reason", "revoked")
		_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
	}
}

// Close stops the listener and disconnects every client. It is safe to call more than once.
func (b *Broker) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	close(b.stop)
	b.watchWG.Wait()
	err := b.srv.Close()
	b.log.Info("mqtt broker stopped", "listen", b.addr)
	return err
}

// authHook is both the authentication and the ACL hook: one place says who may do what.
type authHook struct {
	mqtt.HookBase
	b     *Broker
	creds Credentials
}

func (h *authHook) ID() string { return "custody-auth" }

func (h *authHook) Provides(x byte) bool {
	return x == mqtt.OnConnectAuthenticate || x == mqtt.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	pass := pk.Connect.Password
	if user == h.b.user {
		return subtle.ConstantTimeCompare(pass, []byte(h.b.pass)) == 1
	}
	refuse := func(why string) bool {
		h.b.log.Warn("mqtt login refused", "user", custody.Clip(user, 64), "client", custody.Clip(cl.ID, 64), "remote", cl.Net.Remote, "reason", why)
		return false
	}
	if user == MonitorUser {
		switch {
		case h.b.cfg.MonitorPassword == "":
			return refuse("the monitor account is not enabled ([mqtt] monitor_password)")
		case subtle.ConstantTimeCompare(pass, []byte(h.b.cfg.MonitorPassword)) != 1:
			return refuse("wrong password")
		case cl.ID != MonitorUser && !strings.HasPrefix(cl.ID, MonitorUser+"-"):
			return refuse("a monitor's client id must be " + MonitorUser + " or start with " + MonitorUser + "-")
		case pk.Connect.WillFlag:
			return refuse("a monitor may not set a last will")
		}
		return true
	}
	if !wire.ValidID(user) {
		return refuse("user name is not a valid agent id")
	}
	// The client id must be the agent id: otherwise an agent could take over another client's
	// session (custodyd's ingest included) by connecting with its id.
	if cl.ID != user {
		return refuse("client id is not the agent id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.b.lookupTO)
	defer cancel()
	key, revoked, err := h.creds.AgentKey(ctx, user)
	if err != nil {
		return refuse("unknown agent or lookup failed: " + err.Error())
	}
	if revoked {
		return refuse("agent revoked")
	}
	want := []byte(base64.StdEncoding.EncodeToString(key))
	if subtle.ConstantTimeCompare(pass, want) != 1 {
		return refuse("wrong password")
	}
	if tc, ok := cl.Net.Conn.(*tls.Conn); ok {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 && certs[0].Subject.CommonName != user {
			return refuse("client certificate names " + certs[0].Subject.CommonName)
		}
		if h.b.cfg.TLS != nil && h.b.cfg.TLS.ClientAuth >= tls.RequireAnyClientCert && len(tc.ConnectionState().PeerCertificates) == 0 {
			return refuse("no client certificate")
		}
	}
	if pk.Connect.WillFlag && pk.Connect.WillTopic != h.b.topics.Availability(user) {
		return refuse("last will topic is not the agent's availability topic")
	}
	return true
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	if user == h.b.user {
		return true
	}
	if user == MonitorUser {
		return !write && (topic == h.b.topics.Alerts() || topic == h.b.topics.Summary())
	}
	if user == "" || user != cl.ID {
		return false
	}
	if write {
		agent, leaf, ok := h.b.topics.AgentOf(topic)
		return ok && agent == user && (leaf == "obs" || leaf == "availability")
	}
	// Reads: subscribe filter and every delivered topic are checked with write=false. Only the
	// agent's own command topic, literally (no wildcards).
	return topic == h.b.topics.Cmd(user)
}
