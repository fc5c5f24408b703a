package presence

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/agent/round"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func result(id string, complete bool, epcs ...string) round.Result {
	r := round.Result{ID: id, Cabinet: "C-07", Complete: complete, Passes: 5, Ended: t0}
	for _, e := range epcs {
		r.Tags = append(r.Tags, round.Tag{EPC: e, Antenna: 1, BestRSSI: -50, PassesSeen: 5, Reads: 5, LastSeen: t0})
	}
	return r
}

func TestArrivalsAndHysteresis(t *testing.T) {
	tr := NewTracker(2)
	steps := []struct {
		r            round.Result
		arrived, lft string
	}{
		{result("1", false, "A"), "", ""},                // incomplete first look: no baseline
		{result("2", true, "A", "B", "C"), "", ""},       // baseline, silent
		{result("3", true, "A", "B", "D"), "D", ""},      // C absent once: not yet left
		{result("4", false, "A"), "", ""},                // incomplete: B, C, D not counted absent
		{result("5", true, "A", "B", "D"), "", "C"},      // C absent from a second complete round
		{result("6", true, "A", "B", "C", "D"), "C", ""}, // C back
		{result("7", true), "", ""},                      // everything absent once
		{result("8", true), "", "A B C D"},               // and twice
	}
	for i, s := range steps {
		ch := tr.Observe(s.r)
		if got := strings.Join(ch.Arrived, " "); got != s.arrived {
			t.Fatalf("step %d arrived: got %q, want %q", i+1, got, s.arrived)
		}
		if got := strings.Join(ch.Left, " "); got != s.lft {
			t.Fatalf("step %d left: got %q, want %q", i+1, got, s.lft)
		}
	}
	if p := tr.Present("C-07"); len(p) != 0 {
		t.Fatalf("present after everything left: got %v, want none", p)
	}
}

func TestAntennaFaultNeverMeansLeft(t *testing.T) {
	tr := NewTracker(1)
	tr.Observe(result("1", true, "A", "B"))
	for i := range 10 {
		ch := tr.Observe(result(fmt.Sprint(i+2), false))
		if len(ch.Left) != 0 {
			t.Fatalf("incomplete round %d reported %v left, want nothing", i, ch.Left)
		}
	}
	if got := strings.Join(tr.Present("C-07"), " "); got != "A B" {
		t.Fatalf("present: got %q, want \"A B\"", got)
	}
}

func TestCrossReadResolvedByRSSI(t *testing.T) {
	var s Resolver
	c8 := round.Result{ID: "r8", Cabinet: "C-08", Passes: 4, Ended: t0, Tags: []round.Tag{
		{EPC: "X", Antenna: 3, BestRSSI: -48, PassesSeen: 4, Reads: 9, LastSeen: t0},
		{EPC: "Y", Antenna: 3, BestRSSI: -70, PassesSeen: 1, Reads: 1, LastSeen: t0},
	}}
	out, moved := s.Resolve(c8)
	if len(out.Tags) != 2 || len(moved) != 0 {
		t.Fatalf("first cabinet: got %d tags %d moved, want 2 and 0 (nothing to compare yet)", len(out.Tags), len(moved))
	}
	c7 := round.Result{ID: "r7", Cabinet: "C-07", Passes: 4, Ended: t0.Add(time.Minute), Tags: []round.Tag{
		{EPC: "X", Antenna: 2, BestRSSI: -71, PassesSeen: 1, Reads: 1, LastSeen: t0.Add(time.Minute)}, // weak here: cross-read
		{EPC: "Y", Antenna: 1, BestRSSI: -45, PassesSeen: 4, Reads: 8, LastSeen: t0.Add(time.Minute)}, // strong here
		{EPC: "Z", Antenna: 1, BestRSSI: -60, PassesSeen: 3, Reads: 3, LastSeen: t0.Add(time.Minute)},
	}}
	out, moved = s.Resolve(c7)
	var kept []string
	for _, tg := range out.Tags {
		kept = append(kept, tg.EPC)
	}
	if strings.Join(kept, " ") != "Y Z" {
		t.Fatalf("C-07 kept: got %v, want [Y Z]", kept)
	}
	if len(moved) != 1 || moved[0].EPC != "X" || moved[0].There.Cabinet != "C-08" || moved[0].There.BestRSSI != -48 || moved[0].Here.BestRSSI != -71 || moved[0].Here.Antenna != 2 {
		t.Fatalf("evidence: got %+v, want X kept in C-08 at -48 dBm against -71 dBm on antenna 2 here", moved)
	}
	// C-08's next round drops Y, which C-07 hears far better.
	c8.ID, c8.Ended = "r8b", t0.Add(2*time.Minute)
	out, moved = s.Resolve(c8)
	if len(out.Tags) != 1 || out.Tags[0].EPC != "X" || len(moved) != 1 || moved[0].EPC != "Y" {
		t.Fatalf("C-08 second round: got tags %v moved %v, want X kept and Y moved to C-07", out.Tags, moved)
	}
	// Old evidence does not count.
	c7.Ended = t0.Add(3 * time.Hour)
	c7.Tags[0].LastSeen = c7.Ended
	out, _ = s.Resolve(c7)
	if len(out.Tags) != 3 {
		t.Fatalf("with stale neighbour evidence: got %d tags, want all 3 kept", len(out.Tags))
	}
}
