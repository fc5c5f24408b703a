package r2000

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/readertest"
)

const vectors = "../../../firmware-protocol/vectors/r2000.json"

func openVector(r io.Reader, direction string) readertest.NextFunc {
	d := NewDecoder(r)
	if direction == "host" {
		d = NewCommandDecoder(r)
	}
	return func() (reader.Record, error) {
		f, err := d.Next()
		if err != nil {
			return reader.Record{}, err
		}
		return f.Record(), nil
	}
}

func TestVectors(t *testing.T) {
	readertest.Run(t, vectors, openVector)
}

// Serial ports deliver bytes in arbitrary pieces; one byte at a time must decode the same.
func TestVectorsOneByteReads(t *testing.T) {
	readertest.Run(t, vectors, func(r io.Reader, direction string) readertest.NextFunc {
		return openVector(iotest.OneByteReader(r), direction)
	})
}

func TestChecksumExamples(t *testing.T) {
	for _, c := range []struct {
		frame []byte
		want  byte
	}{
		{[]byte{0xA0, 0x03, 0x01, 0x72}, 0xEA},
		{[]byte{0xA0, 0x04, 0x01, 0x89, 0x01}, 0xD1},
		{[]byte{0xA0, 0x05, 0x01, 0x72, 0x01, 0x09}, 0xDE},
	} {
		if got := Checksum(c.frame); got != c.want {
			t.Errorf("Checksum(% X): got %02X, want %02X", c.frame, got, c.want)
		}
	}
}

func TestRSSITable(t *testing.T) {
	for _, c := range []struct {
		raw  byte
		want int
	}{{0x62, -31}, {0x5A, -39}, {0x59, -41}, {0x41, -65}, {0x1F, -99}} {
		if got := RSSIDBm(c.raw); got != c.want {
			t.Errorf("RSSIDBm(0x%02X): got %d, want %d", c.raw, got, c.want)
		}
	}
	for dBm := -99; dBm <= -31; dBm++ {
		if dBm == -40 {
			continue // not in the table
		}
		if got := RSSIDBm(RSSIRawFor(dBm)); got != dBm {
			t.Errorf("RSSIDBm(RSSIRawFor(%d)): got %d", dBm, got)
		}
	}
}

