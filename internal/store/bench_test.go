package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// BenchmarkAuditAppend appends audit records through Change, 100 per transaction as a bulk step
// (a destruction batch, a cabinet stored in one go) does. Figure: audit_append_per_s (≥ 20 000).
//
// What limits it: the machine — one fsync per transaction (every 100 records) and core speed for
// SHA-256; the code — one hash and one INSERT per record.
func BenchmarkAuditAppend(b *testing.B) {
	s := open(b, storetest.Target(b))
	ctx := context.Background()
	const perTx = 100
	after := map[string]any{"state": "in_cabinet", "cabinet": "C-01"}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		err := s.Change(ctx, func(tx *store.Tx) error {
			for j := range perTx {
				if err := tx.Audit(store.Entry{Actor: "wang.fang", Action: "item.store", Subject: fmt.Sprintf("item:%d", i*perTx+j), After: after}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perTx)/time.Since(start).Seconds(), "audit_append_per_s")
}
