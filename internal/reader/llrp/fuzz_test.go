package llrp_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/readertest"
)

const vectors = "../../../firmware-protocol/llrp/vectors.json"

// FuzzDecoder feeds arbitrary streams to the decoder and to every body parser: nothing may panic,
// every byte is accounted for exactly once (a message or an error stretch, in order), and the
// records of a stream do not depend on how the bytes arrive.
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
		d := llrp.NewDecoder(bytes.NewReader(data))
		var consumed int64
		for i := 0; ; i++ {
			m, err := d.Next()
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
			if m.Offset != consumed || int(m.Length) != llrp.HeaderLen+len(m.Body) {
				t.Fatalf("message at %d of length %d with %d body bytes, want offset %d", m.Offset, m.Length, len(m.Body), consumed)
			}
			consumed += int64(m.Length)
			_, _ = llrp.Records(m)
			_ = llrp.ForEachTag(m.Body, func(*llrp.Tag) {})
			_, _ = llrp.ParseEvent(m.Body)
			_ = llrp.ParseStatus(m.Type, m.Body)
			_, _ = llrp.ParseCapabilities(m.Body)
			_, _ = llrp.ParseAddSpec(m.Body)
			_, _ = llrp.ParseAntennaProperties(m.Body)
		}
		if consumed != int64(len(data)) {
			t.Fatalf("accounted for %d bytes of %d", consumed, len(data))
		}
		whole := records(t, bytes.NewReader(data))
		if bytesOne := records(t, iotest.OneByteReader(bytes.NewReader(data))); whole != bytesOne {
			t.Fatalf("records differ when the bytes come one at a time:\n%s\n%s", whole, bytesOne)
		}
	})
}

func records(t *testing.T, r io.Reader) string {
	next := llrp.RecordStream(r)
	var out bytes.Buffer
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return out.String()
		}
		if err != nil {
			rec = reader.ErrorRecord(err)
		}
		out.WriteString(rec.Kind + "@" + hex.EncodeToString([]byte{byte(rec.Offset >> 8), byte(rec.Offset)}) + rec.EPC + rec.Error + "\n")
	}
}
