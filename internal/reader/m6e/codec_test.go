package m6e

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/readertest"
)

const vectors = "../../../firmware-protocol/vectors/m6e.json"

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

func TestCRCByteTableMatchesNibbles(t *testing.T) {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i*37+i>>3))
		if got, want := CRC(b), crcNibbles(b); got != want {
			t.Fatalf("%d bytes: got %04X, want %04X", len(b), got, want)
		}
	}
}

func TestCRCCheckValues(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint16
	}{
		{[]byte("123456789"), 0xA69D},
		{[]byte{0x00, 0x03}, 0x1D0C},
	} {
		if got := CRC(c.in); got != c.want {
			t.Errorf("CRC(% X): got %04X, want %04X", c.in, got, c.want)
		}
	}
}

// The tag CRC in the SparkFun capture is the Gen2 CRC-16 over PC+EPC: our record layout puts the
// bytes where the tag itself put them.
func TestCapturedTagCRC(t *testing.T) {
	f, err := NewDecoder(bytes.NewReader(sparkfunRecord)).Next()
	if err != nil {
		t.Fatal(err)
	}
	if got := gen2CRC(f.Raw[len(f.Raw)-2-2-len(f.EPC)-2 : len(f.Raw)-4]); got != f.TagCRC {
		t.Errorf("Gen2 CRC over PC+EPC: got %04X, want %04X", got, f.TagCRC)
	}
}

var sparkfunRecord = []byte{0xFF, 0x28, 0x22, 0x00, 0x00, 0x10, 0x00, 0x1B, 0x01, 0xFF, 0x01, 0x01, 0xC4, 0x11, 0x0E, 0x16,
	0x40, 0x00, 0x00, 0x01, 0x27, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0F, 0x00, 0x80, 0x30, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x45, 0xE9, 0x4A, 0x56, 0x1D}

func TestRecordsByFlags(t *testing.T) {
	epc := []byte{0x30, 0x14, 0x25, 0x7B, 0xF4, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x07}
	for flags := uint16(0); flags <= MetaKnown; flags++ {
		m := TagMeta{Flags: flags, ReadCount: 4, RSSIDBm: -67, Antenna: 3, FrequencyKHz: 915750, TimestampMS: 99, Phase: 120}
		f, err := Parse(AppendTagRecord(nil, m, epc))
		if err != nil {
			t.Fatalf("flags %04X: %v", flags, err)
		}
		if !bytes.Equal(f.EPC, epc) {
			t.Fatalf("flags %04X: got EPC % X, want % X", flags, f.EPC, epc)
		}
		if flags&MetaRSSI != 0 && f.RSSIDBm != -67 || flags&MetaAntenna != 0 && f.Antenna != 3 ||
			flags&MetaFrequency != 0 && f.FrequencyKHz != 915750 || flags&MetaReadCount != 0 && f.ReadCount != 4 ||
			flags&MetaPhase != 0 && f.Phase != 120 || flags&MetaTimestamp != 0 && f.TimestampMS != 99 {
			t.Fatalf("flags %04X: got %+v", flags, f)
		}
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

// BenchmarkDecodeTagFrames decodes an endless stream of tag records (m6e_decode_frames_per_s).
// What limits it: the code — one CRC pass and the metadata walk, no allocation per frame; the
// machine — single-core speed.
func BenchmarkDecodeTagFrames(b *testing.B) {
	var stream []byte
	epc := []byte{0xE2, 0x80, 0x11, 0x60, 0x60, 0, 0x02, 0x0A, 0xB1, 0xC3, 0, 0}
	for i := range 256 {
		epc[11] = byte(i)
		stream = AppendTagRecord(stream, TagMeta{Flags: 0x001F, ReadCount: 1, RSSIDBm: -60, Antenna: i%4 + 1, FrequencyKHz: 915250, TimestampMS: uint32(i)}, epc)
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
		sum += f.Antenna + f.RSSIDBm
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "m6e_decode_frames_per_s")
	_ = sum
}
