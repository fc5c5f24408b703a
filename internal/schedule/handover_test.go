package schedule

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
)

// tally counts the inventory commands and the summaries a scheduler sends.
type tally struct {
	mu        sync.Mutex
	commands  int
	summaries int
}

func (c *tally) CommandInventory(context.Context, string, string, bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands++
	return nil
}

func (c *tally) Publish(_ context.Context, topic string, _ []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if topic == "custody/summary" {
		c.summaries++
	}
	return nil
}

func (c *tally) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commands, c.summaries
}

// handover runs one scheduler after another on one store, as two custodyd instances do when the
// leader dies: the first is stopped at stopAt, the second started at startAt (Beijing times of
// the night of 25–26 November 2026), and the clock then runs past the deadline.
func handover(t *testing.T, stopAt, startAt time.Time) (st *store.Store, tl *tally, cabinets int) {
	t.Helper()
	st = alerttest.OpenStore(t)
	alerttest.Seed(t, st, 3, 2, func(int) string { return "agent-a" })
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 17, 50, 0, 0, time.UTC)) // 01:50
	book := alert.NewBook(st, nil, clk.Now)
	tl = &tally{}
	run := func(until time.Time) {
		chk := alert.NewChecker(st, book, tl, reconcile.Policy{}, alerttest.TestPrefix, nil)
		sch, err := New(st, chk, book, tl, tl, Config{}, clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); sch.Run(ctx) }()
		park := func() {
			for deadline := time.Now().Add(5 * time.Second); clk.Waiting() == 0; {
				if time.Now().After(deadline) {
					t.Fatal("the scheduler did not come back to wait")
				}
				time.Sleep(time.Millisecond)
			}
		}
		park()
		for clk.Now().Before(until) {
			step := min(time.Minute, until.Sub(clk.Now()))
			clk.Add(step)
			park()
		}
		cancel()
		<-done
	}
	run(stopAt)
	clk.Add(startAt.Sub(clk.Now()))
	run(startAt.Add(2 * time.Hour)) // past the one-hour deadline
	return st, tl, 3
}

func beijing(h, m, s int) time.Time {
	return time.Date(2026, 11, 26, h, m, s, 0, time.FixedZone("CST", 8*3600))
}

func TestANightStartedByADeadLeaderIsClosedOnceByItsSuccessor(t *testing.T) {
	st, tl, cabinets := handover(t, beijing(2, 0, 30), beijing(2, 0, 38))
	commands, summaries := tl.counts()
	if commands != cabinets {
		t.Errorf("%d inventory commands, want one per cabinet (%d): the successor commanded the night again", commands, cabinets)
	}
	if summaries != 1 {
		t.Errorf("%d morning summaries, want 1", summaries)
	}
	assertOneClosedRun(t, st)
}

func TestANightDueInTheGapIsStartedOnceBySuccessor(t *testing.T) {
	st, tl, cabinets := handover(t, beijing(1, 59, 57), beijing(2, 0, 5))
	commands, summaries := tl.counts()
	if commands != cabinets || summaries != 1 {
		t.Errorf("%d inventory commands and %d summaries, want %d and 1: the night due while nobody led was lost or doubled", commands, summaries, cabinets)
	}
	assertOneClosedRun(t, st)
}

func assertOneClosedRun(t *testing.T, st *store.Store) {
	t.Helper()
	var runs, closed int
	if err := st.DB().QueryRow(`SELECT count(*), count(closed_at) FROM inventory_runs`).Scan(&runs, &closed); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || closed != 1 {
		t.Errorf("%d nightly runs, %d closed; want one, closed", runs, closed)
	}
}
