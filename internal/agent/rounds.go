package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/agent/presence"
	"github.com/custodyhq/custody/internal/agent/round"
	"github.com/custodyhq/custody/internal/wire"
)

// readerWait is how long a round waits for its reader to be opened before it runs (and fails).
const readerWait = 10 * time.Second

// Inventory modes (wire.InventoryCmd.Mode).
const (
	modeNow     = "now"
	modeConfirm = "confirm"
)

// cabinetRunner runs the rounds of one cabinet, one at a time. Triggers that arrive while a round
// runs are merged into one next round (a confirm wins over a now), so a burst of triggers never
// queues a burst of rounds.
type cabinetRunner struct {
	a       *Agent
	cabinet string
	reader  *readerUnit
	spec    round.Spec // template; ID and limits set per round

	mu      sync.Mutex
	pending string // "" none, modeNow or modeConfirm
	reasons []string
	wake    chan struct{}
	closes  chan struct{} // a door closed: schedule the after-close scans
}

func newCabinetRunner(a *Agent, cabinet string, u *readerUnit, rc config.Reader, ants []config.Antenna) *cabinetRunner {
	s := round.Spec{Cabinet: cabinet, Reader: rc.ID, Session: rc.Session, TargetB: rc.Target == "B", Flip: rc.Flip(), Power: map[int]float64{}}
	for _, an := range ants {
		s.Antennas = append(s.Antennas, an.Port)
		if an.PowerDBm > 0 {
			s.Power[an.Port] = an.PowerDBm
		}
	}
	return &cabinetRunner{a: a, cabinet: cabinet, reader: u, spec: s, wake: make(chan struct{}, 1), closes: make(chan struct{}, 8)}
}

func (c *cabinetRunner) trigger(mode, reason string) {
	c.mu.Lock()
	if c.pending != modeConfirm {
		c.pending = mode
	}
	if len(c.reasons) < 8 {
		c.reasons = append(c.reasons, reason)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *cabinetRunner) afterClose() {
	select {
	case c.closes <- struct{}{}:
	default: // eight closes queued already: the scans they schedule overlap anyway
	}
}

func (c *cabinetRunner) take() (mode string, reasons []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mode, reasons = c.pending, c.reasons
	c.pending, c.reasons = "", nil
	return mode, reasons
}

// run executes rounds until ctx ends. After-close scans are timers owned here: each door close
// schedules one trigger per configured delay (Terso-style several scans spaced in time).
func (c *cabinetRunner) run(ctx context.Context) {
	var timers []*time.Timer
	fire := make(chan struct{}, 16)
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.closes:
			// A new close restarts the series: the door was open again, so the earlier series
			// would scan a cabinet that has changed since; its first scan comes soon anyway.
			for _, t := range timers {
				t.Stop()
			}
			timers = timers[:0]
			for _, d := range c.a.cfg.Schedule.AfterDoorClose {
				timers = append(timers, time.AfterFunc(d.Duration, func() {
					select {
					case fire <- struct{}{}:
					default:
					}
				}))
			}
		case <-fire:
			c.trigger(modeNow, "door closed")
		case <-c.wake:
			mode, reasons := c.take()
			if mode == "" {
				continue
			}
			c.runRound(ctx, mode, reasons)
		}
	}
}

