package ingest

// The broker connection: paho options, subscribing on every connect, and the way out — signed
// commands and custodyd's announcements published on the same client.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/wire"
)

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
