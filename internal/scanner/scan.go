// Package scanner turns what handheld barcode scanners send into typed scans: a serial (USB
// CDC-ACM) line reader that accepts CR, LF and CRLF endings, a keyboard-wedge reader that decodes
// Linux evdev key events (US layout, Shift, Ctrl, Alt+keypad) from a device it grabs
// exclusively, the AIM symbology identifier, and GS1 element strings split into application
// identifiers with their check digits verified (AI 253 GDTI in particular).
//
// Contract: parsing is pure (ParseScan, ParseGS1, DecodeInputEvent) and never panics; every bad
// input gives an error wrapping one of the sentinels below, with the byte offset where the
// readers know it, and reading resumes with the next scan. Lines are bounded (MaxLine), so no
// input makes a reader allocate without bound. Source: protocols.md §3; AIM ISS "Symbology
// Identifiers"; GS1 General Specifications §3 (AIs) and §7.9 (check digits).
package scanner

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodyhq/custody/internal/custody"
)

// MaxLine is the longest scan accepted; a 2D code rarely carries more than a few hundred
// characters, and a longer "line" is a scanner in the wrong mode or noise.
const MaxLine = 4096

// Sentinel errors.
var (
	ErrEmpty      = errors.New("empty scan")
	ErrAIM        = errors.New("malformed AIM symbology identifier")
	ErrGS1        = errors.New("malformed GS1 element string")
	ErrCheckDigit = errors.New("wrong GS1 check digit")
	ErrTooLong    = errors.New("scan longer than 4096 bytes")
	ErrTruncated  = errors.New("scan without its ending")
	ErrControl    = errors.New("control character in scan")
	ErrUnmapped   = errors.New("key without a US-layout character")
	ErrDropped    = errors.New("input events dropped by the kernel")
	ErrEvent      = errors.New("malformed input event")
)

// Scan is one barcode read.
type Scan struct {
	Offset    int64     // byte offset of the scan in its stream (serial) or of its first key event (evdev)
	Symbology string    // AIM identifier such as "]C1", or "" when the scanner sends none
	Data      string    // the data after the identifier; later FNC1s appear as GS (0x1D)
	GS1       []Element // the element strings when the symbology carries GS1 data
}

// IsGS1 reports whether symbology (an AIM identifier) carries GS1 element strings.
func IsGS1(symbology string) bool {
	switch symbology {
	case "]C1", "]d2", "]Q3", "]e0", "]J1":
		return true
	}
	return false
}

var symbologyNames = map[string]string{
	"]C0": "Code 128", "]C1": "GS1-128", "]d1": "Data Matrix", "]d2": "GS1 DataMatrix",
	"]Q1": "QR Code", "]Q3": "GS1 QR Code", "]e0": "GS1 DataBar", "]E0": "EAN-13", "]E4": "EAN-8",
	"]A0": "Code 39", "]J1": "GS1 DotCode", "]I0": "Interleaved 2 of 5", "]X0": "other",
}

// SymbologyName is a readable name of an AIM identifier, or "" when unknown.
func SymbologyName(symbology string) string { return symbologyNames[symbology] }

// ParseScan reads one scan as a line without its ending: an optional AIM identifier ("]" + a
// letter + a modifier character), then the data, split into GS1 elements for GS1 symbologies.
// On a GS1 error the Scan is still returned with its symbology and data, alongside the error.
func ParseScan(line []byte) (Scan, error) {
	if len(line) == 0 {
		return Scan{}, ErrEmpty
	}
	if len(line) > MaxLine {
		return Scan{}, fmt.Errorf("%w (%d bytes)", ErrTooLong, len(line))
	}
	var s Scan
	data := line
	if line[0] == ']' {
		if len(line) < 3 || !isLetter(line[1]) || !isAlnum(line[2]) {
			return Scan{}, fmt.Errorf("%w: %q", ErrAIM, custody.Clip(string(line), 20))
		}
		s.Symbology = string(line[:3])
		data = line[3:]
	}
	for i, c := range data {
		// GS is data (FNC1); any other control character means a scanner in the wrong mode or a
		// garbled line, and a register must not record it.
		if (c < 0x20 && c != GS) || c == 0x7F {
			return Scan{}, fmt.Errorf("%w: 0x%02X at %d", ErrControl, c, i+len(s.Symbology))
		}
	}
	s.Data = string(data)
	if s.Data == "" {
		return s, ErrEmpty
	}
	if IsGS1(s.Symbology) {
		els, err := ParseGS1(s.Data)
		if err != nil {
			return s, fmt.Errorf("%s data %q: %w", s.Symbology, custody.Clip(s.Data, 20), err)
		}
		s.GS1 = els
	}
	return s, nil
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool  { return isLetter(c) || c >= '0' && c <= '9' }

// AI returns the value of the first element with application identifier ai.
func (s Scan) AI(ai string) (string, bool) {
	for _, e := range s.GS1 {
		if e.AI == ai {
			return e.Value, true
		}
	}
	return "", false
}

// MarshalJSON is the form `custody-agent decode --protocol scanner` prints:
// {"kind":"scan","offset":N,"symbology":"]C1","data":"…","gs1":{"253":"…"}}.
func (s Scan) MarshalJSON() ([]byte, error) {
	type out struct {
		Kind      string            `json:"kind"`
		Offset    int64             `json:"offset"`
		Symbology string            `json:"symbology"`
		Name      string            `json:"symbology_name,omitempty"`
		Data      string            `json:"data"`
		GS1       map[string]string `json:"gs1,omitempty"`
	}
	o := out{Kind: "scan", Offset: s.Offset, Symbology: s.Symbology, Name: SymbologyName(s.Symbology), Data: s.Data}
	if len(s.GS1) > 0 {
		o.GS1 = make(map[string]string, len(s.GS1))
		for _, e := range s.GS1 {
			o.GS1[e.AI] = e.Value
		}
	}
	return json.Marshal(o)
}

// ScanError is a bad scan found by a reader, with the offset of its first byte or key event.
// Reading continues after it.
type ScanError struct {
	Offset int64
	Err    error
}

func (e *ScanError) Error() string { return fmt.Sprintf("offset %d: %v", e.Offset, e.Err) }
func (e *ScanError) Unwrap() error { return e.Err }

// causes name the sentinels on the wire: a scan the scanner read but that made no sense is
// published as such (wire.SymbologyUnreadable) with one of these as its data, so the desk says
// "read again" instead of staying silent (issue 21 point 7).
var causes = []struct {
	err  error
	code string
}{
	{ErrEmpty, "empty"}, {ErrAIM, "aim"}, {ErrGS1, "gs1"}, {ErrCheckDigit, "check_digit"}, {ErrTooLong, "too_long"},
	{ErrTruncated, "truncated"}, {ErrControl, "control"}, {ErrUnmapped, "unmapped"}, {ErrDropped, "dropped"}, {ErrEvent, "event"},
}

// Cause is the short code of a bad scan's sentinel ("control", "truncated", …), "unreadable" for
// any other error.
func Cause(err error) string {
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "unreadable"
}