// runRound runs one round and publishes what it found.
func (c *cabinetRunner) runRound(ctx context.Context, mode string, reasons []string) {
	a := c.a
	a.roundMu.Lock()
	a.roundN++
	n := a.roundN
	a.roundMu.Unlock()
	s := c.spec
	s.ID = fmt.Sprintf("%s.%s.%d", c.cabinet, a.boot[:8], n)
	rc := a.cfg.Rounds
	s.Limits = round.Limits{QuietPasses: rc.QuietPasses, MaxPasses: rc.MaxPasses, TimeLimit: rc.TimeLimit.Duration}
	if mode == modeConfirm {
		// A suspected miss: the most thorough round the configuration allows.
		s.Limits = round.Limits{QuietPasses: rc.ConfirmQuietPasses, MaxPasses: rc.ConfirmMaxPasses, TimeLimit: rc.ConfirmTimeLimit.Duration, TargetMissChance: 1e-5}
	}
	log := a.log.With("cabinet", c.cabinet, "round", s.ID, "mode", mode)
	if !c.reader.waitConnected(ctx, readerWait) {
		log.Warn("reader not connected; the round will fail", "reader", c.reader.cfg.ID)
	}
	log.Info("round started", "why", strings.Join(reasons, "; "))
	res, err := round.Run(ctx, s, c.reader, a, a.now)
	if err != nil {
		log.Error("round could not run", "error", err)
		return
	}
	if res.Stop == round.StopCancelled {
		log.Info("round cancelled: agent stopping", "passes", res.Passes)
		return
	}
	resolved, cross := a.resolver.Resolve(res)
	for _, x := range cross {
		log.Info("cross-read: tag taken to be in the neighbouring cabinet",
			"epc", x.EPC, "here_antenna", x.Here.Antenna, "here_rssi", x.Here.BestRSSI, "here_rate", x.Here.Rate,
			"there", x.There.Cabinet, "there_antenna", x.There.Antenna, "there_rssi", x.There.BestRSSI, "there_rate", x.There.Rate)
	}
	a.metrics.rounds.WithLabelValues(c.cabinet, fmt.Sprint(res.Complete)).Inc()
	a.metrics.roundPasses.Observe(float64(res.Passes))
	a.keepReport(resolved, cross, mode, reasons)
	log.Info("round ended", "complete", res.Complete, "incomplete", strings.Join(res.Incomplete, "; "), "stop", res.Stop,
		"passes", res.Passes, "tags", len(resolved.Tags), "cross_reads", len(cross), "read_rate", fmt.Sprintf("%.2f", res.MeanRate),
		"miss_chance", fmt.Sprintf("%.2g", res.MissChance), "took", res.Ended.Sub(res.Started).Round(time.Millisecond))
	if res.Passes == 0 {
		// No pass ran: nothing was observed, so there is no inventory to report (the contract
		// needs rounds ≥ 1). The fault says why; custodyd's deadline turns the silence into
		// inventory_missed.
		a.Fault(ctx, c.reader.cfg.ID, "round_failed", fmt.Sprintf("cabinet %s: %s", c.cabinet, strings.Join(res.Incomplete, "; ")), false)
		return
	}
	if err := a.emit(ctx, wire.KindInventory, inventoryBody(resolved)); err != nil {
		return
	}
	if ch := a.tracker.Observe(resolved); !ch.Empty() {
		log.Info("presence changed", "arrived", len(ch.Arrived), "left", len(ch.Left))
		a.emit(ctx, wire.KindPresence, wire.Presence{Cabinet: ch.Cabinet, Round: ch.Round, Arrived: ch.Arrived, Left: ch.Left})
	}
}

// inventoryBody is a round in the contract's words.
func inventoryBody(r round.Result) wire.Inventory {
	complete := r.Complete
	b := wire.Inventory{
		Cabinet: r.Cabinet, Round: r.ID,
		Started: r.Started.UTC().Format(wire.TimeLayout), Ended: r.Ended.UTC().Format(wire.TimeLayout),
		Rounds: r.Passes, Complete: &complete, Antennas: []wire.AntennaHealth{}, Tags: []wire.TagRead{},
	}
	for _, h := range r.Antennas {
		ok := h.OK
		msg := h.Error
		msg = wire.ClipText(msg)
		b.Antennas = append(b.Antennas, wire.AntennaHealth{Antenna: h.Antenna, OK: &ok, Error: msg})
	}
	for _, t := range r.Tags {
		if len(b.Tags) == wire.MaxTags {
			// More tags than one report may carry: the report cannot be complete.
			f := false
			b.Complete = &f
			break
		}
		b.Tags = append(b.Tags, wire.TagRead{EPC: t.EPC, Antenna: t.Antenna, RSSI: t.MeanRSSI, Reads: t.Reads, Passes: t.PassesSeen,
			FirstSeen: t.FirstSeen.UTC().Format(wire.TimeLayout), LastSeen: t.LastSeen.UTC().Format(wire.TimeLayout)})
	}
	return b
}

// roundReport is the last round of a cabinet with all its evidence, for /rounds on the health
// endpoint: what the contract's inventory body has no room for (reasons, read rate, miss chance,
// cross-reads) stays visible to the operator here and in the log.
type roundReport struct {
	Mode       string                `json:"mode"`
	Why        []string              `json:"why"`
	Round      string                `json:"round"`
	Started    time.Time             `json:"started"`
	Ended      time.Time             `json:"ended"`
	Passes     int                   `json:"passes"`
	Stop       string                `json:"stop"`
	Complete   bool                  `json:"complete"`
	Incomplete []string              `json:"incomplete,omitempty"`
	Notes      []string              `json:"notes,omitempty"`
	Tags       int                   `json:"tags"`
	ReadRate   float64               `json:"read_rate"`
	MissChance float64               `json:"miss_chance"`
	Antennas   []round.AntennaHealth `json:"antennas"`
	CrossReads []presence.CrossRead  `json:"cross_reads,omitempty"`
}

func (a *Agent) keepReport(r round.Result, cross []presence.CrossRead, mode string, why []string) {
	a.roundMu.Lock()
	defer a.roundMu.Unlock()
	a.lastRuns[r.Cabinet] = roundReport{Mode: mode, Why: why, Round: r.ID, Started: r.Started, Ended: r.Ended, Passes: r.Passes,
		Stop: r.Stop, Complete: r.Complete, Incomplete: r.Incomplete, Notes: r.Notes, Tags: len(r.Tags),
		ReadRate: r.MeanRate, MissChance: r.MissChance, Antennas: r.Antennas, CrossReads: cross}
}
