package register_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRegisterItems registers documents of 100 copies each through the register and the
// store (one transaction and one audit record per document, as custodyctl does).
// Figure: register_items_per_s (≥ 20 000).
//
// What limits it: the machine — the disk's fsync per transaction (one per document); the code —
// statements and audit hashing per copy. With 100 copies a transaction, the per-copy code cost
// dominates on a fast disk.
func BenchmarkRegisterItems(b *testing.B) {
	f := open(b, filepath.Join(b.TempDir(), "r.db"))
	ctx := context.Background()
	const copies = 100
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, _, err := f.reg.RegisterDocument(ctx, f.custodian, doc(fmt.Sprintf("B-%d", i), copies)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*copies)/time.Since(start).Seconds(), "register_items_per_s")
}
