package register_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// BenchmarkRegisterItems registers documents of 100 copies each through the register and the
// store (one transaction and one audit record per document, as custodyctl does).
// Figure: register_items_per_s (≥ 20 000).
//
// What limits it: the machine — the disk's fsync per transaction (one per document); the code —
// statements and audit hashing per copy. With 100 copies a transaction, the per-copy code cost
// dominates on a fast disk.
func BenchmarkRegisterItems(b *testing.B) {
	f := open(b, storetest.Target(b))
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

// BenchmarkListApprovals reads the approvals listing at its full length, 500 approvals (of one
// item each), as the console's 审批 page and custodyctl approvals do.
// Figure: list_approvals_500_ms (time of one listing).
//
// What limits it: the number of statements. A listing reads the ids, then the approvals and
// their items once for all ids (listing.go): 3 queries whatever the length. Before, it ran the
// one-approval reader per id: 1 + 500×2 queries, 1001 in all (about 40 ms on the CI machine).
func BenchmarkListApprovals(b *testing.B) {
	d := newDesk(b)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	const n = 500
	items := d.receive(b, "办〔2026〕500号", "secret", n)
	due := d.now.Add(48 * time.Hour).Format(time.RFC3339)
	for _, it := range items {
		if _, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: ids(it), Due: due, Reason: "赴市委汇报"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		aps, err := d.reg.Approvals(ctx, wf, false)
		if err != nil {
			b.Fatal(err)
		}
		if len(aps) != n || len(aps[0].Items) != 1 {
			b.Fatalf("got %d approvals, want %d with one item each", len(aps), n)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "list_approvals_500_ms")
}

// BenchmarkListSessions reads the handovers listing at its full length, 200 sessions (opened and
// abandoned), as the console's 交接 page does.
// Figure: list_sessions_200_ms (time of one listing).
//
// Before listing.go each session cost five queries (head, items, items' rows, rejected reads,
// signatures): 1 + 200×5 = 1001; now 5.
func BenchmarkListSessions(b *testing.B) {
	d := newDesk(b)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	const n = 200
	for range n {
		s, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeReturn})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.reg.AbandonSession(ctx, wf, s.ID, "对方改日再来"); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ss, err := d.reg.Sessions(ctx, wf, "")
		if err != nil {
			b.Fatal(err)
		}
		if len(ss) != n {
			b.Fatalf("got %d sessions, want %d", len(ss), n)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "list_sessions_200_ms")
}
