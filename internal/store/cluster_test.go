package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Two instances on one database (issue 18): each reads the other's observations from one cursor
// in commit order, each once, and their audit records form one chain.
func TestTwoInstancesShareTheObservationCursorAndTheAuditChain(t *testing.T) {
	ctx := context.Background()
	path := storetest.Target(t)
	a := open(t, path)
	b := open(t, path)
	enrollAgent(t, a, "a1")

	if _, _, err := a.StoreObservations(ctx, []store.Observation{obs("a1", 1), obs("a1", 2)}); err != nil {
		t.Fatal(err)
	}
	// b stores a redelivery (nothing new) and the next one.
	if _, _, err := b.StoreObservations(ctx, []store.Observation{obs("a1", 2), obs("a1", 3)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.StoreObservations(ctx, []store.Observation{obs("a1", 4)}); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	var cursor int64
	for {
		page, err := b.ObservationsAfter(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, o := range page {
			seqs = append(seqs, o.Seq)
			cursor = o.Pos
		}
	}
	if len(seqs) != 4 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3 || seqs[3] != 4 {
		t.Errorf("cursor read seqs %v, want 1 2 3 4 once each", seqs)
	}
	if mark, err := a.ObservationMark(ctx); err != nil || mark != cursor {
		t.Errorf("mark %d (%v), want the cursor's end %d", mark, err, cursor)
	}
	var upTo []uint64
	if err := a.RecentObservationsUpTo(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 2, "door", false, func(o store.Observation) error {
		upTo = append(upTo, o.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(upTo) != 2 {
		t.Errorf("observations up to position 2: %v, want the first two", upTo)
	}

	for i, s := range []*store.Store{a, b, a} {
		if err := s.Change(ctx, func(tx *store.Tx) error {
			return tx.Audit(store.Entry{Actor: "system", Action: "test.step", Subject: "step"})
		}); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if res, err := b.VerifyAudit(ctx); err != nil {
		t.Errorf("the chain written by two instances does not verify: %v", err)
	} else if res.Records < 3 {
		t.Errorf("chain holds %d records, want the 3 appended", res.Records)
	}
}
