// Package capture decodes captured device byte streams for people: it runs the real codecs
// (r2000, m6e, llrp, cabinet, scanner) over a capture and prints one JSON object per line for each
// frame, the engine of `custody-agent decode`.
//
// Contract: every frame the codec yields is printed with its own "kind" (tag reads as
// {"kind":"tag","epc":…,"antenna":…,"rssi_dbm":…}, scans as {"kind":"scan",…,"gs1":{…}}); every
// bad stretch is printed as {"kind":"error","offset":N,"cause":…,"error":…}, where N is the offset of
// its first byte in the raw byte stream (for hex input: in the bytes the hex spells, not in the
// text), and decoding resumes at the next frame. Decode returns an error only when the input
// itself cannot be read (an I/O error, or hex text that is not hex); bad frames are output, not
// errors. Hex text is read by HexReader, which names the line and column of what is wrong.
package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/custodyhq/custody/internal/cabinet"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/m6e"
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/scanner"
)

// Protocols lists the protocols Decode knows, sorted.
func Protocols() []string {
	names := make([]string, 0, len(decoders))
	for n := range decoders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Direction says who sent the captured bytes, for the reader protocols whose two directions are
// framed differently. The cabinet protocol tells replies from requests by their type byte, and a
// scanner only ever sends.
type Direction string

// Directions.
const (
	FromDevice Direction = "reader" // reader → host: replies and tag reports (the default)
	FromHost   Direction = "host"   // host → reader: commands
)

// next yields the next item: a value to print as JSON, or an error; io.EOF ends the stream.
type next func() (any, error)

var decoders = map[string]func(r io.Reader, d Direction) next{
	"r2000": func(r io.Reader, d Direction) next {
		dec := r2000.NewDecoder(r)
		if d == FromHost {
			dec = r2000.NewCommandDecoder(r)
		}
		return func() (any, error) {
			f, err := dec.Next()
			if err != nil {
				return nil, err
			}
			return f.Record(), nil
		}
	},
	"m6e": func(r io.Reader, d Direction) next {
		dec := m6e.NewDecoder(r)
		if d == FromHost {
			dec = m6e.NewCommandDecoder(r)
		}
		return func() (any, error) {
			f, err := dec.Next()
			if err != nil {
				return nil, err
			}
			return f.Record(), nil
		}
	},
	// LLRP frames both directions alike: one stream may hold the reader's and the client's messages.
	"llrp": func(r io.Reader, _ Direction) next {
		stream := llrp.RecordStream(r)
		return func() (any, error) { return stream() }
	},
	"cabinet": func(r io.Reader, _ Direction) next {
		dec := cabinet.NewDecoder(r)
		return func() (any, error) {
			f, err := dec.Next()
			if err != nil {
				return nil, err
			}
			// A frame whose CRC holds but whose payload breaks its type's rules is still a bad
			// frame to the engineer reading the capture: print it as an error like the others.
			if _, err := f.Message(); err != nil {
				return nil, &cabinet.FrameError{Offset: f.Offset, Err: err}
			}
			return leading(f, "kind", "offset", "addr", "seq")
		}
	},
	"scanner": func(r io.Reader, _ Direction) next {
		lr := scanner.NewLineReader(r)
		return func() (any, error) {
			s, err := lr.Next()
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	},
}

// ErrorRecord is what Decode prints for a bad stretch of the stream.
type ErrorRecord struct {
	Kind    string `json:"kind"` // always "error"
	Offset  int64  `json:"offset"`
	Skipped int64  `json:"skipped,omitempty"` // bytes in the stretch, where the codec counts them
	Cause   string `json:"cause"`             // short machine-readable name: checksum, garbage, …
	Error   string `json:"error"`
}

// causes names the codecs' sentinels; the names match those of the conformance vectors.
var causes = []struct {
	err  error
	name string
}{
	{reader.ErrGarbage, "garbage"}, {reader.ErrChecksum, "checksum"}, {reader.ErrLength, "length"},
	{reader.ErrTruncated, "truncated"}, {reader.ErrMalformed, "malformed"},
	{cabinet.ErrCRC, "crc"}, {cabinet.ErrLength, "length"}, {cabinet.ErrAddress, "address"},
	{cabinet.ErrTruncated, "truncated"}, {cabinet.ErrGarbage, "garbage"}, {cabinet.ErrPayload, "payload"},
	{scanner.ErrEmpty, "empty"}, {scanner.ErrAIM, "aim"}, {scanner.ErrCheckDigit, "check_digit"},
	{scanner.ErrGS1, "gs1"}, {scanner.ErrTooLong, "too_long"}, {scanner.ErrTruncated, "truncated"},
	{scanner.ErrControl, "control"},
}

func causeOf(err error) string {
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// badFrame turns a codec's decode error into an ErrorRecord; ok is false for any other error
// (the input's own, which ends decoding).
func badFrame(err error) (ErrorRecord, bool) {
	var (
		de *reader.DecodeError
		fe *cabinet.FrameError
		se *scanner.ScanError
	)
	switch {
	case errors.As(err, &de):
		return ErrorRecord{Kind: "error", Offset: de.Offset, Skipped: de.Skipped, Cause: causeOf(de.Err), Error: de.Err.Error()}, true
	case errors.As(err, &fe):
		return ErrorRecord{Kind: "error", Offset: fe.Offset, Skipped: fe.Skipped, Cause: causeOf(fe.Err), Error: fe.Err.Error()}, true
	case errors.As(err, &se):
		return ErrorRecord{Kind: "error", Offset: se.Offset, Cause: causeOf(se.Err), Error: se.Err.Error()}, true
	}
	return ErrorRecord{}, false
}

// Options say how to read a capture.
type Options struct {
	Protocol  string    // one of Protocols()
	Hex       bool      // the input is hex text rather than raw bytes
	Direction Direction // for r2000 and m6e; "" means FromDevice
}

// Stats counts what Decode printed.
type Stats struct {
	Frames int
	Errors int
}

// Decode reads the capture in r and writes one JSON line per frame or bad stretch to w. It returns
// an error (wrapped, naming the cause) only when r cannot be read or w cannot be written.
func Decode(w io.Writer, r io.Reader, o Options) (Stats, error) {
	var st Stats
	open, ok := decoders[o.Protocol]
	if !ok {
		return st, fmt.Errorf("unknown protocol %q (want %s)", o.Protocol, strings.Join(Protocols(), ", "))
	}
	switch o.Direction {
	case "":
		o.Direction = FromDevice
	case FromDevice, FromHost:
	default:
		return st, fmt.Errorf("unknown direction %q (want reader or host)", o.Direction)
	}
	if o.Hex {
		r = NewHexReader(r)
	}
	// Unbuffered on purpose: a capture followed live (a serial line piped in) shows each frame
	// as it arrives.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	nextItem := open(r, o.Direction)
	for {
		v, err := nextItem()
		if errors.Is(err, reader.ErrIdle) {
			continue // an empty read from a live source; the codecs ask to be called again
		}
		if err != nil {
			if rec, bad := badFrame(err); bad {
				st.Errors++
				v = rec
			} else {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				if err != nil {
					err = fmt.Errorf("read %s capture: %w", o.Protocol, err)
				}
				return st, err
			}
		} else {
			st.Frames++
		}
		if err := enc.Encode(v); err != nil {
			return st, fmt.Errorf("write output: %w", err)
		}
	}
}

// leading re-encodes v (whose JSON is an object) with the named keys first, in that order, and
// the rest after them in sorted order: a cabinet frame marshals from a map, and an engineer
// reading a capture looks for the kind and offset first.
func leading(v any, first ...string) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for _, k := range first {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !slices.Contains(first, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	var out bytes.Buffer
	out.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			out.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(m[k])
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
