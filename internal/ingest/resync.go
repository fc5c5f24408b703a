package ingest

// Gaps and resync: which seqs of each agent are missing, and asking the agent to send them again.

import (
	"context"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// noteStates records which agents have a hole, and since when (the gap book), and shows how many.
func (in *Ingest) noteStates(states []store.SeqState, now time.Time) {
	in.m.gaps.Set(float64(in.gaps.note(states, now)))
}

// gapLoop asks agents to resync: holes older than ResyncGrace (again every ResyncRetry), agents
// that just came online (what they sent while the broker was away may be gone), and every agent
// after our own (re)connect or a loss in transit (resyncAll, LostInTransit).
func (in *Ingest) gapLoop(ctx context.Context) {
	tick := time.NewTicker(min(max(in.cfg.ResyncGrace/4, 20*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case agent := <-in.avail:
			// After our own (re)connect, resyncAll has just asked every agent, and the broker
			// then hands us every retained "online": ask once, not twice.
			if !in.gaps.askedRecently(agent, time.Now()) {
				in.resync(ctx, agent, 0, false)
			}
		case <-in.resyncN:
			in.resyncAll(ctx)
		case now := <-tick.C:
			if lost := in.lostSince.Load(); lost != 0 {
				quiet := len(in.msgs) == 0 && now.Sub(time.Unix(0, in.lastMsg.Load())) >= min(in.cfg.ResyncGrace, time.Second)
				if quiet || now.Sub(time.Unix(0, lost)) >= in.cfg.ResyncRetry {
					in.lostSince.Store(0)
					in.resyncAll(ctx)
				}
			}
			for _, a := range in.gaps.due(now) {
				in.resyncHoles(ctx, a)
			}
			for _, a := range in.gaps.tailsDue(now) {
				in.log.Warn("ingest: an agent has not answered a resync; asking again", "agent", a)
				in.resync(ctx, a, 0, false)
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
	after, skipThrough, ok := in.gaps.holes(agent, now)
	if !ok {
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
		id, err := in.conn.Send(ctx, agent, wire.KindResync, wire.Resync{From: h.From, To: h.To})
		if err != nil {
			in.log.Warn("ingest: resync request not sent", "agent", agent, "from", h.From, "err", err)
			return
		}
		in.m.resyncs.Inc()
		in.log.Info("resync requested", "agent", agent, "from", h.From, "to", h.To, "cmd", id)
	}
	if through > 0 {
		in.gaps.askedHoles(agent, through, skipThrough == 0, now)
	}
}

// resync asks agent to publish again from its first missing seq (from its state; from=1 when we
// know nothing of it yet). holeOnly asks just for the known hole (a gap below stored seqs);
// otherwise everything from there on, since a tail may be missing too.
func (in *Ingest) resync(ctx context.Context, agent string, from uint64, holeOnly bool) {
	from, to := in.gaps.resyncRange(agent, from, holeOnly, time.Now())
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
	id, err := in.conn.Send(ctx, agent, wire.KindResync, wire.Resync{From: from, To: to})
	if err != nil {
		in.log.Warn("ingest: resync request not sent", "agent", agent, "from", from, "err", err)
		return
	}
	if to == 0 {
		in.gaps.askedAll(agent, id, time.Now())
	}
	in.m.resyncs.Inc()
	in.log.Info("resync requested", "agent", agent, "from", from, "to", to, "cmd", id)
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
