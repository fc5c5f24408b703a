package ingest

// The way in: each message is parsed and checked (topic, envelope, agent, MAC, seq bound, body,
// the places it speaks for) before it may join a batch; what fails is dropped here, counted and
// logged once with its reason (mqtt.md §7).

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/wire"
)

// drop refuses one message: counted, logged once, acknowledged (redelivering it would not help).
func (in *Ingest) drop(m mqttconn.Message, agent string, reason string, detail string) {
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
func (in *Ingest) check(ctx context.Context, m mqttconn.Message) (item, bool) {
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
	if !in.authentic(ctx, m, &env) {
		return item{}, false
	}
	if mark := in.gaps.mark(env.Agent); env.Seq > mark.MaxSeen+MaxSeqAhead {
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
		if to := in.conn.Recipient(r.Cmd); to != "" && to != env.Agent {
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

// MaxSeqAhead is how far beyond the highest stored seq of an agent a new seq may be: an outbox
// keeps days of observations, never a million more than custodyd has seen (docs/limits.md).
const MaxSeqAhead = 1_000_000

// authentic is the one place an envelope's MAC is checked (mqtt.md §4): against the key its agent
// enrolled with. An envelope from an agent that is not enrolled or was revoked, or whose MAC does
// not match, is dropped here; false with nothing dropped means ctx ended during the key lookup
// (the message stays unacknowledged and is redelivered).
func (in *Ingest) authentic(ctx context.Context, m mqttconn.Message, env *wire.Envelope) bool {
	key, mac, ok := in.agentKey(ctx, m, env.Agent)
	if !ok {
		return false
	}
	h, known := cryptoprofile.MACHash(mac)
	if !known {
		in.drop(m, env.Agent, string(wire.ReasonMACAlg), "agent "+strconv.Quote(env.Agent)+" is enrolled with an unknown MAC "+strconv.Quote(mac))
		return false
	}
	// The MAC is computed with the algorithm the agent was enrolled with, never the one the
	// envelope names: naming another is a counted drop (wire.ReasonMACAlg), not a fallback.
	if err := env.VerifyWith(wire.DirObs, key, mac, h); err != nil {
		in.drop(m, env.Agent, string(wire.ReasonOf(err)), err.Error())
		return false
	}
	return true
}

// late handles an authentic envelope about a place its agent served when it made it, arriving
// after the place was rebound to another: refused like not_bound — its content is not applied,
// since the place's record now comes from its new agent, and only its seq is recorded — but
// counted as `rebound` and raised to nobody: it is the old agent's outbox catching up, not an
// attack.
func (in *Ingest) late(m mqttconn.Message, env wire.Envelope, detail string) (item, bool) {
	in.drops.log("rebound", env.Agent, m.Topic(), detail)
	in.m.dropped.WithLabelValues("rebound").Inc()
	return item{msg: m, env: env, refused: "rebound"}, true
}

// refuse handles an authentic envelope that speaks for what is not its agent's: counted and
// logged as not_bound, reported to the RefusalHandler, and passed on to the committer only to
// record that its seq was used (no content, no handler) — else the hole it leaves would be asked
// for again and again, and each answer refused again.
func (in *Ingest) refuse(m mqttconn.Message, env wire.Envelope, r Refusal, detail string) (item, bool) {
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
func (in *Ingest) agentKey(ctx context.Context, m mqttconn.Message, agent string) ([]byte, string, bool) {
	key, mac, reason, err := in.keys.getMAC(ctx, agent)
	for err != nil {
		if ctx.Err() != nil {
			return nil, "", false // stopping: unacknowledged, redelivered after the restart
		}
		in.log.Error("ingest: agent key lookup failed; retrying", "agent", agent, "err", err)
		select {
		case <-ctx.Done():
			return nil, "", false
		case <-time.After(time.Second):
		}
		key, mac, reason, err = in.keys.getMAC(ctx, agent)
	}
	if reason != "" {
		in.drop(m, agent, reason, "agent "+strconv.Quote(agent)+" is "+map[string]string{"unknown_agent": "not enrolled", "revoked": "revoked"}[reason])
		return nil, "", false
	}
	return key, mac, true
}

// availability handles an agent's retained online/offline message: passed to the handler (an
// agent that stops answering must become an alert), and on "online" the agent is asked for what
// it holds that we lack. The broker's ACL already limits who may write the topic; the register
// decides whether we still listen to that agent.
func (in *Ingest) availability(ctx context.Context, m mqttconn.Message, agent string) {
	state, err := wire.ParseAvailability(m.Payload())
	if err != nil {
		in.drop(m, agent, string(wire.ReasonOf(err)), err.Error())
		return
	}
	if _, _, ok := in.agentKey(ctx, m, agent); !ok {
		return
	}
	m.Ack()
	in.conn.Availability(agent, state)
	if h, ok := in.handler.(AvailabilityHandler); ok {
		h.HandleAvailability(agent, state, time.Now())
	}
	if state == "offline" {
		in.gaps.offline(agent)
	}
	if state == "online" {
		select {
		case in.avail <- agent:
		default: // the gap loop is behind; its next check of open gaps catches up
		}
	}
}
