// Package calibrate checks the miss estimate that reconcile shows next to "suspected" — the
// chance that a present tag went unread — against ground truth: it simulates cabinet-nights with
// the simulator's read model (sim.Field: each tag answers each pass with its own probability),
// runs every round through the agent's real round logic (package round) and every report through
// reconcile.Reconcile with the shipped policy, and compares what was predicted with what
// happened. Run by `go test ./internal/reconcile/calibrate -run TestCalibrationTable -args
// -write`, which rewrites docs/miss-calibration.md, and by its benchmark, which prints the
// figures as BENCH lines.
//
// Contract: deterministic for a seed; no clock, no store, no network (time is simulated).
package calibrate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/agent/round"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/reconcile"
)

// Config is one simulation.
type Config struct {
	Cabinets   int     // independent cabinets
	Nights     int     // nights per cabinet
	Tags       int     // own tags per cabinet, spread over four antennas
	PMin, PMax float64 // per-pass read probability of each own tag, uniform in [PMin, PMax]
	CrossReads int     // a neighbour's tags heard through the wall, per-pass probability 0.02–0.15
	DoorRate   float64 // chance per night of a door cycle before the nightly round
	// RemovalRate is the chance per night that a door cycle takes one copy away without a
	// checkout being recorded: a real removal the system must confirm. The copy comes back (is
	// put back on the shelf) the night after it is confirmed.
	RemovalRate float64
	Seed        uint64
}

// Sample is one present tag in one complete round: the chance reconcile predicted that it would
// go unread (from the history before the round) and whether it did.
type Sample struct {
	Pred   float64
	Missed bool
	// Pooled is what the estimator before issue 22 showed: (1 − the round's typical rate)^passes,
	// the same for every tag of the round. Kept to show in the table how far off it was.
	Pooled float64
}

// Outcome is what a simulation observed.
type Outcome struct {
	Nights  int
	Rounds  int
	Samples []Sample
	// FalseConfirmed counts missing or unrecorded_removal findings that became confirmed while
	// the copy was in fact in the cabinet.
	FalseConfirmed int
	// ConfirmDelays are, for each real removal confirmed, the time from the door opening to the
	// end of the round that confirmed it.
	ConfirmDelays []time.Duration
	// Unconfirmed counts real removals not confirmed by the end of the simulation.
	Unconfirmed int
}

// Limits the agent ships (internal/agent/config defaults): quiet_passes 3, max_passes 20; a
// confirming round twice as quiet and three times as long, aiming at 1e-5.
var (
	normalLimits  = round.Limits{QuietPasses: 3, MaxPasses: 20, TimeLimit: time.Hour}
	confirmLimits = round.Limits{QuietPasses: 6, MaxPasses: 60, TimeLimit: time.Hour, TargetMissChance: 1e-5}
)

// maxConfirms is how many confirming rounds in a row the checker asks for (alert.MaxConfirms).
const maxConfirms = 3

const cabinet = "C-01"

