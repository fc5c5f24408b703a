package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrHex is wrapped by every *HexError.
var ErrHex = errors.New("bad hex text")

// HexError names where hex text went wrong, in the terms an engineer reading the capture file in
// an editor uses: line and column (both from 1, counted in bytes) and the byte offset in the text.
type HexError struct {
	Line, Column int
	Offset       int64 // offset of the offending character in the hex text, from 0
	Reason       string
}

func (e *HexError) Error() string {
	return fmt.Sprintf("hex input line %d, column %d (character %d): %s", e.Line, e.Column, e.Offset, e.Reason)
}

func (e *HexError) Unwrap() error { return ErrHex }

// HexReader turns hex text (two digits a byte, either case, whitespace anywhere ignored) into the
// bytes it spells, as it streams, so a capture being written can be followed. Any other character
// or an odd number of digits ends the stream with a *HexError; the bytes before it are delivered
// first. Memory is bounded: it reads through a fixed buffer.
type HexReader struct {
	r       *bufio.Reader
	line    int
	col     int
	off     int64 // offset of the next character
	half    bool  // a first digit is waiting for its pair
	hi      byte
	halfErr HexError // where the waiting digit was, for an odd-digits error
	err     error
}

// NewHexReader returns a HexReader over r.
func NewHexReader(r io.Reader) *HexReader {
	return &HexReader{r: bufio.NewReader(r), line: 1, col: 1}
}

// Read fills p with decoded bytes.
func (h *HexReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if h.err != nil {
			break
		}
		if n > 0 && h.r.Buffered() == 0 {
			break // deliver what we have rather than wait on a live capture
		}
		c, err := h.r.ReadByte()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				h.err = fmt.Errorf("hex input: %w", err)
			} else if h.half {
				e := h.halfErr
				e.Reason = "odd number of hex digits: this digit has no pair"
				h.err = &e
			} else {
				h.err = io.EOF
			}
			break
		}
		pos := HexError{Line: h.line, Column: h.col, Offset: h.off}
		h.off++
		h.col++
		switch {
		case c == '\n':
			h.line++
			h.col = 1
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			continue
		}
		v, ok := hexValue(c)
		if !ok {
			pos.Reason = fmt.Sprintf("%q is not a hex digit", rune(c))
			if c >= 0x80 || c < 0x20 || c == 0x7F {
				pos.Reason = fmt.Sprintf("byte 0x%02X is not a hex digit", c)
			}
			h.err = &pos
			break
		}
		if !h.half {
			h.hi, h.half, h.halfErr = v, true, pos
			continue
		}
		p[n] = h.hi<<4 | v
		n++
		h.half = false
	}
	if n > 0 {
		return n, nil // the error, if any, comes with the next call
	}
	return 0, h.err
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
