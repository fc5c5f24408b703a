package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/outbox"
	"github.com/custodyhq/custody/internal/wire"
)

// publisher moves the outbox to the broker. One goroutine (run) publishes; paho's callbacks only
// hand over signals and commands through channels, so a slow step never blocks paho's own
// goroutines (a blocking handler deadlocks the client).
type publisher struct {
	a      *Agent
	topics wire.Topics
	client mqtt.Client

	wake      chan struct{} // an observation was appended
	connected chan struct{} // (re)connected: start again from the oldest unacknowledged
	resyncs   chan resyncReq
	cmds      chan mqtt.Message
	stopped   chan struct{} // closed when the agent stops: paho's handlers stop handing over
	online    atomic.Bool
}

type resyncReq struct {
	from uint64
	done chan resyncDone
}

type resyncDone struct {
	sent   int
	oldest uint64
	err    error
}

// ackTimeout bounds the wait for the broker's PUBACK; a broker that does not acknowledge in that
// time is treated as gone and everything unacknowledged is sent again after the reconnect.
const ackTimeout = 10 * time.Second

// window is how many publishes may wait for their PUBACK at once. They are sent in order and
// acknowledged in order, so a window keeps order and hides the round trip.
const window = 64

func newPublisher(a *Agent) *publisher {
	return &publisher{
		a:         a,
		topics:    wire.Topics{Base: a.cfg.MQTT.BaseTopic},
		wake:      make(chan struct{}, 1),
		connected: make(chan struct{}, 1),
		resyncs:   make(chan resyncReq),
		cmds:      make(chan mqtt.Message, 64),
		stopped:   make(chan struct{}),
	}
}

func (p *publisher) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// connect configures paho and starts connecting; it returns at once (SetConnectRetry keeps trying
// in the background, so the agent runs — and keeps its outbox — with the broker down).
func (p *publisher) connect() error {
	c := p.a.cfg
	o := mqtt.NewClientOptions()
	for _, b := range c.MQTT.Brokers {
		o.AddBroker(b)
	}
	o.SetClientID(c.Agent.ID)
	user, pass := c.MQTT.Username, c.MQTT.Password
	if user == "" {
		user = c.Agent.ID
	}
	if pass == "" && c.MQTT.Username == "" {
		// custodyd's embedded broker logs an agent in with its enrolled key (mqtt.md §4.1).
		pass = base64.StdEncoding.EncodeToString(c.Agent.KeyBytes)
	}
	o.SetUsername(user)
	o.SetPassword(pass)
	tlsCfg, err := p.tlsConfig()
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	// A persistent session: commands published while the agent is offline wait in the broker.
	o.SetCleanSession(false)
	o.SetResumeSubs(true)
	o.SetKeepAlive(c.MQTT.Keepalive.Duration)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(true)
	o.SetConnectRetryInterval(time.Second)
	o.SetMaxReconnectInterval(c.MQTT.MaxReconnectInterval.Duration)
	o.SetConnectTimeout(10 * time.Second)
	o.SetWriteTimeout(10 * time.Second)
	o.SetOrderMatters(false)
	// The retained Last Will says offline when the agent vanishes (crash, cable, power).
	o.SetBinaryWill(p.topics.Availability(c.Agent.ID), wire.Offline, 1, true)
	o.SetOnConnectHandler(p.onConnect)
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		p.online.Store(false)
		p.a.metrics.mqttConnected.Set(0)
		p.a.log.Warn("mqtt connection lost; observations keep going to the outbox", "error", err)
	})
	o.SetReconnectingHandler(func(_ mqtt.Client, _ *mqtt.ClientOptions) {
		p.a.log.Debug("mqtt reconnecting")
	})
	p.client = mqtt.NewClient(o)
	p.client.Connect() // with ConnectRetry the token completes only once connected; not waited on
	return nil
}

func (p *publisher) tlsConfig() (*tls.Config, error) {
	m := p.a.cfg.MQTT
	if m.CAFile == "" && m.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.ca_file %s: no PEM certificate in it", m.CAFile)
		}
		cfg.RootCAs = pool
	}
	if m.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// onConnect runs in a goroutine of paho's at every (re)connect. Subscribing here, not once at
