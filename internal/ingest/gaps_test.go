package ingest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// The gap book decides, with no broker and no store, which agent is asked for which seqs and
// when. Each scenario is a list of steps at times since the start; a step first records the
// states a commit left (note), then asks one question and compares the answer.
func TestGapBook(t *testing.T) {
	const grace, retry = time.Second, 5 * time.Second
	ms := time.Millisecond

	type step struct {
		at   time.Duration
		note []store.SeqState
		ask  func(b *gapBook, now time.Time) string
		want string
	}
	// A state with a hole: stored through contiguous, then up to max, the first hole ending at end.
	hole := func(agent string, contiguous, max, end uint64) []store.SeqState {
		return []store.SeqState{{Agent: agent, Contiguous: contiguous, MaxSeen: max, HoleEnd: end}}
	}
	whole := func(agent string, max uint64) []store.SeqState {
		return []store.SeqState{{Agent: agent, Contiguous: max, MaxSeen: max}}
	}
	due := func(b *gapBook, now time.Time) string { return fmt.Sprint(b.due(now)) }
	resyncRange := func(agent string, from uint64, holeOnly bool) func(*gapBook, time.Time) string {
		return func(b *gapBook, now time.Time) string {
			f, to := b.resyncRange(agent, from, holeOnly, now)
			return fmt.Sprintf("from %d to %d", f, to)
		}
	}
	holes := func(agent string) func(*gapBook, time.Time) string {
		return func(b *gapBook, now time.Time) string {
			after, skip, ok := b.holes(agent, now)
			if !ok {
				return "no gap"
			}
			return fmt.Sprintf("after %d, asked through %d", after, skip)
		}
	}
	askedHoles := func(agent string, through uint64, renewed bool) func(*gapBook, time.Time) string {
		return func(b *gapBook, now time.Time) string { b.askedHoles(agent, through, renewed, now); return "" }
	}
	askedAll := func(agent string) func(*gapBook, time.Time) string {
		return func(b *gapBook, now time.Time) string { b.askedAll(agent, "cmd-1", now); return "" }
	}
	recent := func(agent string) func(*gapBook, time.Time) string {
		return func(b *gapBook, now time.Time) string { return fmt.Sprint(b.askedRecently(agent, now)) }
	}
	mark := func(agent string) func(*gapBook, time.Time) string {
		return func(b *gapBook, _ time.Time) string {
			m := b.mark(agent)
			return fmt.Sprintf("contiguous %d, max %d", m.Contiguous, m.MaxSeen)
		}
	}
	// The agent answers resync: it holds nothing below oldest; the store then stands at after.
	answer := func(agent string, oldest uint64, after store.SeqState) func(*gapBook, time.Time) string {
		return func(b *gapBook, _ time.Time) string {
			skipTo, g, ok := b.unfillable(agent, oldest)
			if !ok {
				return "hole stays open"
			}
			return fmt.Sprintf("skip to %d, %d lost", skipTo, lost(g, oldest, after))
		}
	}

	tests := []struct {
		name  string
		steps []step
	}{
		{"without a hole nobody is due", []step{
			{at: 0, note: whole("a", 9), ask: due, want: "[]"},
			{at: 10 * time.Second, ask: due, want: "[]"},
			{at: 10 * time.Second, ask: holes("a"), want: "no gap"},
			{at: 10 * time.Second, ask: mark("a"), want: "contiguous 9, max 9"},
			{at: 10 * time.Second, ask: answer("a", 5, whole("a", 9)[0]), want: "hole stays open"},
		}},
		{"a hole is due after the grace, then once every retry", []step{
			{at: 0, note: hole("a", 5, 9, 7), ask: due, want: "[]"},
			{at: 999 * ms, ask: due, want: "[]"},
			{at: grace, ask: due, want: "[a]"},
			{at: 2 * time.Second, ask: due, want: "[]"},
			{at: grace + retry - ms, ask: due, want: "[]"},
			{at: grace + retry, ask: due, want: "[a]"},
		}},
		{"several agents come due together, in order", []step{
			{at: 0, note: append(hole("b", 1, 3, 2), hole("a", 5, 9, 7)...)},
			{at: 200 * ms, note: hole("c", 0, 4, 3)},
			{at: grace, ask: due, want: "[a b]"},
			{at: grace + 200*ms, ask: due, want: "[c]"},
		}},
		{"a hole partly filled is due a grace after the fill, not a retry after the last ask", []step{
			{at: 0, note: hole("a", 5, 9, 7)},
			{at: grace, ask: due, want: "[a]"},
			{at: 2 * time.Second, note: hole("a", 6, 9, 7), ask: due, want: "[]"},
			{at: 2*time.Second + grace - ms, ask: due, want: "[]"},
			{at: 2*time.Second + grace, ask: due, want: "[a]"},
		}},
		{"a filled hole is forgotten and its mark moves", []step{
			{at: 0, note: hole("a", 5, 9, 7)},
			{at: 500 * ms, note: whole("a", 9), ask: due, want: "[]"},
			{at: 10 * time.Second, ask: due, want: "[]"},
			{at: 10 * time.Second, ask: mark("a"), want: "contiguous 9, max 9"},
		}},
		{"what to ask for: the hole's start, its end only for the hole alone", []step{
			{at: 0, note: hole("a", 5, 9, 7), ask: resyncRange("a", 0, true), want: "from 6 to 7"},
			{at: 0, ask: resyncRange("a", 0, false), want: "from 6 to 0"},
			{at: 0, ask: resyncRange("a", 8, false), want: "from 6 to 0"},
			{at: 0, ask: resyncRange("a", 3, false), want: "from 3 to 0"},
			{at: 0, ask: resyncRange("b", 0, false), want: "from 0 to 0"},
			{at: 0, ask: resyncRange("b", 4, true), want: "from 4 to 0"},
		}},
		{"asking for a hole counts as asked: not due again before the retry", []step{
			{at: 0, note: hole("a", 5, 9, 7)},
			{at: 800 * ms, ask: resyncRange("a", 0, true), want: "from 6 to 7"},
			{at: grace, ask: due, want: "[]"},
			{at: 800*ms + retry, ask: due, want: "[a]"},
		}},
		{"an agent asked for everything is not asked again within the retry", []step{
			{at: 0, ask: recent("a"), want: "false"},
			{at: 0, ask: askedAll("a")},
			{at: retry - ms, ask: recent("a"), want: "true"},
			{at: retry, ask: recent("a"), want: "false"},
		}},
		{"holes asked for are skipped until the retry, which only a renewed ask restarts", []step{
			{at: 0, note: hole("a", 5, 20, 7)},
			{at: grace, ask: holes("a"), want: "after 5, asked through 0"},
			{at: grace, ask: askedHoles("a", 12, true)},
			{at: 3 * time.Second, ask: holes("a"), want: "after 5, asked through 12"},
			{at: 3 * time.Second, ask: askedHoles("a", 15, false)},
			{at: 3 * time.Second, ask: askedHoles("a", 9, false)},
			{at: grace + retry - ms, ask: holes("a"), want: "after 5, asked through 15"},
			{at: grace + retry, ask: holes("a"), want: "after 5, asked through 0"},
			{at: grace + retry, ask: holes("b"), want: "no gap"},
		}},
		{"an answer naming an oldest seq above the hole closes it and counts what was lost", []step{
			{at: 0, note: hole("a", 5, 9, 7), ask: answer("a", 8, whole("a", 9)[0]), want: "skip to 8, 2 lost"},
		}},
		{"an answer the hole starts at or above leaves it open", []step{
			{at: 0, note: hole("a", 5, 9, 7), ask: answer("a", 6, whole("a", 9)[0]), want: "hole stays open"},
			{at: 0, ask: answer("a", 2, whole("a", 9)[0]), want: "hole stays open"},
		}},
		{"a far-future oldest skips no further than what was stored, and counts only the hole", []step{
			{at: 0, note: hole("a", 5, 9, 7), ask: answer("a", 1_000_000, whole("a", 9)[0]), want: "skip to 10, 2 lost"},
		}},
		{"a hole of unknown end counts up to the highest stored seq", []step{
			{at: 0, note: hole("a", 5, 9, 0), ask: answer("a", 1_000_000, whole("a", 9)[0]), want: "skip to 10, 4 lost"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newGapBook(grace, retry)
			t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				if s.note != nil {
					b.note(s.note, now)
				}
				if s.ask == nil {
					continue
				}
				if got := s.ask(b, now); got != s.want {
					t.Errorf("step %d (at %s): got %q, want %q", i, s.at, got, s.want)
				}
			}
		})
	}
}