// Run simulates the configuration.
func Run(cfg Config) (Outcome, error) {
	var out Outcome
	for c := range cfg.Cabinets {
		if err := runCabinet(cfg, uint64(c), &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

type tagState struct {
	tag     sim.Tag
	item    reconcile.Item
	present bool
	gone    time.Time // when it was taken, for a removal
}

type cab struct {
	cfg     Config
	rng     *rand.Rand
	field   *sim.Field
	tags    []*tagState
	cross   []sim.Tag
	hist    map[string]reconcile.TagHistory
	open    []reconcile.Finding
	clock   time.Time
	roundN  int
	out     *Outcome
	pending time.Time // a recheck asked for by Reconcile (removal grace)
	last    reconcile.Report
}

func runCabinet(cfg Config, idx uint64, out *Outcome) error {
	rng := rand.New(rand.NewPCG(cfg.Seed, idx))
	c := &cab{cfg: cfg, rng: rng, hist: map[string]reconcile.TagHistory{}, out: out,
		clock: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)}
	for i := range cfg.Tags {
		epc := fmt.Sprintf("30340A1B2C%06X%08X", idx, i+1)
		p := cfg.PMin + rng.Float64()*(cfg.PMax-cfg.PMin)
		c.tags = append(c.tags, &tagState{
			tag:     sim.Tag{EPC: epc, Antenna: i%4 + 1, ReadProbability: p, RSSIDBm: -50 - rng.IntN(20)},
			item:    reconcile.Item{ID: int64(i + 1), Number: fmt.Sprintf("D/%d", i+1), Level: custody.Secret, EPC: epc, State: custody.InCabinet, Cabinet: cabinet},
			present: true,
		})
	}
	for i := range cfg.CrossReads {
		c.cross = append(c.cross, sim.Tag{EPC: fmt.Sprintf("30340A1B2C%06XFF%06X", idx, i+1), Antenna: 4, ReadProbability: 0.02 + rng.Float64()*0.13, RSSIDBm: -78, CrossRead: true})
	}
	f, err := sim.NewField(sim.Scenario{Tags: c.fieldTags(), Seed: cfg.Seed ^ (idx * 0x9E3779B97F4A7C15)})
	if err != nil {
		return err
	}
	c.field = f
	for range cfg.Nights {
		out.Nights++
		day := c.clock.Truncate(24 * time.Hour)
		// Put back what was confirmed taken (the copy turns up and is shelved again).
		for _, t := range c.tags {
			if !t.present && t.gone.IsZero() {
				t.present = true
			}
		}
		if err := c.field.SetTags(c.fieldTags()); err != nil {
			return err
		}
		var doors []reconcile.Door
		if opened := cfg.DoorRate + cfg.RemovalRate; opened > 0 && rng.Float64() < opened {
			open := day.Add(18 * time.Hour)
			d := reconcile.Door{Cabinet: cabinet, Open: open, Close: open.Add(3 * time.Minute)}
			doors = append(doors, d)
			if rng.Float64() < cfg.RemovalRate/opened {
				if t := c.pick(); t != nil {
					t.present, t.gone = false, open
					if err := c.field.SetTags(c.fieldTags()); err != nil {
						return err
					}
				}
			}
			// The agent runs a round when the door closes.
			c.clock = d.Close.Add(10 * time.Second)
			if err := c.cycle(doors, false); err != nil {
				return err
			}
			if !c.pending.IsZero() {
				// The removal grace ends: the checker reconciles the latest report again.
				c.clock = c.pending
				if err := c.reconcileAgain(doors); err != nil {
					return err
				}
			}
		}
		c.clock = day.Add(22 * time.Hour)
		if err := c.cycle(doors, false); err != nil {
			return err
		}
		c.clock = day.Add(32 * time.Hour) // next morning
	}
	for _, t := range c.tags {
		if !t.present && !t.gone.IsZero() {
			out.Unconfirmed++
		}
	}
	return nil
}

// pick chooses a present copy to take away, if none is away already.
func (c *cab) pick() *tagState {
	for _, t := range c.tags {
		if !t.present {
			return nil
		}
	}
	return c.tags[c.rng.IntN(len(c.tags))]
}

func (c *cab) fieldTags() []sim.Tag {
	var ts []sim.Tag
	for _, t := range c.tags {
		if t.present {
			ts = append(ts, t.tag)
		}
	}
	return append(ts, c.cross...)
}

func (c *cab) items() []reconcile.Item {
	items := make([]reconcile.Item, 0, len(c.tags)+len(c.cross))
	for _, t := range c.tags {
		items = append(items, t.item)
	}
	for i, x := range c.cross {
		items = append(items, reconcile.Item{ID: int64(10000 + i), Number: fmt.Sprintf("N/%d", i), Level: custody.Secret, EPC: x.EPC, State: custody.InCabinet, Cabinet: "C-02"})
	}
	return items
}

// elsewhere: the neighbour's tags were read firmly in their own cabinet an hour ago.
func (c *cab) elsewhere() map[string]reconcile.Sighting {
	m := map[string]reconcile.Sighting{}
	for _, x := range c.cross {
		m[x.EPC] = reconcile.Sighting{Cabinet: "C-02", Round: "n", At: c.clock.Add(-time.Hour), Passes: 5, Of: 5, RSSI: -50}
	}
	return m
}

// cycle runs a round and the confirming rounds it asks for.
func (c *cab) cycle(doors []reconcile.Door, confirm bool) error {
	for n := 0; ; n++ {
		res, err := c.round(doors, confirm)
		if err != nil {
			return err
		}
		if !res.Confirm || n >= maxConfirms {
			return nil
		}
		confirm = true
		c.clock = c.clock.Add(time.Minute)
	}
}

type passer struct{ c *cab }

func (p passer) Pass(_ context.Context, ps round.Pass) (round.PassResult, error) {
	var pr round.PassResult
	for _, a := range ps.Antennas {
		for _, epc := range p.c.field.Pass(a) {
			pr.Reads = append(pr.Reads, round.Read{EPC: epc, Antenna: a, RSSI: -55, At: p.c.clock})
		}
		pr.Antennas = append(pr.Antennas, round.AntennaStatus{Antenna: a, OK: true})
	}
	p.c.clock = p.c.clock.Add(700 * time.Millisecond) // four antennas, a dense shelf
	return pr, nil
}

type door struct{}

func (door) DoorState(string) (round.DoorState, uint64) { return round.DoorClosed, 0 }

// round runs one round, reconciles it and keeps the books.
func (c *cab) round(doors []reconcile.Door, confirm bool) (reconcile.Result, error) {
	c.roundN++
	lim := normalLimits
	if confirm {
		lim = confirmLimits
	}
	spec := round.Spec{ID: fmt.Sprintf("r%d", c.roundN), Cabinet: cabinet, Antennas: []int{1, 2, 3, 4}, Limits: lim}
	rr, err := round.Run(context.Background(), spec, passer{c}, door{}, func() time.Time { return c.clock })
	if err != nil {
		return reconcile.Result{}, err
	}
	rep := reconcile.Report{Agent: "a", Cabinet: cabinet, Round: rr.ID, Start: rr.Started, End: rr.Ended, Passes: rr.Passes, Complete: rr.Complete, Confirm: confirm}
	for _, a := range rr.Antennas {
		rep.Antennas = append(rep.Antennas, reconcile.Antenna{Port: a.Antenna, OK: a.OK})
	}
	for _, t := range rr.Tags {
		rep.Tags = append(rep.Tags, reconcile.Tag{EPC: t.EPC, Antennas: t.Antennas, RSSI: t.BestRSSI, Reads: t.Reads, Passes: t.PassesSeen, First: t.FirstSeen, Last: t.LastSeen})
	}
	c.out.Rounds++
	items := c.items()
	res := reconcile.Reconcile(reconcile.Input{Now: c.clock, Report: rep, Items: items, Doors: doors, Elsewhere: c.elsewhere(), Open: c.open, History: c.hist})
	complete := !slices.ContainsFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.InventoryIncomplete })
	if complete {
		// Ground truth against prediction, for every copy that was really there.
		read := map[string]bool{}
		for _, t := range rep.Tags {
			read[t.EPC] = true
		}
		for _, t := range c.tags {
			if t.present {
				c.out.Samples = append(c.out.Samples, Sample{Pred: reconcile.TagPUnread(res.Stats, c.hist[t.tag.EPC]), Missed: !read[t.tag.EPC],
					Pooled: math.Pow(1-res.Stats.ReadRate, float64(res.Stats.Passes))})
			}
		}
		reconcile.AddHistory(c.hist, rep, items)
	}
	c.apply(res)
	c.last = rep
	c.pending = res.RecheckAt
	return res, nil
}