// A long stream of tag frames with damage sprinkled in: every good frame comes out, in order,
// and every damaged stretch is one error.
func TestStreamLosesNothing(t *testing.T) {
	var stream []byte
	var want [][]byte
	epc := []byte{0xE2, 0x80, 0x11, 0x60, 0, 0, 0, 0, 0, 0, 0, 0}
	damaged := 0
	for i := range 3000 {
		epc[11] = byte(i)
		epc[10] = byte(i >> 8)
		f := AppendTag(nil, 1, CmdRealtimeInv, i%4+1, i%50, epc, 0x40)
		switch i % 97 {
		case 13: // garbage before
			stream = append(stream, 0x00, 0x13, 0x37)
			damaged++
		case 29: // cut in half: the stump precedes the frame
			stream = append(stream, f[:len(f)/2]...)
			damaged++
		case 51: // wrong checksum: this frame is lost, reported
			g := append([]byte(nil), f...)
			g[len(g)-1]++
			stream = append(stream, g...)
			damaged++
			continue
		}
		stream = append(stream, f...)
		want = append(want, append([]byte(nil), epc...))
	}
	d := NewDecoder(iotest.HalfReader(bytes.NewReader(stream)))
	var got int
	var errs int
	for {
		f, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var de *reader.DecodeError
		if errors.As(err, &de) {
			errs++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got >= len(want) || !bytes.Equal(f.EPC, want[got]) {
			t.Fatalf("frame %d: got EPC % X, want % X", got, f.EPC, want[got])
		}
		got++
	}
	if got != len(want) {
		t.Errorf("got %d good frames, want %d", got, len(want))
	}
	if errs != damaged {
		t.Errorf("got %d decode errors, want %d", errs, damaged)
	}
}

func FuzzDecoder(f *testing.F) {
	file, err := readertest.Load(vectors)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range file.Vectors {
		b, _ := v.Bytes()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		var consumed int64
		for i := 0; ; i++ {
			fr, err := d.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if i > len(data) {
				t.Fatalf("more items (%d) than input bytes (%d)", i, len(data))
			}
			var de *reader.DecodeError
			if errors.As(err, &de) {
				if de.Offset != consumed || de.Skipped <= 0 {
					t.Fatalf("error at offset %d skipping %d, want offset %d", de.Offset, de.Skipped, consumed)
				}
				consumed += de.Skipped
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if fr.Offset != consumed {
				t.Fatalf("frame at offset %d, want %d: bytes went missing", fr.Offset, consumed)
			}
			consumed += int64(len(fr.Raw))
			_ = fr.Record()
			if _, err := Parse(fr.Raw); err != nil {
				t.Fatalf("decoded frame does not parse: %v", err)
			}
		}
		if consumed != int64(len(data)) {
			t.Fatalf("accounted for %d bytes of %d", consumed, len(data))
		}
		// Again as a live line that goes quiet at points the input picks, where a driver abandons
		// the frame in progress: every byte is still accounted for, in order.
		d = NewDecoder(&gappy{data: data})
		consumed = 0
		for i := 0; ; i++ {
			fr, err := d.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if i > 4*len(data)+8 {
				t.Fatalf("more items (%d) than input bytes (%d) allow", i, len(data))
			}
			var de *reader.DecodeError
			switch {
			case errors.Is(err, reader.ErrIdle):
				d.Abandon()
				continue
			case errors.As(err, &de):
				if de.Offset != consumed {
					t.Fatalf("gappy: error at offset %d, want %d", de.Offset, consumed)
				}
				consumed += de.Skipped
				continue
			case err != nil:
				t.Fatal(err)
			}
			if fr.Offset != consumed {
				t.Fatalf("gappy: frame at offset %d, want %d", fr.Offset, consumed)
			}
			consumed += int64(len(fr.Raw))
		}
		if consumed != int64(len(data)) {
			t.Fatalf("gappy: accounted for %d bytes of %d", consumed, len(data))
		}
		c := NewCommandDecoder(bytes.NewReader(data))
		for {
			if _, err := c.Next(); errors.Is(err, io.EOF) {
				break
			}
		}
	})
}

// gappy hands out its data in pieces whose sizes the data itself picks, with an empty read (a
// serial read timeout) after each piece.
type gappy struct {
	data []byte
	off  int
	gap  bool
}

func (g *gappy) Read(p []byte) (int, error) {
	if g.off >= len(g.data) {
		return 0, io.EOF
	}
	if g.gap = !g.gap; !g.gap {
		return 0, nil
	}
	n := min(1+int(g.data[g.off])%13, len(p), len(g.data)-g.off)
	copy(p, g.data[g.off:g.off+n])
	g.off += n
	return n, nil
}

// endless replays one buffer forever, so the benchmark measures decoding, not I/O set-up.
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

// BenchmarkDecodeTagFrames decodes an endless stream of realtime tag reports
// (r2000_decode_frames_per_s). What limits it: the code — one checksum pass and no allocation per
// frame; the machine — single-core speed. 115 200 baud carries about 550 such frames a second.
func BenchmarkDecodeTagFrames(b *testing.B) {
	var stream []byte
	epc := []byte{0xE2, 0x80, 0x11, 0x60, 0x60, 0, 0x02, 0x0A, 0xB1, 0xC3, 0, 0}
	for i := range 256 {
		epc[11] = byte(i)
		stream = AppendTag(stream, 1, CmdRealtimeInv, i%4+1, i%50, epc, 0x40)
	}
	d := NewDecoder(&endless{b: stream})
	b.ReportAllocs()
	b.ResetTimer()
	var sum int
	for b.Loop() {
		f, err := d.Next()
		if err != nil || f.Kind != KindTag {
			b.Fatalf("got %v %v", f.Kind, err)
		}
		sum += f.Antenna + RSSIDBm(f.RSSIRaw)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "r2000_decode_frames_per_s")
	_ = sum
}
