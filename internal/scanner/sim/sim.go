// Package sim simulates handheld barcode scanners for tests, the demo and cabinet-sim: a serial
// (CDC-ACM) scanner writing scans with a chosen suffix and AIM identifiers, and the key events a
// keyboard-wedge scanner produces on Linux (US layout), byte for byte as evdev delivers them.
package sim

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/scanner"
)

// Suffixes a scanner can be programmed with.
const (
	CR   = "\r"
	LF   = "\n"
	CRLF = "\r\n"
)

// Serial is a scanner in serial mode writing to W (usually a pseudo-terminal master; see
// cabinet/sim.OpenPTY). Safe for concurrent use: each scan is one write.
type Serial struct {
	mu     sync.Mutex
	w      io.Writer
	suffix string
	aim    bool
}

// NewSerial returns a scanner writing to w with the given suffix (CR, LF or CRLF), sending AIM
// symbology identifiers when aim is true.
func NewSerial(w io.Writer, suffix string, aim bool) (*Serial, error) {
	switch suffix {
	case CR, LF, CRLF:
	default:
		return nil, fmt.Errorf("scanner sim: suffix %q: want CR, LF or CRLF", suffix)
	}
	return &Serial{w: w, suffix: suffix, aim: aim}, nil
}

// Scan sends one read of data encoded as symbology (an AIM identifier such as "]C1"; GS1 data
// carries its later FNC1s as GS).
func (s *Serial) Scan(symbology, data string) error {
	if symbology != "" && len(symbology) != 3 {
		return fmt.Errorf("scanner sim: symbology %q: want an AIM identifier like ]C1", symbology)
	}
	b := make([]byte, 0, len(symbology)+len(data)+2)
	if s.aim {
		b = append(b, symbology...)
	}
	b = append(b, data...)
	b = append(b, s.suffix...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("scanner sim: write scan: %w", err)
	}
	return nil
}

// reverse US layout: character → key code and whether Shift is needed.
var usChar = func() map[byte]struct {
	code  uint16
	shift bool
} {
	m := map[byte]struct {
		code  uint16
		shift bool
	}{}
	for code, k := range scanner.USKeys {
		if code >= 55 && code != 57 { // keypad keys duplicate the main keys; type on the main block
			continue
		}
		if _, ok := m[k[0]]; !ok {
			m[k[0]] = struct {
				code  uint16
				shift bool
			}{code, false}
		}
		if k[1] != k[0] {
			m[k[1]] = struct {
				code  uint16
				shift bool
			}{code, true}
		}
	}
	return m
}()

// ErrNotTypeable is returned for characters a US keyboard cannot type.
var ErrNotTypeable = errors.New("character not on a US keyboard")

// KeyEvents returns the input events (24 bytes each) a keyboard-wedge scanner sends for text
// followed by Enter: press and release per key, Shift around capitals and symbols, Ctrl+] for
// GS, an EV_SYN report after each event, timestamps 1 ms apart from start.
func KeyEvents(text string, start time.Time) ([]byte, error) {
	var out []byte
	t := start
	emit := func(typ, code uint16, val int32) {
		ev := scanner.InputEvent{Sec: t.Unix(), Usec: int64(t.Nanosecond() / 1000), Type: typ, Code: code, Value: val}
		out = scanner.AppendInputEvent(out, ev)
		out = scanner.AppendInputEvent(out, scanner.InputEvent{Sec: ev.Sec, Usec: ev.Usec, Type: scanner.EvSyn})
		t = t.Add(time.Millisecond)
	}
	key := func(mod, code uint16) {
		if mod != 0 {
			emit(scanner.EvKey, mod, 1)
		}
		emit(scanner.EvKey, code, 1)
		emit(scanner.EvKey, code, 0)
		if mod != 0 {
			emit(scanner.EvKey, mod, 0)
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == scanner.GS {
			key(scanner.KeyLeftCtrl, 27) // Ctrl+]
			continue
		}
		k, ok := usChar[c]
		if !ok {
			return nil, fmt.Errorf("scanner sim: %q at %d: %w", c, i, ErrNotTypeable)
		}
		var mod uint16
		if k.shift {
			mod = scanner.KeyLeftShift
		}
		key(mod, k.code)
	}
	key(0, scanner.KeyEnter)
	return out, nil
}