// start, is what keeps the command subscription across a broker that lost its sessions. The
// subscription comes before "online": custodyd answers "online" with a resync command, which must
// find the agent listening.
func (p *publisher) onConnect(c mqtt.Client) {
	id := p.a.cfg.Agent.ID
	for attempt := 0; ; attempt++ {
		tok := c.Subscribe(p.topics.Cmd(id), 1, func(_ mqtt.Client, m mqtt.Message) {
			// Hand over and return: the command loop does the work. A command lost in a crash
			// is answered by nobody, and custodyd repeats what it still needs.
			select {
			case p.cmds <- m:
			case <-p.stopped:
			}
		})
		if tok.WaitTimeout(ackTimeout) && tok.Error() == nil {
			break
		}
		p.a.log.Error("mqtt subscribe to commands failed; retrying", "topic", p.topics.Cmd(id), "error", tok.Error(), "attempt", attempt+1)
		if !c.IsConnectionOpen() {
			return // the next connect runs this again
		}
		select {
		case <-p.stopped:
			return
		case <-time.After(min(time.Duration(1<<min(attempt, 5))*time.Second, 30*time.Second)):
		}
	}
	c.Publish(p.topics.Availability(id), 1, true, wire.Online)
	p.online.Store(true)
	p.a.metrics.mqttConnected.Set(1)
	p.a.log.Info("mqtt connected", "pending", p.a.out.Level().Entries)
	select {
	case p.connected <- struct{}{}:
	default:
	}
}

// disconnect says offline (retained) and closes the connection cleanly.
func (p *publisher) disconnect() {
	close(p.stopped)
	if p.client == nil {
		return
	}
	if p.client.IsConnectionOpen() {
		t := p.client.Publish(p.topics.Availability(p.a.cfg.Agent.ID), 1, true, wire.Offline)
		t.WaitTimeout(2 * time.Second)
	}
	p.client.Disconnect(500)
	p.online.Store(false)
	p.a.metrics.mqttConnected.Set(0)
}

// seal builds and signs the envelope of an outbox entry. The envelope is built from what the
// outbox holds only, so a resend is byte for byte the first sending.
func (p *publisher) seal(e outbox.Entry) ([]byte, error) {
	// [crypto] profile: HMAC-SM3 under sm, HMAC-SHA256 otherwise — the MAC the agent was
	// enrolled with; custodyd drops an envelope naming another (wire.ReasonMACAlg).
	mac := p.a.cfg.CryptoProfile().EnvelopeMAC()
	h, _ := cryptoprofile.MACHash(mac)
	env, err := wire.SealWith(wire.DirObs, mac, h, p.a.cfg.Agent.KeyBytes, p.a.cfg.Agent.ID, e.Boot, e.Seq, e.ID, e.At, e.Kind, json.RawMessage(e.Body))
	if err != nil {
		return nil, err
	}
	return env.Marshal()
}

// errNotConnected ends a publishing batch when the connection is gone.
var errNotConnected = errors.New("not connected to the broker")

// run publishes the outbox in order until ctx ends.
func (p *publisher) run(ctx context.Context) {
	var after uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.connected:
			after = 0 // from the oldest unacknowledged: whatever was in flight may be lost
		case r := <-p.resyncs:
			r.done <- p.resync(ctx, r.from)
			continue
		default:
		}
		if !p.online.Load() {
			if !p.waitFor(ctx, &after) {
				return
			}
			continue
		}
		batch, err := p.a.out.Pending(ctx, after, window)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.a.log.Error("outbox read failed", "error", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		if len(batch) == 0 {
			if !p.waitFor(ctx, &after) {
				return
			}
			continue
		}
		last, err := p.publish(ctx, batch)
		if last > after {
			after = last
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.a.log.Warn("publishing paused; unacknowledged observations will be sent again after the reconnect", "error", err, "next_seq", after+1)
			p.online.Store(p.client.IsConnectionOpen())
			after = 0
			if !sleep(ctx, 200*time.Millisecond) {
				return
			}
		}
	}
}

