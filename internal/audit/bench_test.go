package audit

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkVerify verifies an exported 1 000 000-record chain from a file, as `custodyctl audit
// verify FILE` does. The issue's figure is audit_verify_per_s (target ≥ 500 000).
func BenchmarkVerify(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	recs := chain(b, 10_000)
	prev := Genesis
	for i := 0; i < n; i += len(recs) {
		for j := range recs {
			recs[j].Seq = int64(i + j + 1)
			recs[j].Seal(prev)
			prev = recs[j].Hash
		}
		if err := WriteJSONL(w, recs); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Verify(f, VerifyOptions{Head: prev})
		f.Close()
		if err != nil || res.Records != n {
			b.Fatalf("got %d records, %v; want %d intact", res.Records, err, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "audit_verify_per_s")
}
