package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/wire"
)

// staleLock is how old an unlock or lock command may be and still be executed. A persistent
// session delivers commands queued while the agent was away; opening a cabinet because of an
// order given long ago would be wrong, so such a command is answered with an error instead.
const staleLock = 2 * time.Minute

// commands executes custodyd's commands one at a time until ctx ends.
func (p *publisher) commands(ctx context.Context) {
	seen := newRecent(4096)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-p.cmds:
			p.a.command(ctx, m.Payload(), seen)
		}
	}
}

// command checks and executes one command envelope and answers with a cmd_result.
func (a *Agent) command(ctx context.Context, payload []byte, seen *recent) {
	env, err := wire.Parse(payload, wire.DirCmd)
	if err != nil {
		a.metrics.cmdRejected.WithLabelValues(string(wire.ReasonOf(err))).Inc()
		a.log.Warn("command refused", "reason", wire.ReasonOf(err), "error", err)
		return
	}
	if env.Agent != a.cfg.Agent.ID {
		a.metrics.cmdRejected.WithLabelValues("agent_mismatch").Inc()
		a.log.Warn("command refused: addressed to another agent", "to", env.Agent, "id", env.ID)
		return
	}
	mac := a.cfg.CryptoProfile().EnvelopeMAC()
	h, _ := cryptoprofile.MACHash(mac)
	if err := env.VerifyWith(wire.DirCmd, a.cfg.Agent.KeyBytes, mac, h); err != nil {
		// An unsigned or wrongly signed command gets no answer: its id cannot be trusted.
		a.metrics.cmdRejected.WithLabelValues(string(wire.ReasonBadMAC)).Inc()
		a.log.Warn("command refused: bad signature", "id", env.ID, "kind", env.Kind, "error", err)
		return
	}
	if seen.has(env.ID) {
		a.log.Info("command already executed; ignored", "id", env.ID, "kind", env.Kind)
		return
	}
	seen.add(env.ID)
	res := wire.CmdResult{Cmd: env.ID, Kind: env.Kind}
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		msg = wire.ClipText(msg)
		res.Error = msg
	}
	body, err := env.DecodeBody(wire.DirCmd)
	if err != nil {
		fail("%v", err)
	} else {
		a.log.Info("command", "id", env.ID, "kind", env.Kind)
		switch b := body.(type) {
		case *wire.InventoryCmd:
			if !a.Trigger(b.Cabinet, b.Mode, "custodyd: "+nonEmpty(b.Reason, b.Mode)) {
				fail("cabinet %s is not served by agent %s", b.Cabinet, a.cfg.Agent.ID)
			}
		case *wire.Unlock, *wire.Lock:
			a.lockCommand(ctx, env, body, fail)
		case *wire.EncodeTag:
			tag, msg := a.encodeTag(ctx, env, b)
			res.Tag = tag
			if msg != "" {
				fail("%s", msg)
			}
		case *wire.Resync:
			if last := a.out.LastSeq(); b.From > last+1 {
				// custodyd holds seqs this outbox never gave: the file was replaced or lost.
				// Everything new would be dropped by custodyd as a replay, so say so loudly.
				msg := fmt.Sprintf("custodyd asks from seq %d but this outbox's last seq is %d: the outbox file %s was replaced; re-enroll the agent or reset its sequence in custodyd", b.From, last, a.out.Path())
				a.log.Error("sequence behind custodyd", "from", b.From, "last_seq", last)
				a.Fault(ctx, "outbox", "seq_behind", msg, false)
			}
			d := a.pub.requestResync(ctx, b.From)
			res.Oldest = d.oldest
			if d.err != nil {
				fail("resync from %d: %v", b.From, d.err)
			}
			a.log.Info("resync done", "from", b.From, "sent", d.sent, "oldest", d.oldest)
			// custodyd saw a gap: it may also have missed the state of the cabinets. custodyd
			// repeats a resync while a gap stays open, so the fresh inventory is rate-limited.
			if a.resyncRoundDue() {
				for _, c := range a.cabinets {
					c.trigger(modeNow, "resync")
				}
			}
		}
	}
	ok := res.Error == ""
	res.OK = &ok
	if !ok {
		a.log.Warn("command failed", "id", env.ID, "kind", env.Kind, "error", res.Error)
	}
	a.emit(ctx, wire.KindCmdResult, res)
}

func (a *Agent) lockCommand(ctx context.Context, env wire.Envelope, body any, fail func(string, ...any)) {
	if at, err := wire.ParseTime(env.At); err == nil {
		if age := a.now().Sub(at); age > staleLock {
			fail("command is %s old (limit %s); not executed — send it again if it is still wanted", age.Round(time.Second), staleLock)
			return
		}
	}
	if a.locks == nil {
		fail("no cabinet controller is configured on agent %s", a.cfg.Agent.ID)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch b := body.(type) {
	case *wire.Unlock:
		d := time.Duration(b.Seconds) * time.Second
		if d == 0 {
			d = 10 * time.Second
		}
		if err := a.locks.Unlock(cctx, b.Cabinet, d); err != nil {
			fail("unlock cabinet %s: %v", b.Cabinet, err)
		}
	case *wire.Lock:
		if err := a.locks.Lock(cctx, b.Cabinet); err != nil {
			fail("lock cabinet %s: %v", b.Cabinet, err)
		}
	}
}

// resyncRoundEvery bounds how often resyncs trigger inventories of every cabinet.
const resyncRoundEvery = 5 * time.Minute

func (a *Agent) resyncRoundDue() bool {
	a.roundMu.Lock()
	defer a.roundMu.Unlock()
	now := a.now()
	if !a.lastResyncRound.IsZero() && now.Sub(a.lastResyncRound) < resyncRoundEvery {
		return false
	}
	a.lastResyncRound = now
	return true
}

func nonEmpty(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// recent remembers the last n command ids, so a command delivered twice (QoS 1) runs once.
type recent struct {
	n    int
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{n: n, ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recent) has(id string) bool { _, ok := r.ids[id]; return ok }

func (r *recent) add(id string) {
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.ids[id] = struct{}{}
	r.next = (r.next + 1) % r.n
}
