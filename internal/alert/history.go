package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// HistoryWindow is how far back RestoreHistory reads inventory reports: enough nightly rounds
// (and the door and confirming rounds between them) to fill most tags' read histories.
const HistoryWindow = 14 * 24 * time.Hour

// RestoreHistory rebuilds, at start, the tags' read histories (issue 22: the chance that a present
// tag went unread is judged from that tag's own record) from the complete inventory reports stored
// in the last HistoryWindow, oldest first, against the register as it is now. Without it a restart
// would judge every tag by its round's prior alone for the next nights, which for a tag much
// weaker than its neighbours is too confident a figure. Restore calls it.
func (c *Checker) RestoreHistory(ctx context.Context) error {
	since := c.now().Add(-HistoryWindow)
	items := map[string][]reconcile.Item{} // cabinet → register snapshot, read once
	hist := map[string]reconcile.TagHistory{}
	n := 0
	err := c.st.RecentObservations(ctx, since, wire.KindInventory, false, func(o store.Observation) error {
		e := wire.Envelope{V: o.V, Agent: o.Agent, Boot: o.Boot, Seq: o.Seq, ID: o.ID, At: o.At, Kind: o.Kind, Body: json.RawMessage(o.Body), MAC: o.MAC}
		body, err := e.DecodeBody(wire.DirObs)
		if err != nil {
			return nil // Restore logs unreadable observations
		}
		r, err := FromWire(o.Agent, *body.(*wire.Inventory))
		if err != nil || !r.Complete || r.Passes <= 0 {
			return nil
		}
		for _, a := range r.Antennas {
			if !a.OK {
				return nil
			}
		}
		its, ok := items[r.Cabinet]
		if !ok {
			if its, err = c.snapshot(ctx, reconcile.Report{Cabinet: r.Cabinet}); err != nil {
				return err
			}
			items[r.Cabinet] = its
		}
		reconcile.AddHistory(hist, r, its)
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore read histories: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for epc, h := range hist {
		if _, live := c.history[epc]; !live {
			c.history[epc] = h
		}
	}
	c.log.Info("restored tags' read histories from stored reports", "reports", n, "tags", len(hist))
	return nil
}
