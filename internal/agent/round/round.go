// Package round runs one inventory round of one cabinet: repeated passes over the cabinet's
// antennas until no new tag has appeared for a number of passes and the evidence says a present
// tag is unlikely to have gone unread, or until a pass or time limit.
//
// Contract: Run is pure logic over two small interfaces — a Passer that runs one pass on some
// antennas and returns the reads and each antenna's health, and a Door that says whether the
// cabinet's door is closed — so it runs the same against a real reader, the simulator and a test
// table. It never decides that a tag is missing: it reports what it saw and how sure it is. A
// Result is Complete only when every antenna of the cabinet worked in every pass, no pass failed,
// and the door was closed (and stayed closed) for the whole round; otherwise Incomplete lists why,
// in operator words. Reads on antennas outside the plan are ignored.
//
// How sure: each tag's detection rate is estimated as passes seen / passes run; MissChance is
// (1 − mean rate)^passes, the chance that a present tag with the typical read rate was never read
// in the whole round (capture–recapture reasoning; field read rates of 60–70 % per pass are
// normal in steel cabinets). The round continues past the quiet-pass rule until MissChance is
// below Limits.TargetMissChance or a limit is reached, and says which one stopped it.
package round

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Pass is one pass request: the antennas, the Gen2 session and target, and per-antenna power.
type Pass struct {
	Antennas []int
	Session  int
	TargetB  bool            // false = target A
	Power    map[int]float64 // dBm per antenna; 0 or absent keeps the reader's setting
}

// Read is one tag report from a pass.
type Read struct {
	EPC     string // upper-case hex
	Antenna int
	RSSI    float64 // dBm
	At      time.Time
	Count   int // reads folded into the report; 0 counts as 1
}

// AntennaStatus is one antenna's health in a pass.
type AntennaStatus struct {
	Antenna int
	OK      bool
	Error   string // operator words when !OK
}

// PassResult is what one pass saw.
type PassResult struct {
	Reads    []Read
	Antennas []AntennaStatus // antennas the reader reported on; an antenna of the plan missing here counts as failed
}

// Passer runs one pass. An error means the pass as a whole failed (reader unplugged, timeout).
type Passer interface {
	Pass(ctx context.Context, p Pass) (PassResult, error)
}

// DoorState is what a cabinet's controller says about its door.
type DoorState int

// Door states.
const (
	DoorUnmonitored DoorState = iota // no controller watches this door
	DoorClosed
	DoorOpen
	DoorUnknown // a controller watches it but is not answering
)

// Door tells a cabinet's door state; changes counts open/close transitions so a quick
// open-and-close between two checks is still noticed.
type Door interface {
	DoorState(cabinet string) (state DoorState, changes uint64)
}

// Limits stop a round.
type Limits struct {
	QuietPasses      int           // stop after this many passes without a new tag …
	MaxPasses        int           // … or this many passes …
	TimeLimit        time.Duration // … or this long
	TargetMissChance float64       // keep going past QuietPasses until MissChance ≤ this; 0 means 0.001
}

// Spec describes one round.
type Spec struct {
	ID       string // round id, unique per agent
	Cabinet  string
	Reader   string // for messages
	Antennas []int
	Power    map[int]float64
	Session  int
	TargetB  bool // first target
	Flip     bool // alternate the target each pass (session/target flipping singulates dense stacks)
	Limits   Limits
}

// Stop reasons.
const (
	StopQuiet     = "quiet"      // no new tag for QuietPasses and MissChance below target
	StopMaxPasses = "max_passes" // pass limit reached
	StopTimeLimit = "time_limit" // time limit reached
	StopFailed    = "failed"     // a pass failed or the door opened
	StopCancelled = "cancelled"  // the agent is stopping
)

// AntennaHealth sums one antenna over the round.
type AntennaHealth struct {
	Antenna  int
	OK       bool   // worked in every pass
	Error    string // the last failure, when !OK
	Reads    int    // tag reads on this antenna
	PassesOK int
}

// Tag is the evidence for one tag.
type Tag struct {
	EPC        string
	Antenna    int   // antenna with the best RSSI
	Antennas   []int // every antenna that read it, sorted
	Reads      int
	PassesSeen int
	MeanRSSI   float64
	BestRSSI   float64
	FirstSeen  time.Time
	LastSeen   time.Time
	rssiSum    float64
	lastPass   int // the pass that last read it, so PassesSeen counts each pass once
}

