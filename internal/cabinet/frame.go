// Package cabinet speaks the cabinet controller protocol of firmware-protocol/cabinet.md: a pure
// codec over []byte (Frame, Parse, the typed messages), a streaming Decoder that resynchronises
// after garbage and bad frames and reports each with its byte offset, and a bus Client that drives
// several controllers on one half-duplex RS-485 line (sequence numbers, retries, polling for
// events).
//
// Contract: decoding never panics and never allocates more than one frame (71 bytes) beyond what
// the caller handed in; every bad input is reported with an error wrapping one of the sentinel
// errors below, and decoding resumes at the next frame. Section numbers (§) in comments refer to
// cabinet.md.
package cabinet

import (
	"errors"
	"fmt"
	"strings"
)

// Frame layout constants (§2).
const (
	Sync          = 0xC5 // first byte of every frame
	HeaderLen     = 5    // SYNC ADDR SEQ TYPE LEN
	MaxPayload    = 64   // largest LEN
	MinFrameLen   = HeaderLen + 2
	MaxFrameLen   = HeaderLen + MaxPayload + 2
	MinAddr       = 0x01 // lowest controller address
	MaxAddr       = 0xF7 // highest controller address
	ProtoVersion  = 1    // the version this package speaks (§3)
	MaxPollEvents = 8    // events in one POLL reply (§5)
)

// Sentinel errors for bad frames. A *FrameError wraps one of them.
var (
	ErrCRC       = errors.New("crc mismatch")
	ErrLength    = errors.New("length byte over 64")
	ErrAddress   = errors.New("reserved address")
	ErrTruncated = errors.New("frame cut short")
	ErrGarbage   = errors.New("bytes outside any frame")
	ErrPayload   = errors.New("invalid payload")
	// ErrNeedMore is returned by Parse when b holds the start of a frame but not all of it.
	ErrNeedMore = errors.New("need more bytes")
	// ErrNoSync is returned by Parse when b does not start with the sync byte.
	ErrNoSync = errors.New("no sync byte")
)

// FrameError is a damaged frame (or a run of bytes that form no frame) found by the Decoder, with
// the stream offset of its first byte. Decoding continues after it.
type FrameError struct {
	Offset  int64 // byte offset in the stream
	Skipped int64 // bytes lost to it, when the Decoder counted them
	Err     error // wraps ErrCRC, ErrLength, ErrAddress, ErrTruncated or ErrGarbage
}

func (e *FrameError) Error() string { return fmt.Sprintf("offset %d: %v", e.Offset, e.Err) }
func (e *FrameError) Unwrap() error { return e.Err }

// Frame is one decoded frame (§2). Payload is owned by the Frame.
type Frame struct {
	Offset  int64 // where the frame began in the decoded stream (set by Decoder)
	Addr    uint8
	Seq     uint8
	Type    Type
	Payload []byte
}

// NewFrame builds the frame carrying m.
func NewFrame(addr, seq uint8, m Message) Frame {
	return Frame{Addr: addr, Seq: seq, Type: m.Type(), Payload: m.appendPayload(nil)}
}

// CRC16 is CRC-16/MODBUS (§2.1): reflected polynomial 0xA001, initial value 0xFFFF.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// ValidAddr reports whether a is a controller address (§1).
func ValidAddr(a uint8) bool { return a >= MinAddr && a <= MaxAddr }

// Append encodes f onto dst. It refuses a reserved address or an over-long payload.
func (f Frame) Append(dst []byte) ([]byte, error) {
	if !ValidAddr(f.Addr) {
		return dst, fmt.Errorf("encode: address 0x%02X: %w", f.Addr, ErrAddress)
	}
	if len(f.Payload) > MaxPayload {
		return dst, fmt.Errorf("encode: payload of %d bytes: %w", len(f.Payload), ErrLength)
	}
	start := len(dst)
	dst = append(dst, Sync, f.Addr, f.Seq, byte(f.Type), byte(len(f.Payload)))
	dst = append(dst, f.Payload...)
	crc := CRC16(dst[start+1:])
	return append(dst, byte(crc), byte(crc>>8)), nil
}

// Encode returns the wire bytes of f.
func (f Frame) Encode() ([]byte, error) { return f.Append(make([]byte, 0, MinFrameLen+len(f.Payload))) }

// Parse decodes the frame at the start of b and returns it with the number of bytes it took.
// Errors: ErrNoSync if b[0] is not the sync byte, ErrNeedMore if b is a proper prefix of a frame,
// and ErrLength, ErrAddress or ErrCRC (wrapped, with detail) for a bad frame. The payload is
// copied, so b may be reused.
func Parse(b []byte) (Frame, int, error) {
	if len(b) == 0 {
		return Frame{}, 0, ErrNeedMore
	}
	if b[0] != Sync {
		return Frame{}, 0, ErrNoSync
	}
	if len(b) >= 2 && !ValidAddr(b[1]) {
		return Frame{}, 0, fmt.Errorf("%w 0x%02X", ErrAddress, b[1])
	}
	if len(b) < HeaderLen {
		return Frame{}, 0, ErrNeedMore
	}
	n := int(b[4])
	if n > MaxPayload {
		return Frame{}, 0, fmt.Errorf("%w: LEN 0x%02X", ErrLength, b[4])
	}
	total := HeaderLen + n + 2
	if len(b) < total {
		return Frame{}, 0, ErrNeedMore
	}
	want := CRC16(b[1 : HeaderLen+n])
	got := uint16(b[HeaderLen+n]) | uint16(b[HeaderLen+n+1])<<8
	if got != want {
		return Frame{}, 0, fmt.Errorf("%w: frame says %04X, bytes give %04X", ErrCRC, got, want)
	}
	f := Frame{Addr: b[1], Seq: b[2], Type: Type(b[3])}
	if n > 0 {
		f.Payload = append([]byte(nil), b[HeaderLen:HeaderLen+n]...)
	}
	return f, total, nil
}

// String is the canonical text of the frame, shared with the C reference codec's test (§9):
// "addr=03 seq=01 poll ack=0", or "addr=03 seq=01 type=05 len=1 invalid" when the payload does not
// match its type.
func (f Frame) String() string {
	m, err := f.Message()
	if err != nil {
		return fmt.Sprintf("addr=%02X seq=%02X type=%02X len=%d invalid", f.Addr, f.Seq, byte(f.Type), len(f.Payload))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "addr=%02X seq=%02X %s", f.Addr, f.Seq, f.Type)
	if s := m.fields(); s != "" {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	return b.String()
}