// reconcileAgain is the checker's recheck when a removal grace ends: the latest report, now.
func (c *cab) reconcileAgain(doors []reconcile.Door) error {
	res := reconcile.Reconcile(reconcile.Input{Now: c.clock, Report: c.last, Items: c.items(), Doors: doors, Elsewhere: c.elsewhere(), Open: c.open, History: c.hist})
	c.apply(res)
	c.pending = res.RecheckAt
	if res.Confirm {
		c.clock = c.clock.Add(time.Minute)
		return c.cycle(doors, true)
	}
	return nil
}

// apply keeps the open findings as the alert book would, and scores new confirmations.
func (c *cab) apply(res reconcile.Result) {
	byKey := map[reconcile.Key]reconcile.Finding{}
	for _, f := range c.open {
		byKey[f.Key()] = f
	}
	for _, k := range res.Cleared {
		delete(byKey, k)
	}
	for _, f := range res.Findings {
		prev, had := byKey[f.Key()]
		byKey[f.Key()] = f
		if !f.Kind.Loss() || f.Confidence != reconcile.Confirmed || (had && prev.Confidence == reconcile.Confirmed) {
			continue
		}
		t := c.byItem(f.ItemID)
		if t == nil {
			continue
		}
		if t.present {
			c.out.FalseConfirmed++
		} else if !t.gone.IsZero() {
			c.out.ConfirmDelays = append(c.out.ConfirmDelays, c.clock.Sub(t.gone))
			t.gone = time.Time{} // found out: it is put back the next night
		}
		// The custodian deals with a confirmed loss: the alert is resolved.
		delete(byKey, f.Key())
	}
	c.open = c.open[:0]
	for _, f := range byKey {
		c.open = append(c.open, f)
	}
	sort.Slice(c.open, func(i, j int) bool { return c.open[i].Subject < c.open[j].Subject })
}

