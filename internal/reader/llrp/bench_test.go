package llrp_test

import (
	"testing"

	"github.com/custodyhq/custody/internal/reader/llrp"
)

// endless replays a stream for ever.
type endless struct {
	b   []byte
	off int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.b[e.off:])
		n += c
		e.off = (e.off + c) % len(e.b)
	}
	return n, nil
}

// reportStream is 16 RO_ACCESS_REPORTs of 50 tags each, as a reader sends them: EPC-96, antenna,
// peak RSSI, channel, first-seen time and seen count in every TagReportData (2 050 bytes a report).
func reportStream() []byte {
	var w llrp.Builder
	var out []byte
	epc := []byte{0xE2, 0x80, 0x11, 0x70, 0, 0, 0x02, 0x0A, 0x1B, 0x2C, 0, 0}
	for r := range 16 {
		w.Reset()
		w.Message(llrp.Version101, llrp.ROAccessReport, uint32(r+1))
		for i := range 50 {
			epc[10], epc[11] = byte(r), byte(i)
			llrp.AppendTag(&w, &llrp.Tag{EPC: epc, Antenna: i%4 + 1, HasAntenna: true, PeakRSSI: -40 - i%30, HasRSSI: true,
				ChannelIndex: i%16 + 1, HasChannel: true, FirstSeenUTC: 1764979200000000 + uint64(i), HasFirstSeen: true,
				SeenCount: 1 + i%3, HasSeenCount: true}, false)
		}
		w.EndMessage()
		out = append(out, w.Bytes()...)
	}
	return out
}

// BenchmarkDecodeReports frames RO_ACCESS_REPORTs of 50 tags from an endless stream and walks
// every TagReportData, as the driver does before handing reads on (llrp_decode_reports_per_s;
// target ≥ 200 000). What limits it: the code — one pass over the bytes, the TV parameters of a
// tag switched inline, no allocation; the machine — single-core speed. A busy four-antenna reader
// sends a few hundred such reports a second.
func BenchmarkDecodeReports(b *testing.B) {
	d := llrp.NewDecoder(&endless{b: reportStream()})
	var sum, tags int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, err := d.Next()
		if err != nil || m.Type != llrp.ROAccessReport {
			b.Fatalf("got %v %v", m.Type, err)
		}
		it := llrp.Tags(m.Body)
		for it.Next() {
			tags++
			sum += it.Tag.Antenna + it.Tag.PeakRSSI + int(it.Tag.EPC[11])
		}
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
	}
	if tags != 50*b.N {
		b.Fatalf("walked %d tags in %d reports", tags, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "llrp_decode_reports_per_s")
	_ = sum
}
