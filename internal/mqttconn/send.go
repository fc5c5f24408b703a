package mqttconn

// The way out: signed commands to agents and custodyd's own announcements.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// ErrNotConnected is returned by Send and Publish before Run has started.
var ErrNotConnected = errors.New("mqtt: not running")

// MaxPublish bounds what custodyd publishes in one message: its alerts and summary are a few
// kilobytes (docs/limits.md); a broker's packet limit is far above this.
const MaxPublish = 64 << 10

// Send signs a command for agent with its key and publishes it at QoS 1 on the agent's cmd topic,
// returning the command's envelope id (the agent's cmd_result names it). It waits for the broker's
// acknowledgement up to ctx or 10 s. Do not call it from a handler that must stay fast.
func (c *Conn) Send(ctx context.Context, agent, kind string, body any) (string, error) {
	cl := c.publisher()
	if cl == nil {
		return "", ErrNotConnected
	}
	key, revoked, err := c.keys.AgentKey(ctx, agent)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("command %s for %s: agent is unknown_agent", kind, agent)
	case err != nil:
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	case revoked:
		return "", fmt.Errorf("command %s for %s: agent is revoked", kind, agent)
	}
	// A command is MACed with the algorithm its agent was enrolled with, as its envelopes are.
	mac := wire.MACSHA256
	if m, ok := c.keys.(interface {
		AgentMACAlg(ctx context.Context, id string) (string, error)
	}); ok {
		if mac, err = m.AgentMACAlg(ctx, agent); err != nil {
			return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
		}
	}
	h, known := cryptoprofile.MACHash(mac)
	if !known {
		return "", fmt.Errorf("command %s for %s: enrolled with an unknown MAC %q", kind, agent, mac)
	}
	seq := c.cmdSeq.Add(1)
	id := "cmd-" + c.boot + "-" + strconv.FormatUint(seq, 10)
	env, err := wire.SealWith(wire.DirCmd, mac, h, key, agent, c.boot, seq, id, time.Now(), kind, body)
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
	c.answers.sent(id, agent) // before the publish: a fast agent answers before it returns
	err = publish(ctx, cl, c.topics.Cmd(agent), p)
	c.notePublish(err)
	if err != nil {
		return "", fmt.Errorf("command %s for %s: %w", kind, agent, err)
	}
	return id, nil
}

// Publish sends custodyd's own announcements (alerts, the morning summary) at QoS 1 and waits
// for the broker's acknowledgement up to ctx or 10 s.
func (c *Conn) Publish(ctx context.Context, topic string, payload []byte) error {
	cl := c.publisher()
	if cl == nil {
		return ErrNotConnected
	}
	if len(payload) > MaxPublish {
		// Never hand the broker what it would answer by dropping our connection (and with it
		// ingest): refuse here, loudly.
		err := fmt.Errorf("publish on %s: %d bytes is more than custodyd publishes (%d)", topic, len(payload), MaxPublish)
		c.notePublish(err)
		return err
	}
	err := publish(ctx, cl, topic, payload)
	c.notePublish(err)
	return err
}

func (c *Conn) publisher() Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// notePublish records a publish outcome for Health and the metrics. A publish that fails marks
// the connection unhealthy until one succeeds; the caller does not loop on it.
func (c *Conn) notePublish(err error) {
	c.health.published(err, time.Now())
	if err != nil {
		c.m.publishFailures.Inc()
	}
}

func publish(ctx context.Context, c Client, topic string, payload []byte) error {
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