// Rate is the share of passes that read the tag.
func (t Tag) Rate(passes int) float64 {
	if passes == 0 {
		return 0
	}
	return float64(t.PassesSeen) / float64(passes)
}

// Result is a finished round.
type Result struct {
	ID         string
	Cabinet    string
	Started    time.Time
	Ended      time.Time
	Passes     int
	Antennas   []AntennaHealth // sorted by antenna
	Tags       []Tag           // sorted by EPC
	Complete   bool
	Incomplete []string // why not complete, operator words
	Notes      []string // what the reader of the report should know that does not make it incomplete
	Stop       string
	MissChance float64 // chance a present tag with the typical read rate went unread
	MeanRate   float64 // mean per-pass detection rate of the tags seen
}

// ErrNoAntennas: the spec lists no antenna.
var ErrNoAntennas = errors.New("round: no antennas for the cabinet")

// Run runs one round. now is the clock (time.Now in production). It returns an error only for a
// spec that cannot run; every fault during the round is in the Result.
func Run(ctx context.Context, spec Spec, p Passer, door Door, now func() time.Time) (Result, error) {
	if len(spec.Antennas) == 0 {
		return Result{}, fmt.Errorf("cabinet %q: %w", spec.Cabinet, ErrNoAntennas)
	}
	lim := spec.Limits
	if lim.QuietPasses < 1 {
		lim.QuietPasses = 3
	}
	if lim.MaxPasses < lim.QuietPasses {
		lim.MaxPasses = max(lim.QuietPasses, 20)
	}
	if lim.TimeLimit <= 0 {
		lim.TimeLimit = 30 * time.Second
	}
	if lim.TargetMissChance <= 0 {
		lim.TargetMissChance = 0.001
	}
	res := Result{ID: spec.ID, Cabinet: spec.Cabinet, Started: now()}
	inPlan := map[int]bool{}
	health := map[int]*AntennaHealth{}
	for _, a := range spec.Antennas {
		inPlan[a] = true
		health[a] = &AntennaHealth{Antenna: a, OK: true}
	}
	tags := map[string]*Tag{}
	var reasons []string
	addReason := func(s string) {
		for _, r := range reasons {
			if r == s {
				return
			}
		}
		reasons = append(reasons, s)
	}

	var doorChanges uint64
	monitored := false
	if door != nil {
		st, ch := door.DoorState(spec.Cabinet)
		doorChanges = ch
		monitored = st != DoorUnmonitored
		switch st {
		case DoorOpen:
			addReason("door open when the round started")
		case DoorUnknown:
			addReason("door state unknown: the cabinet controller is not answering")
		}
	}
	if !monitored {
		res.Notes = append(res.Notes, "door not monitored: no controller reports this cabinet's door")
	}
	doorStillClosed := func() bool {
		if !monitored {
			return true
		}
		st, ch := door.DoorState(spec.Cabinet)
		switch {
		case st == DoorUnknown:
			addReason("door state lost during the round: the cabinet controller stopped answering")
			return false
		case st != DoorClosed || ch != doorChanges:
			addReason("door opened during the round")
			return false
		}
		return true
	}

	deadline := res.Started.Add(lim.TimeLimit)
	// The clock decides between passes; the context bounds a pass that hangs. Both measure the
	// same limit (the clock may be a test's).
	rctx, cancel := context.WithTimeout(ctx, lim.TimeLimit)
	defer cancel()
	targetB := spec.TargetB
	quiet := 0
	for {
		if err := ctx.Err(); err != nil {
			res.Stop = StopCancelled
			addReason("round cancelled: the agent is stopping")
			break
		}
		if !now().Before(deadline) || rctx.Err() != nil {
			res.Stop = StopTimeLimit
			break
		}
		pr, err := p.Pass(rctx, Pass{Antennas: spec.Antennas, Session: spec.Session, TargetB: targetB, Power: spec.Power})
		if err != nil {
			if ctx.Err() != nil {
				res.Stop = StopCancelled
				addReason("round cancelled: the agent is stopping")
				break
			}
			if rctx.Err() != nil {
				res.Stop = StopTimeLimit
				if res.Passes == 0 {
					addReason(fmt.Sprintf("no pass finished within the time limit of %s", lim.TimeLimit))
				}
				break
			}
			res.Stop = StopFailed
			addReason(fmt.Sprintf("reader %s failed during pass %d: %v", spec.Reader, res.Passes+1, err))
			for _, h := range health {
				h.OK = false
				h.Error = err.Error()
			}
			break
		}
		res.Passes++
		seen := map[int]bool{}
		for _, s := range pr.Antennas {
			h, ok := health[s.Antenna]
			if !ok {
				continue
			}
			seen[s.Antenna] = true
			if s.OK {
				h.PassesOK++
			} else {
				h.OK = false
				h.Error = s.Error
				if h.Error == "" {
					h.Error = "antenna fault"
				}
				addReason(fmt.Sprintf("antenna %d of reader %s failed: %s", s.Antenna, spec.Reader, h.Error))
			}
		}
		for a, h := range health {
			if !seen[a] {
				h.OK = false
				h.Error = "no report from the reader for this antenna"
				addReason(fmt.Sprintf("antenna %d of reader %s: no report", a, spec.Reader))
			}
		}
		newTags := 0
		for _, r := range pr.Reads {
			if !inPlan[r.Antenna] || r.EPC == "" {
				continue
			}
			n := max(r.Count, 1)
			health[r.Antenna].Reads += n
			t, ok := tags[r.EPC]
			if !ok {
				t = &Tag{EPC: r.EPC, Antenna: r.Antenna, BestRSSI: r.RSSI, FirstSeen: r.At, LastSeen: r.At}
				tags[r.EPC] = t
				newTags++
			}
			t.Reads += n
			t.rssiSum += r.RSSI * float64(n)
			if r.RSSI > t.BestRSSI {
				t.BestRSSI, t.Antenna = r.RSSI, r.Antenna
			}
			if r.At.Before(t.FirstSeen) {
				t.FirstSeen = r.At
			}
			if r.At.After(t.LastSeen) {
				t.LastSeen = r.At
			}
			if !containsInt(t.Antennas, r.Antenna) {
				t.Antennas = append(t.Antennas, r.Antenna)
			}
			if t.lastPass != res.Passes {
				t.lastPass = res.Passes
				t.PassesSeen++
			}
		}
		if !doorStillClosed() {
			res.Stop = StopFailed
			break
		}
		if newTags > 0 {
			quiet = 0
		} else {
			quiet++
		}
		res.MeanRate, res.MissChance = evidence(tags, res.Passes)
		// An empty cabinet gives nothing to estimate a read rate from; antenna health is then
		// the evidence, and the quiet rule alone ends the round.
		if quiet >= lim.QuietPasses && (len(tags) == 0 || res.MissChance <= lim.TargetMissChance) {
			res.Stop = StopQuiet
			break
		}
		if res.Passes >= lim.MaxPasses {
			res.Stop = StopMaxPasses
			break
		}
		if spec.Flip {
			targetB = !targetB
		}
	}
	res.Ended = now()
	res.MeanRate, res.MissChance = evidence(tags, res.Passes)
	if res.Passes == 0 {
		addReason("no pass was run")
	}
	for _, a := range spec.Antennas {
		res.Antennas = append(res.Antennas, *health[a])
	}
	sort.Slice(res.Antennas, func(i, j int) bool { return res.Antennas[i].Antenna < res.Antennas[j].Antenna })
	res.Tags = make([]Tag, 0, len(tags))
	for _, t := range tags {
		t.MeanRSSI = math.Round(t.rssiSum/float64(t.Reads)*10) / 10
		sort.Ints(t.Antennas)
		t.lastPass = 0
		res.Tags = append(res.Tags, *t)
	}
	sort.Slice(res.Tags, func(i, j int) bool { return res.Tags[i].EPC < res.Tags[j].EPC })
	res.Incomplete = reasons
	res.Complete = len(reasons) == 0
	return res, nil
}

// evidence is the mean per-pass detection rate of the tags seen and the chance that a present tag
// with that rate was not read in any of the passes. With no tag seen there is nothing to estimate
// from: the rate is 0 and the miss chance 1 (an empty cabinet and a deaf reader look alike, so the
// round must lean on antenna health, which it does).
func evidence(tags map[string]*Tag, passes int) (rate, miss float64) {
	if len(tags) == 0 || passes == 0 {
		return 0, 1
	}
	var sum float64
	for _, t := range tags {
		// A tag first seen late had fewer chances; counting from its first pass would flatter the
		// rate, so the whole round is the denominator.
		sum += float64(t.PassesSeen) / float64(passes)
	}
	rate = sum / float64(len(tags))
	return rate, math.Pow(1-rate, float64(passes))
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
