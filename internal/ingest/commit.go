package ingest

// Group commit: a batch is stored in one transaction, acknowledged, then handed on.

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

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
	in.conn.Answered(*r)
	if r.Kind != wire.KindResync {
		return
	}
	in.gaps.answered(e.Agent, r.Cmd)
	if r.Oldest <= 1 {
		return
	}
	oldest, g, open := in.gaps.unfillable(e.Agent, r.Oldest)
	if !open {
		return
	}
	st, err := in.st.SkipObservations(ctx, e.Agent, oldest)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		in.log.Error("ingest: closing an unfillable gap failed", "agent", e.Agent, "err", err)
		return
	}
	in.log.Warn("observations lost for good: the agent no longer holds them", "agent", e.Agent, "from", g.from, "below", r.Oldest)
	if n := lost(g, r.Oldest, st); n > 0 {
		in.m.lost.Add(float64(n))
	}
	in.noteStates([]store.SeqState{st}, time.Now())
}
