package reader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Decode errors. A DecodeError wraps one of them.
var (
	ErrGarbage   = errors.New("bytes outside any frame")
	ErrChecksum  = errors.New("checksum mismatch")
	ErrLength    = errors.New("impossible length")
	ErrTruncated = errors.New("frame cut short")
	ErrMalformed = errors.New("malformed payload")
	// ErrIdle is returned by Next when the underlying Read returned no bytes and no error (a
	// serial port whose read timeout expired); call Next again.
	ErrIdle = errors.New("no data yet")
)

// DecodeError reports either one damaged frame or one stretch of bytes that formed no frame.
//
// A damaged frame is one whose sync byte, header and length were plausible but whose checksum
// failed (Err wraps ErrChecksum): it is its own error at its own offset, so two adjacent damaged
// frames are two errors, and a field engineer counting corrupt frames counts right. Bytes after
// it up to the next plausible frame start (a fragment, line noise) are part of the same loss.
// Any other run of bytes that forms no frame — noise, a sync byte with an impossible length, a
// frame cut short by the end of the stream — is one stretch, Err saying why its first byte was
// rejected. Decoding resumes at the next frame, returned by the following call: nothing after the
// error is lost.
type DecodeError struct {
	Offset  int64 // stream offset of the first bad byte
	Skipped int64 // bytes in the damaged frame or stretch
	Err     error // why the first candidate at Offset was rejected
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("offset %d: %d bytes skipped: %v", e.Offset, e.Skipped, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// CheckFunc inspects b, which begins with the sync byte. It returns n > 0 and nil when b starts
// with a valid frame of n bytes; n > 0 and an error wrapping ErrChecksum when b starts with a
// frame of n bytes whose header and length are plausible but whose checksum fails; 0 and nil when
// b may be the start of a frame but is too short to tell; 0 and an error when b does not start a
// frame. It must not retain b.
type CheckFunc func(b []byte) (int, error)

// Scanner splits a byte stream into frames that start with a sync byte and pass a check. It keeps
// one fixed buffer, so memory stays bounded whatever the input; it never panics on any input.
type Scanner struct {
	r        io.Reader
	sync     byte
	check    CheckFunc
	buf      []byte
	start    int
	end      int
	base     int64 // stream offset of buf[0]
	readErr  error
	bad      int64 // stream offset where the current error began; -1 when none
	badErr   error
	badEnd   int64 // where the damaged frame that began the error claims to end (= bad for a stretch)
	maxFrame int
}

// maxBadStretch bounds how long a bad stretch may grow before it is reported, so an endless
// stream of garbage still gives the operator feedback.
const maxBadStretch = 64 << 10

// NewScanner returns a scanner over r for frames starting with sync and at most maxFrame bytes.
func NewScanner(r io.Reader, sync byte, maxFrame int, check CheckFunc) *Scanner {
	return &Scanner{r: r, sync: sync, check: check, buf: make([]byte, 16*maxFrame), bad: -1, maxFrame: maxFrame}
}

// Next returns the next valid frame and its stream offset. The frame is valid until the next
// call. Errors: *DecodeError for a bad stretch (call again to continue), ErrIdle for an empty
// read, and the reader's own error (io.EOF at the end) once every buffered byte is consumed.
func (s *Scanner) Next() ([]byte, int64, error) {
	for {
		for s.start < s.end {
			b := s.buf[s.start:s.end]
			if b[0] != s.sync {
				i := bytes.IndexByte(b, s.sync)
				if i < 0 {
					i = len(b)
				}
				s.markBad(ErrGarbage)
				s.start += i
				continue
			}
			n, err := s.check(b)
			if n > 0 && err != nil {
				// A plausible frame with a bad checksum. Inside the span a damaged frame claims,
				// a sync byte is most likely its data (or the start of a frame it cut): it is
				// part of that loss. Anywhere else it is a damaged frame of its own, reported
				// on its own after whatever came before it.
				pos := s.base + int64(s.start)
				switch {
				case s.bad < 0:
					s.bad, s.badErr, s.badEnd = pos, err, pos+int64(n)
				case pos >= s.badEnd:
					return nil, 0, s.flushBad()
				}
				// Resume one byte on, not after the claimed end: the length byte may lie, and a
				// good frame that begins inside the claimed span must still be found.
				s.start++
				continue
			}
			if n > 0 {
				if s.bad >= 0 {
					// Report the stretch first; the good frame waits for the next call.
					return nil, 0, s.flushBad()
				}
				off := s.base + int64(s.start)
				s.start += n
				return b[:n], off, nil
			}
			if err == nil && s.readErr != nil {
				// No more bytes will come to complete it: a frame cut short, reported like a
				// damaged one. It claims everything left, so a sync byte among its bytes is part
				// of this loss, not a frame of its own.
				pos := s.base + int64(s.start)
				switch {
				case s.bad < 0:
					s.bad, s.badErr, s.badEnd = pos, ErrTruncated, s.base+int64(s.end)
				case pos >= s.badEnd:
					return nil, 0, s.flushBad()
				}
				s.start++
				continue
			}
			if err != nil {
				// The length byte may lie, so resume one byte on rather than after the claimed
				// frame: a good frame hidden inside the claimed span is still found.
				s.markBad(err)
				s.start++
				continue
			}
			break // need more bytes
		}
		if s.bad >= 0 && (s.readErr != nil || s.base+int64(s.start)-s.bad >= maxBadStretch) {
			return nil, 0, s.flushBad()
		}
		if s.readErr != nil {
			return nil, s.base + int64(s.start), s.readErr
		}
		if len(s.buf)-s.end < s.maxFrame {
			copy(s.buf, s.buf[s.start:s.end])
			s.base += int64(s.start)
			s.end -= s.start
			s.start = 0
		}
		n, err := s.r.Read(s.buf[s.end:])
		if n < 0 || n > len(s.buf)-s.end {
			n = 0
			if err == nil {
				err = errors.New("reader returned an impossible count")
			}
		}
		s.end += n
		if err != nil {
			s.readErr = err
		} else if n == 0 {
			return nil, 0, ErrIdle
		}
	}
}

// Abandon gives up on a frame that has begun but not completed. A driver calls it when the line
// has gone quiet in the middle of a frame (an inter-byte timeout): a noise byte that looked like a
// frame start with a large length would otherwise hold back the real reply behind it until enough
// later bytes arrive. The held bytes are rescanned from one byte on; nothing good is dropped.
func (s *Scanner) Abandon() {
	if s.start < s.end {
		s.markBad(ErrTruncated)
		s.start++
	}
}

func (s *Scanner) markBad(err error) {
	if s.bad < 0 {
		s.bad = s.base + int64(s.start)
		s.badErr = err
		s.badEnd = s.bad
	}
}

func (s *Scanner) flushBad() error {
	e := &DecodeError{Offset: s.bad, Skipped: s.base + int64(s.start) - s.bad, Err: s.badErr}
	s.bad = -1
	s.badErr = nil
	return e
}

// Record is a decoded frame in a JSON-friendly form, for tools that print captured streams
// (custody-agent decode) and for logs. Tag frames fill EPC, Antenna and RSSIDBm; other frames set
// their own Kind and put what they carry in Detail.
type Record struct {
	Kind         string         `json:"kind"`
	Offset       int64          `json:"offset"`
	Command      string         `json:"command,omitempty"`
	EPC          string         `json:"epc,omitempty"`
	PC           string         `json:"pc,omitempty"`
	Antenna      int            `json:"antenna,omitempty"`
	RSSIDBm      *int           `json:"rssi_dbm,omitempty"`
	FrequencyKHz int            `json:"frequency_khz,omitempty"`
	ReadCount    int            `json:"read_count,omitempty"`
	Status       string         `json:"status,omitempty"`
	Message      string         `json:"message,omitempty"`
	MessageZH    string         `json:"message_zh,omitempty"`
	Detail       map[string]any `json:"detail,omitempty"`
	Error        string         `json:"error,omitempty"`
	Raw          string         `json:"raw,omitempty"`
}

// ErrorRecord turns a decode error into the record a decode tool prints.
func ErrorRecord(err error) Record {
	var de *DecodeError
	switch {
	case err == nil:
		return Record{Kind: "error", Error: "no error"}
	case errors.As(err, &de):
		return Record{Kind: "error", Offset: de.Offset, Error: de.Error()}
	}
	return Record{Kind: "error", Error: err.Error()}
}

// HexUpper formats bytes as upper-case hex, the way EPCs are printed on labels. It runs once per
// tag read, so it allocates only the string it returns.
func HexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	var small [128]byte
	out := small[:0]
	if 2*len(b) > len(small) {
		out = make([]byte, 0, 2*len(b))
	}
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return string(out)
}
