package ingest

import (
	"slices"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// gapBook is the bookkeeping behind resync, with no I/O and no clock of its own (every call is
// given its now): per agent, the stored-seq state the last commit left (its mark), the hole
// below its highest stored seq if there is one, and when it was last asked for what. Ingest reads
// the store and sends the commands; the book decides which agent is due and for which seqs.
// It is safe for concurrent use: the verifier reads marks while the committer and the gap loop
// write.
type gapBook struct {
	grace time.Duration // how long a hole may stay open (out-of-order delivery) before a resync
	retry time.Duration // how often to ask again while it stays open

	mu    sync.Mutex
	gaps  map[string]*gap
	marks map[string]store.SeqState // each agent's stored seqs, as the last commit left them
	asked map[string]time.Time      // when each agent was last asked for a full resync
	tails map[string]tailAsk        // each agent's last full resync, until its answer is stored
}

// tailAsk is a resync of everything after an agent's mark that is not answered yet. Nothing
// else would reveal that it or its answer was lost (a broker with a full queue drops commands
// too), so it is asked again, less and less often, while the agent is online (tailsDue).
type tailAsk struct {
	cmd   string
	at    time.Time
	tries int
}

// Tail asks are repeated at most maxTailTries times, retry × 2ⁿ apart up to maxTailWait.
const (
	maxTailTries = 6
	maxTailWait  = 5 * time.Minute
)

type gap struct {
	from      uint64 // first missing seq
	to        uint64 // last missing seq of the hole (0: unknown, through the latest)
	since     time.Time
	lastAsked time.Time

	// Holes up to askedThrough were asked for at askedAt; they are not asked again before
	// the retry time has passed, so a hole the agent is still answering does not cause a storm
	// of requests each time the contiguous mark moves.
	askedThrough uint64
	askedAt      time.Time
}

func newGapBook(grace, retry time.Duration) *gapBook {
	return &gapBook{grace: grace, retry: retry, gaps: map[string]*gap{}, marks: map[string]store.SeqState{}, asked: map[string]time.Time{}, tails: map[string]tailAsk{}}
}

// note records the states a commit (or the start, or a skip) left, and returns how many agents
// have a hole now. A hole whose start moved (part of it filled) is due again after the grace;
// what was already asked for stays asked (askedThrough) until the retry time passes.
func (b *gapBook) note(states []store.SeqState, now time.Time) (open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range states {
		b.marks[st.Agent] = st
		if !st.Gap() {
			delete(b.gaps, st.Agent)
			continue
		}
		from := st.Contiguous + 1
		g := b.gaps[st.Agent]
		switch {
		case g == nil:
			g = &gap{from: from, since: now}
			b.gaps[st.Agent] = g
		case g.from != from:
			g.from, g.since, g.lastAsked, g.to = from, now, time.Time{}, 0
		}
		if st.HoleEnd >= from {
			g.to = st.HoleEnd
		}
	}
	return len(b.gaps)
}

// mark is agent's stored-seq state as the last commit (or start) left it.
func (b *gapBook) mark(agent string) store.SeqState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.marks[agent]
}

// due returns, sorted, the agents whose hole has been open for the grace and was not asked for
// within the retry time, and counts them as asked now.
func (b *gapBook) due(now time.Time) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var due []string
	for a, g := range b.gaps {
		if now.Sub(g.since) >= b.grace && now.Sub(g.lastAsked) >= b.retry {
			g.lastAsked = now
			due = append(due, a)
		}
	}
	slices.Sort(due)
	return due
}

// askedRecently says whether agent was asked for everything from its mark within the retry
// time: after our own (re)connect every agent was, and the broker then hands us every retained
// "online" — ask once, not twice.
func (b *gapBook) askedRecently(agent string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Sub(b.asked[agent]) < b.retry
}

// holes says where to list agent's holes from (after: the seq before its gap) and through which
// seq they were already asked for within the retry time (skipThrough); ok is false without a gap.
func (b *gapBook) holes(agent string, now time.Time) (after, skipThrough uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.gaps[agent]
	if g == nil {
		return 0, 0, false
	}
	if now.Sub(g.askedAt) < b.retry {
		skipThrough = g.askedThrough
	}
	return g.from - 1, skipThrough, true
}

// askedHoles records that agent's holes through through were asked for now; renewed (nothing was
// being skipped) starts a new retry period.
func (b *gapBook) askedHoles(agent string, through uint64, renewed bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if g := b.gaps[agent]; g != nil {
		if renewed {
			g.askedAt = now
		}
		g.askedThrough = max(g.askedThrough, through)
	}
}

// resyncRange is what to ask agent for: from its hole's start if that is lower than from (or from
// is 0: unknown), through the hole's end if holeOnly (to 0: everything from there on). from 0
// comes back when the book knows no hole and the caller gave none. The agent counts as asked now.
func (b *gapBook) resyncRange(agent string, from uint64, holeOnly bool, now time.Time) (uint64, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var to uint64
	if g := b.gaps[agent]; g != nil {
		if from == 0 || g.from < from {
			from = g.from
		}
		if holeOnly {
			to = g.to
		}
		g.lastAsked = now
	}
	return from, to
}

// askedAll records that agent was asked now, by command cmd, for everything from a seq on.
func (b *gapBook) askedAll(agent, cmd string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked[agent] = now
	b.tails[agent] = tailAsk{cmd: cmd, at: now, tries: b.tails[agent].tries + 1}
}

// answered takes the agent's answer to command cmd: the last full resync is answered (the agent
// published what it was asked for before its answer).
func (b *gapBook) answered(agent, cmd string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.tails[agent]; ok && t.cmd == cmd {
		delete(b.tails, agent)
	}
}

// offline forgets agent's unanswered full resync: the agent is away, and is asked afresh when it
// says it is online.
func (b *gapBook) offline(agent string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tails, agent)
}

// tailsDue lists the agents to ask again for everything after their mark: their last full
// resync is unanswered after retry × 2^(tries−1) (at most maxTailWait), tried fewer than
// maxTailTries times.
func (b *gapBook) tailsDue(now time.Time) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for agent, t := range b.tails {
		wait := min(b.retry<<min(t.tries-1, 16), maxTailWait)
		if t.tries < maxTailTries && now.Sub(t.at) >= wait {
			out = append(out, agent)
		}
	}
	slices.Sort(out)
	return out
}

// unfillable takes an agent's answer to resync, naming the oldest seq it still holds: when that
// is above the start of the agent's hole, the seqs below it are gone for good, and skipTo is
// where the stored mark may jump to — never past what was ever stored. g is the hole as it was,
// for lost.
func (b *gapBook) unfillable(agent string, oldest uint64) (skipTo uint64, g gap, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.gaps[agent]; p != nil {
		g = *p // a copy: note changes the map's
	}
	if g.from == 0 || g.from >= oldest {
		return 0, gap{}, false
	}
	return min(oldest, b.marks[agent].MaxSeen+1), g, true
}

// lost counts the seqs of hole g that were really missing when the agent said it holds nothing
// below oldest and the store then stood at st: at most up to the highest seq stored, whatever
// oldest the answer claims (a far-future oldest must not poison the metric), and never past the
// hole's end.
func lost(g gap, oldest uint64, st store.SeqState) uint64 {
	lostTo := min(oldest, st.MaxSeen+1)
	if g.to > 0 {
		lostTo = min(lostTo, g.to+1) // the hole ends below the next stored seq
	}
	if lostTo <= g.from {
		return 0
	}
	return lostTo - g.from
}
