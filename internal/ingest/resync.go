package ingest

// Gaps and resync: which seqs of each agent are missing, and asking the agent to send them again.

import (
	"context"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

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
