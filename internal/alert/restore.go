package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// Restore rebuilds, at start, what the checker otherwise keeps only in memory, from the
// observations ingest stored in the last window: the door cycles, each cabinet's latest report
// and the sightings it made; every cabinet with a report in the window is reconciled again at the
// next Recheck. That covers two losses a restart would otherwise cause: an item taken during a
// door cycle whose removal grace was still running (it would not be looked at again until the
// cabinet's next round — perhaps the nightly inventory), and a report stored by ingest but not
// yet reconciled when custodyd stopped. Reconciling a report twice changes nothing (one open
// finding per kind and subject). Call it before the observer runs; window should cover the
// removal grace.
func (c *Checker) Restore(ctx context.Context, window time.Duration) error {
	return c.RestoreUpTo(ctx, window, 0)
}

// RestoreUpTo is Restore from the observations at or before position upTo (0: all): a new
// leader rebuilds the memory its predecessor had at its mark, then is fed what follows it
// (store.ObservationsAfter), so no door event is counted twice.
func (c *Checker) RestoreUpTo(ctx context.Context, window time.Duration, upTo int64) error {
	now := c.now()
	since := now.Add(-window)
	decode := func(o store.Observation) (any, bool) {
		e := wire.Envelope{V: o.V, Agent: o.Agent, Boot: o.Boot, Seq: o.Seq, ID: o.ID, At: o.At, Kind: o.Kind, Body: json.RawMessage(o.Body), MAC: o.MAC}
		body, err := e.DecodeBody(wire.DirObs)
		if err != nil {
			c.log.Warn("restore: stored observation unreadable; skipped", "agent", o.Agent, "id", o.ID, "err", err)
			return nil, false
		}
		return body, true
	}
	err := c.st.RecentObservationsUpTo(ctx, since, upTo, wire.KindDoor, false, func(o store.Observation) error {
		at, err := time.Parse(time.RFC3339Nano, o.At)
		if b, ok := decode(o); ok && err == nil {
			d := b.(*wire.Door)
			c.Door(d.Cabinet, d.State, d.Badge, at)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore door cycles: %w", err)
	}
	// Only each cabinet's latest report matters: read newest first and decode a report in full
	// only for a cabinet not yet seen (agents with a one-minute schedule store many).
	latest := map[string]reconcile.Report{}
	err = c.st.RecentObservationsUpTo(ctx, since, upTo, wire.KindInventory, true, func(o store.Observation) error {
		var head struct {
			Cabinet string `json:"cabinet"`
		}
		if json.Unmarshal(o.Body, &head) != nil {
			return nil
		}
		if _, done := latest[head.Cabinet]; done {
			return nil
		}
		b, ok := decode(o)
		if !ok {
			return nil
		}
		if r, err := FromWire(o.Agent, *b.(*wire.Inventory)); err == nil {
			latest[r.Cabinet] = r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore latest reports: %w", err)
	}
	if err := c.RestoreHistory(ctx); err != nil {
		return err
	}
	// The cabinet alarms still live (open findings), so a door opening on battery after a
	// restart still makes power_lost critical, and a clear still finds what it ends.
	open, err := c.book.Findings(ctx, Filter{Active: true}, 0)
	if err != nil {
		return fmt.Errorf("restore cabinet alarms: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range open {
		if f.Kind.Alarm() && f.Cabinet != "" {
			s := c.cab(f.Cabinet)
			s.active[f.Kind] = raised{since: f.Evidence.Since, fault: f.Evidence.Fault, agent: f.Agent}
			s.events = f.Evidence.Events
		}
	}
	for cab, r := range latest {
		c.latest[cab] = r
		c.noteSightings(r)
		c.recheck[cab] = now
	}
	c.log.Info("restored door cycles and reports from stored observations", "window", window, "cabinets", len(latest))
	return nil
}

// noteSightings records where r read each tag. c.mu must be held.
func (c *Checker) noteSightings(r reconcile.Report) {
	for _, t := range r.Tags {
		k := t.Passes
		if k == 0 {
			k = min(t.Reads, r.Passes)
		}
		c.sightings[strings.ToUpper(t.EPC)] = reconcile.Sighting{Cabinet: r.Cabinet, Round: r.Round, At: r.End, Passes: k, Of: r.Passes, RSSI: t.RSSI}
	}
}