// note answers how many agents have a hole: the custody_ingest_open_gaps gauge.
func TestGapBookCountsOpenGaps(t *testing.T) {
	b := newGapBook(time.Second, 5*time.Second)
	now := time.Now()
	if n := b.note([]store.SeqState{{Agent: "a", Contiguous: 1, MaxSeen: 3}, {Agent: "b", Contiguous: 4, MaxSeen: 4}, {Agent: "c", MaxSeen: 2}}, now); n != 2 {
		t.Errorf("open gaps: got %d, want 2 (a and c)", n)
	}
	if n := b.note([]store.SeqState{{Agent: "a", Contiguous: 3, MaxSeen: 3}}, now); n != 1 {
		t.Errorf("open gaps after a's hole filled: got %d, want 1", n)
	}
}

// A full resync (everything after the mark) is asked again until its answer is stored: nothing
// else would show that the command or its answer was lost. Less and less often, at most
// maxTailTries times, and not while the agent is offline (it is asked afresh when it is back).
func TestGapBookAsksAnUnansweredTailAgain(t *testing.T) {
	b := newGapBook(time.Second, 5*time.Second)
	t0 := time.Now()
	b.askedAll("a", "cmd-1", t0)
	b.askedAll("b", "cmd-2", t0)
	if due := b.tailsDue(t0.Add(4 * time.Second)); len(due) != 0 {
		t.Errorf("before the retry time: %v due, want none", due)
	}
	b.answered("b", "cmd-2")
	b.answered("a", "cmd-0") // an answer to an older command does not answer the last
	if due := b.tailsDue(t0.Add(5 * time.Second)); !slices.Equal(due, []string{"a"}) {
		t.Fatalf("after the retry time: %v due, want [a] (b answered)", due)
	}
	// Each try waits twice as long as the one before.
	at := t0.Add(5 * time.Second)
	for try := 2; try < maxTailTries; try++ {
		b.askedAll("a", fmt.Sprintf("cmd-%d", try+1), at)
		wait := min(5*time.Second<<(try-1), maxTailWait)
		if due := b.tailsDue(at.Add(wait - time.Millisecond)); len(due) != 0 {
			t.Errorf("try %d: due %v before %s", try, due, wait)
		}
		if due := b.tailsDue(at.Add(wait)); len(due) != 1 {
			t.Errorf("try %d: not due after %s", try, wait)
		}
		at = at.Add(wait)
	}
	b.askedAll("a", "cmd-last", at)
	if due := b.tailsDue(at.Add(time.Hour)); len(due) != 0 {
		t.Errorf("after %d tries: %v still due, want none", maxTailTries, due)
	}
	b.askedAll("c", "cmd-c", t0)
	b.offline("c")
	if due := b.tailsDue(t0.Add(time.Hour)); len(due) != 0 {
		t.Errorf("an offline agent's unanswered resync: %v due, want none", due)
	}
}