func (c *cab) byItem(id int64) *tagState {
	for _, t := range c.tags {
		if t.item.ID == id {
			return t
		}
	}
	return nil
}

// Bin is one row of the calibration table.
type Bin struct {
	Lo, Hi        float64
	N, Missed     int
	MeanPredicted float64
	Observed      float64
}

// Bins groups samples by predicted chance, on a log scale where most predictions lie.
func Bins(samples []Sample) []Bin { return bins(samples, func(s Sample) float64 { return s.Pred }) }

// PooledBins groups the same samples by the pooled estimate the code showed before issue 22.
func PooledBins(samples []Sample) []Bin {
	return bins(samples, func(s Sample) float64 { return s.Pooled })
}

func bins(samples []Sample, pred func(Sample) float64) []Bin {
	edges := []float64{0, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.4, 1.0000001}
	bins := make([]Bin, len(edges)-1)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = edges[i], edges[i+1]
	}
	for _, s := range samples {
		p := pred(s)
		for i := range bins {
			if p >= bins[i].Lo && p < bins[i].Hi {
				bins[i].N++
				bins[i].MeanPredicted += p
				if s.Missed {
					bins[i].Missed++
				}
				break
			}
		}
	}
	for i := range bins {
		if bins[i].N > 0 {
			bins[i].MeanPredicted /= float64(bins[i].N)
			bins[i].Observed = float64(bins[i].Missed) / float64(bins[i].N)
		}
	}
	return bins
}

// MinBinSamples is how many samples a bin needs for its error to count.
const MinBinSamples = 200

// MaxError is the largest |mean predicted − observed| over bins with enough samples.
func MaxError(bins []Bin) float64 {
	var m float64
	for _, b := range bins {
		if b.N >= MinBinSamples {
			m = math.Max(m, math.Abs(b.MeanPredicted-b.Observed))
		}
	}
	return m
}

// Median of durations; 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Table renders the bins as Markdown.
func Table(bins []Bin) string {
	var b strings.Builder
	b.WriteString("| predicted chance unread | present-tag rounds | mean predicted | observed | difference | observed ÷ predicted |\n|---|---:|---:|---:|---:|---:|\n")
	for _, x := range bins {
		if x.N == 0 {
			continue
		}
		note := ""
		if x.N < MinBinSamples {
			note = " (few samples)"
		}
		ratio := "–"
		if x.MeanPredicted > 0 {
			ratio = fmt.Sprintf("%.2g", x.Observed/x.MeanPredicted)
		}
		fmt.Fprintf(&b, "| %g – %g | %d | %.5f | %.5f | %+.5f%s | %s |\n", x.Lo, math.Min(x.Hi, 1), x.N, x.MeanPredicted, x.Observed, x.Observed-x.MeanPredicted, note, ratio)
	}
	return b.String()
}
