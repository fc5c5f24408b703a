package alert

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
)

// blockingCommands holds the first confirming-round command once armed until released: the reconciliation
// that asked for it is then paused in the middle, as one is while a slow broker takes the command.
type blockingCommands struct {
	armed   atomic.Bool // the next confirming-round command is held
	entered chan struct{}
	release chan struct{}
}

func (b *blockingCommands) CommandInventory(_ context.Context, _, _ string, confirm bool) error {
	if confirm && b.armed.CompareAndSwap(true, false) {
		close(b.entered)
		<-b.release
	}
	return nil
}

// Reconciliations never run at once: the scheduler's recheck of a removal whose grace ended and
// the observer's reconciliation of the confirming round it asked for read and write the same door
// cycles, open findings and latest report (Checker.reconciling says what interleaving could do).
// Here the recheck is paused inside its reconciliation, at its command for the confirming round;
// that round waits for it (without the lock it was reconciled at once), and the copy is one
// unrecorded removal.
func TestReconciliationsDoNotInterleave(t *testing.T) {
	ctx := context.Background()
	st := alerttest.OpenStore(t)
	site := alerttest.Seed(t, st, 1, 12, func(int) string { return "agent-a" })
	closed := time.Date(2026, 11, 26, 10, 0, 30, 0, time.UTC)
	clk := alerttest.NewClock(closed.Add(30 * time.Second))
	book := NewBook(st, nil, clk.Now)
	cmds := &blockingCommands{entered: make(chan struct{}), release: make(chan struct{})}
	chk := NewChecker(st, book, cmds, reconcile.Policy{RemovalGrace: time.Minute}, alerttest.TestPrefix, nil)
	round := func(id string, end time.Time) reconcile.Report {
		r := reconcile.Report{Agent: "agent-a", Cabinet: "C-01", Round: id, Start: end.Add(-20 * time.Second), End: end, Passes: 5, Complete: true,
			Antennas: []reconcile.Antenna{{Port: 1, OK: true}}}
		for i := 1; i <= 12; i++ {
			if i != 4 { // C-01/4 left during the door cycle
				r.Tags = append(r.Tags, reconcile.Tag{EPC: site.EPCs[site.Items[fmt.Sprintf("C-01/%d", i)]], Antennas: []int{1}, RSSI: -50, Reads: 4, Passes: 4})
			}
		}
		return r
	}
	chk.Door("C-01", "open", "", closed.Add(-time.Minute))
	chk.Door("C-01", "closed", "", closed)
	if _, err := chk.Report(ctx, round("r-1", closed.Add(25*time.Second))); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute) // the grace is over: the recheck calls it a removal and asks to confirm

	cmds.armed.Store(true)
	rechecked := make(chan error, 1)
	go func() { rechecked <- chk.Recheck(ctx) }()
	<-cmds.entered
	confirmed := make(chan error, 1)
	go func() {
		_, err := chk.Report(ctx, round("r-2", clk.Now()))
		confirmed <- err
	}()
	select {
	case err := <-confirmed:
		t.Fatalf("the confirming round was reconciled (%v) while the recheck that asked for it was still running", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(cmds.release)
	if err := <-rechecked; err != nil {
		t.Fatal(err)
	}
	if err := <-confirmed; err != nil {
		t.Fatal(err)
	}
	fs, err := book.Findings(ctx, Filter{Active: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []reconcile.Kind
	for _, f := range fs {
		kinds = append(kinds, f.Kind)
	}
	if len(fs) != 1 || fs[0].Kind != reconcile.UnrecordedRemoval || fs[0].ItemID != site.Items["C-01/4"] {
		t.Errorf("findings: got %v, want one unrecorded removal of C-01/4", kinds)
	}
}
