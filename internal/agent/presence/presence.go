// Package presence turns a cabinet's successive inventory rounds into arrivals and departures,
// and settles tags that neighbouring cabinets both hear (cross-reads).
//
// Contract (Tracker): a tag seen in any round is present; it has "arrived" when it was not
// present before. A tag "left" only after it was absent from LeftAfter consecutive complete
// rounds — an incomplete round (antenna fault, door opened, reader lost) never counts as
// absence, so a fault never turns into departures. The first complete round of a cabinet is the
// baseline and reports nothing: the inventory itself carries the full list.
//
// Contract (Resolver): a tag heard by two cabinets belongs to the one with the stronger evidence
// — best RSSI first (a margin of Margin dB), then the share of passes that read it. The weaker
// cabinet's report loses the tag and keeps a CrossRead with both sides' evidence. Evidence older
// than Window is not used. Neither type does I/O; both are safe for concurrent use.
package presence

import (
	"sort"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/agent/round"
)

// Change is what a round changed in a cabinet.
type Change struct {
	Cabinet string
	Round   string
	Arrived []string
	Left    []string
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool { return len(c.Arrived) == 0 && len(c.Left) == 0 }

// Tracker keeps what is present in each cabinet.
type Tracker struct {
	leftAfter int
	mu        sync.Mutex
	cabinets  map[string]*cabinet
}

type cabinet struct {
	baseline bool
	absent   map[string]int // present tag → complete rounds it has been missing from
}

// NewTracker returns a tracker that reports a tag as left after leftAfter complete rounds
// without it (at least 1).
func NewTracker(leftAfter int) *Tracker {
	return &Tracker{leftAfter: max(leftAfter, 1), cabinets: map[string]*cabinet{}}
}

// Observe folds a round's result (after cross-read resolution) into the cabinet's state.
func (t *Tracker) Observe(r round.Result) Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := Change{Cabinet: r.Cabinet, Round: r.ID, Arrived: []string{}, Left: []string{}}
	c := t.cabinets[r.Cabinet]
	if c == nil {
		c = &cabinet{absent: map[string]int{}}
		t.cabinets[r.Cabinet] = c
	}
	if !c.baseline {
		if !r.Complete {
			return ch // an incomplete first look is no baseline
		}
		c.baseline = true
		for _, tag := range r.Tags {
			c.absent[tag.EPC] = 0
		}
		return ch
	}
	seen := make(map[string]bool, len(r.Tags))
	for _, tag := range r.Tags {
		seen[tag.EPC] = true
		if _, ok := c.absent[tag.EPC]; !ok {
			ch.Arrived = append(ch.Arrived, tag.EPC)
		}
		c.absent[tag.EPC] = 0
	}
	if r.Complete {
		for epc, n := range c.absent {
			if seen[epc] {
				continue
			}
			n++
			if n >= t.leftAfter {
				ch.Left = append(ch.Left, epc)
				delete(c.absent, epc)
				continue
			}
			c.absent[epc] = n
		}
	}
	sort.Strings(ch.Arrived)
	sort.Strings(ch.Left)
	return ch
}

// Present lists the tags a cabinet is believed to hold, sorted.
func (t *Tracker) Present(cabinet string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.cabinets[cabinet]
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.absent))
	for epc := range c.absent {
		out = append(out, epc)
	}
	sort.Strings(out)
	return out
}

// Evidence is what one cabinet's round saw of a tag.
type Evidence struct {
	Cabinet  string
	Round    string
	Antenna  int
	BestRSSI float64
	Rate     float64 // share of the round's passes that read it
	Reads    int
	At       time.Time
}

// CrossRead is a tag dropped from a cabinet's report because a neighbour heard it better.
type CrossRead struct {
	EPC   string
	Here  Evidence // the weaker side: the report it was dropped from
	There Evidence // the stronger side: where it is taken to be
}

// Resolver settles cross-reads between cabinets.
type Resolver struct {
	Margin float64       // dB by which RSSI must differ to decide on RSSI alone; 0 means 3
	Window time.Duration // evidence older than this is not used; 0 means 1 h

	mu     sync.Mutex
	latest map[string]map[string]Evidence // cabinet → EPC → evidence from its latest round
}

// Resolve returns r without the tags a neighbour heard better, and the evidence for each dropped
// tag. It then keeps r's evidence (all of it, cross-reads included) for later rounds of the
// neighbours.
func (s *Resolver) Resolve(r round.Result) (round.Result, []CrossRead) {
	s.mu.Lock()
	defer s.mu.Unlock()
	margin, window := s.Margin, s.Window
	if margin <= 0 {
		margin = 3
	}
	if window <= 0 {
		window = time.Hour
	}
	if s.latest == nil {
		s.latest = map[string]map[string]Evidence{}
	}
	mine := make(map[string]Evidence, len(r.Tags))
	kept := make([]round.Tag, 0, len(r.Tags))
	var moved []CrossRead
	for _, tag := range r.Tags {
		here := Evidence{Cabinet: r.Cabinet, Round: r.ID, Antenna: tag.Antenna, BestRSSI: tag.BestRSSI, Rate: tag.Rate(r.Passes), Reads: tag.Reads, At: tag.LastSeen}
		mine[tag.EPC] = here
		var strongest *Evidence
		for cab, ev := range s.latest {
			if cab == r.Cabinet {
				continue
			}
			there, ok := ev[tag.EPC]
			if !ok || r.Ended.Sub(there.At) > window {
				continue
			}
			if stronger(there, here, margin) && (strongest == nil || stronger(there, *strongest, margin)) {
				th := there
				strongest = &th
			}
		}
		if strongest != nil {
			moved = append(moved, CrossRead{EPC: tag.EPC, Here: here, There: *strongest})
			continue
		}
		kept = append(kept, tag)
	}
	s.latest[r.Cabinet] = mine
	r.Tags = kept
	return r, moved
}

// stronger reports whether a is clearly better evidence than b.
func stronger(a, b Evidence, margin float64) bool {
	if d := a.BestRSSI - b.BestRSSI; d >= margin {
		return true
	} else if d <= -margin {
		return false
	}
	// RSSI too close to call: the cabinet that reads it more reliably holds it.
	return a.Rate > b.Rate+0.2
}