// waitFor sleeps until there is something to do. It reports false when ctx ended.
func (p *publisher) waitFor(ctx context.Context, after *uint64) bool {
	select {
	case <-ctx.Done():
		return false
	case <-p.wake:
	case <-p.connected:
		*after = 0
	case r := <-p.resyncs:
		r.done <- p.resync(ctx, r.from)
	case <-time.After(5 * time.Second):
		// Belt and braces: a missed wake-up costs at most this much delay.
	}
	return true
}

// publish sends entries in order, then waits for their acknowledgements in order and marks each
// acknowledged in the outbox. It returns the last seq acknowledged.
func (p *publisher) publish(ctx context.Context, entries []outbox.Entry) (uint64, error) {
	topic := p.topics.Obs(p.a.cfg.Agent.ID)
	type sent struct {
		seq uint64
		tok mqtt.Token
	}
	var inflight []sent
	var last uint64
	var firstErr error
	for _, e := range entries {
		payload, err := p.seal(e)
		if err != nil {
			// Cannot happen for bodies the agent built; if it does, the entry would block the
			// queue forever, so it is logged loudly and marked done (it stays in the file for
			// the retention period, and custodyd sees the gap and asks for a resync).
			p.a.log.Error("observation cannot be sealed; skipped", "seq", e.Seq, "kind", e.Kind, "error", err)
			p.a.out.Ack(ctx, e.Seq, p.a.now())
			last = max(last, e.Seq)
			continue
		}
		if !p.client.IsConnectionOpen() {
			firstErr = errNotConnected
			break
		}
		inflight = append(inflight, sent{e.Seq, p.client.Publish(topic, 1, false, payload)})
	}
	for _, s := range inflight {
		if !waitToken(ctx, s.tok, ackTimeout) {
			if firstErr == nil {
				firstErr = fmt.Errorf("no acknowledgement for seq %d within %s", s.seq, ackTimeout)
			}
			break
		}
		if err := s.tok.Error(); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("publish seq %d: %w", s.seq, err)
			}
			break
		}
		if err := p.a.out.Ack(ctx, s.seq, p.a.now()); err != nil {
			p.a.log.Error("outbox: acknowledgement not recorded; the observation will be sent again", "seq", s.seq, "error", err)
		}
		p.a.metrics.published.Inc()
		last = s.seq
	}
	return last, firstErr
}

// resync publishes again every entry still held from seq from on (mqtt.md §6), in order.
func (p *publisher) resync(ctx context.Context, from uint64) resyncDone {
	topic := p.topics.Obs(p.a.cfg.Agent.ID)
	var d resyncDone
	next := from
	for {
		batch, err := p.a.out.Since(ctx, next, window)
		if err != nil {
			d.err = err
			break
		}
		if len(batch) == 0 {
			break
		}
		var toks []mqtt.Token
		for _, e := range batch {
			payload, err := p.seal(e)
			if err != nil {
				continue
			}
			toks = append(toks, p.client.Publish(topic, 1, false, payload))
		}
		for _, t := range toks {
			if !waitToken(ctx, t, ackTimeout) || t.Error() != nil {
				d.err = fmt.Errorf("resend interrupted after %d observations: %v", d.sent, t.Error())
				break
			}
			d.sent++
		}
		if d.err != nil {
			break
		}
		next = batch[len(batch)-1].Seq + 1
	}
	d.oldest, _ = p.a.out.Oldest(ctx)
	return d
}

// requestResync hands a resync to the publishing goroutine (the only one that publishes
// observations, so resent entries never interleave with a batch) and waits for it.
func (p *publisher) requestResync(ctx context.Context, from uint64) resyncDone {
	r := resyncReq{from: from, done: make(chan resyncDone, 1)}
	select {
	case p.resyncs <- r:
	case <-ctx.Done():
		return resyncDone{err: ctx.Err()}
	}
	select {
	case d := <-r.done:
		return d
	case <-ctx.Done():
		return resyncDone{err: ctx.Err()}
	}
}

func waitToken(ctx context.Context, t mqtt.Token, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.Done():
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
