package scanner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	EvSyn         = 0x00
	EvKey         = 0x01
	SynDropped    = 0x03
	InputEventLen = 24 // struct input_event on 64-bit Linux: timeval (16), type, code, value
)

// InputEvent is one struct input_event.
type InputEvent struct {
	Sec, Usec  int64
	Type, Code uint16
	Value      int32 // EV_KEY: 1 press, 0 release, 2 autorepeat
}

// DecodeInputEvent decodes a 24-byte struct input_event of 64-bit little-endian Linux (x86-64,
// arm64, riscv64: the agent's platforms).
func DecodeInputEvent(b []byte) (InputEvent, error) {
	if len(b) != InputEventLen {
		return InputEvent{}, fmt.Errorf("%w: %d bytes, want %d", ErrEvent, len(b), InputEventLen)
	}
	le := binary.LittleEndian
	return InputEvent{Sec: int64(le.Uint64(b)), Usec: int64(le.Uint64(b[8:])), Type: le.Uint16(b[16:]),
		Code: le.Uint16(b[18:]), Value: int32(le.Uint32(b[20:]))}, nil
}

// AppendInputEvent encodes e as DecodeInputEvent reads it (for simulators and tests).
func AppendInputEvent(dst []byte, e InputEvent) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint64(dst, uint64(e.Sec))
	dst = le.AppendUint64(dst, uint64(e.Usec))
	dst = le.AppendUint16(dst, e.Type)
	dst = le.AppendUint16(dst, e.Code)
	return le.AppendUint32(dst, uint32(e.Value))
}

// Key codes used by the decoder.
const (
	KeyTab        = 15
	KeyEnter      = 28
	KeyLeftCtrl   = 29
	KeyLeftShift  = 42
	KeyRightShift = 54
	KeyLeftAlt    = 56
	KeyCapsLock   = 58
	KeyKPEnter    = 96
	KeyRightCtrl  = 97
	KeyRightAlt   = 100
)

// USKeys maps key codes to the characters of the US layout: [unshifted, shifted].
var USKeys = map[uint16][2]byte{
	2: {'1', '!'}, 3: {'2', '@'}, 4: {'3', '#'}, 5: {'4', '$'}, 6: {'5', '%'}, 7: {'6', '^'},
	8: {'7', '&'}, 9: {'8', '*'}, 10: {'9', '('}, 11: {'0', ')'}, 12: {'-', '_'}, 13: {'=', '+'},
	16: {'q', 'Q'}, 17: {'w', 'W'}, 18: {'e', 'E'}, 19: {'r', 'R'}, 20: {'t', 'T'}, 21: {'y', 'Y'},
	22: {'u', 'U'}, 23: {'i', 'I'}, 24: {'o', 'O'}, 25: {'p', 'P'}, 26: {'[', '{'}, 27: {']', '}'},
	30: {'a', 'A'}, 31: {'s', 'S'}, 32: {'d', 'D'}, 33: {'f', 'F'}, 34: {'g', 'G'}, 35: {'h', 'H'},
	36: {'j', 'J'}, 37: {'k', 'K'}, 38: {'l', 'L'}, 39: {';', ':'}, 40: {'\'', '"'}, 41: {'`', '~'},
	43: {'\\', '|'}, 44: {'z', 'Z'}, 45: {'x', 'X'}, 46: {'c', 'C'}, 47: {'v', 'V'}, 48: {'b', 'B'},
	49: {'n', 'N'}, 50: {'m', 'M'}, 51: {',', '<'}, 52: {'.', '>'}, 53: {'/', '?'}, 57: {' ', ' '},
	// keypad (NumLock on: scanners that type digits on the keypad)
	55: {'*', '*'}, 71: {'7', '7'}, 72: {'8', '8'}, 73: {'9', '9'}, 74: {'-', '-'}, 75: {'4', '4'},
	76: {'5', '5'}, 77: {'6', '6'}, 78: {'+', '+'}, 79: {'1', '1'}, 80: {'2', '2'}, 81: {'3', '3'},
	82: {'0', '0'}, 83: {'.', '.'}, 98: {'/', '/'},
}

var keypadDigit = map[uint16]int{82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}

// KeyDecoder turns key events into scans: characters by the US layout, Shift and Caps Lock for
// case, Ctrl+key as the control character (Ctrl+] is GS, the FNC1 of GS1 data), Alt+keypad
// digits as the character of that code (Alt+0029 is GS), Enter (or Tab, the other suffix wedge
// scanners offer) ending the scan. Autorepeat is
// ignored: a scanner never holds a key, and a repeat means a stuck key, not data.
type KeyDecoder struct {
	shiftL, shiftR, ctrlL, ctrlR, altL, altR, caps bool
	altCode                                        int
	altDigits                                      int
	line                                           []byte
	lineAt                                         int64
	bad                                            error // first error in the current line
	n                                              int64 // events fed
}

// Feed takes one event. When it ends a scan (Enter), done is true and the scan or the error for
// that line is returned; the next line starts clean either way.
func (d *KeyDecoder) Feed(e InputEvent) (s Scan, done bool, err error) {
	at := d.n * InputEventLen
	d.n++
	if e.Type == EvSyn && e.Code == SynDropped {
		d.fail(at, fmt.Errorf("%w", ErrDropped))
		return Scan{}, false, nil
	}
	if e.Type != EvKey || e.Value == 2 {
		return Scan{}, false, nil
	}
	down := e.Value == 1
	switch e.Code {
	case KeyLeftShift:
		d.shiftL = down
		return
	case KeyRightShift:
		d.shiftR = down
		return
	case KeyLeftCtrl:
		d.ctrlL = down
		return
	case KeyRightCtrl:
		d.ctrlR = down
		return
	case KeyLeftAlt, KeyRightAlt:
		if e.Code == KeyLeftAlt {
			d.altL = down
		} else {
			d.altR = down
		}
		if !d.altL && !d.altR && d.altDigits > 0 {
			d.put(at, byte(d.altCode%256))
			d.altCode, d.altDigits = 0, 0
		}
		return
	case KeyCapsLock:
		if down {
			d.caps = !d.caps
		}
		return
	}
	if !down {
		return
	}
	if e.Code == KeyEnter || e.Code == KeyKPEnter || e.Code == KeyTab {
		return d.finish()
	}
	if v, ok := keypadDigit[e.Code]; ok && (d.altL || d.altR) {
		d.altCode = d.altCode*10 + v
		d.altDigits++
		return
	}
	k, ok := USKeys[e.Code]
	if !ok {
		d.fail(at, fmt.Errorf("%w: key %d", ErrUnmapped, e.Code))
		return
	}
	if d.ctrlL || d.ctrlR {
		// Ctrl turns '@' … '_' into 0x00 … 0x1F: Ctrl+] is GS (0x1D), Ctrl+Shift+2 is NUL.
		c := k[0]
		if c >= 'a' && c <= 'z' {
			c = k[1]
		}
		switch {
		case c >= '@' && c <= '_':
			d.put(at, c&0x1F)
		case k[1] >= '@' && k[1] <= '_':
			d.put(at, k[1]&0x1F)
		default:
			d.fail(at, fmt.Errorf("%w: Ctrl+%c", ErrUnmapped, k[0]))
		}
		return
	}
	shift := d.shiftL || d.shiftR
	c := k[0]
	if c >= 'a' && c <= 'z' {
		if shift != d.caps {
			c = k[1]
		}
	} else if shift {
		c = k[1]
	}
	d.put(at, c)
	return
}

func (d *KeyDecoder) put(at int64, c byte) {
	if len(d.line) == 0 && d.bad == nil {
		d.lineAt = at
	}
	if d.bad != nil {
		return
	}
	if len(d.line) >= MaxLine {
		d.fail(at, fmt.Errorf("%w", ErrTooLong))
		return
	}
	d.line = append(d.line, c)
}

func (d *KeyDecoder) fail(at int64, err error) {
	if d.bad == nil {
		if len(d.line) == 0 {
			d.lineAt = at
		}
		d.bad = err
		d.line = d.line[:0]
	}
}

func (d *KeyDecoder) finish() (Scan, bool, error) {
	at, bad := d.lineAt, d.bad
	line := d.line
	d.line, d.bad = d.line[:0], nil
	d.altCode, d.altDigits = 0, 0
	if bad != nil {
		return Scan{}, true, &ScanError{Offset: at, Err: bad}
	}
	if len(line) == 0 {
		return Scan{}, false, nil // an Enter on its own is not a scan
	}
	s, err := ParseScan(line)
	if err != nil {
		return Scan{}, true, &ScanError{Offset: at, Err: err}
	}
	s.Offset = at
	return s, true, nil
}

// EventReader reads scans from a stream of 24-byte input events (an evdev device or a capture).
type EventReader struct {
	r   io.Reader
	dec KeyDecoder
	buf [InputEventLen]byte
}

// NewEventReader returns an EventReader on r.
func NewEventReader(r io.Reader) *EventReader { return &EventReader{r: r} }

// Next returns the next scan, a *ScanError for a bad one (call Next again), io.EOF at the end of
// the stream, or the reader's error, wrapped. A partial event at the end is an ErrEvent error.
func (r *EventReader) Next() (Scan, error) {
	for {
		n, err := io.ReadFull(r.r, r.buf[:])
		switch {
		case errors.Is(err, io.EOF):
			if len(r.dec.line) > 0 || r.dec.bad != nil {
				at := r.dec.lineAt
				r.dec.line, r.dec.bad = r.dec.line[:0], nil
				return Scan{}, &ScanError{Offset: at, Err: ErrTruncated}
			}
			return Scan{}, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			at := r.dec.n * InputEventLen
			r.dec.n++ // so a retry reports EOF
			r.r = eofReader{}
			return Scan{}, &ScanError{Offset: at, Err: fmt.Errorf("%w: %d trailing bytes", ErrEvent, n)}
		case err != nil:
			return Scan{}, fmt.Errorf("scanner: read input events: %w", err)
		}
		ev, _ := DecodeInputEvent(r.buf[:])
		s, done, err := r.dec.Feed(ev)
		if err != nil {
			return Scan{}, err
		}
		if done {
			return s, nil
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// eviocgrab is _IOW('E', 0x90, int) from linux/input.h.
const eviocgrab = 1<<30 | 4<<16 | 'E'<<8 | 0x90

// Evdev is a keyboard-wedge scanner opened from /dev/input, grabbed so its keystrokes reach only
// us (not the console or a desktop session that would type them somewhere).
type Evdev struct {
	*EventReader
	f         *os.File
	closeOnce sync.Once
	closeErr  error
}

// OpenEvdev opens path (e.g. /dev/input/by-id/usb-…-event-kbd) and grabs it exclusively.
func OpenEvdev(path string) (*Evdev, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("scanner %s: open: %w", path, err)
	}
	if err := grab(f, 1); err != nil {
		f.Close()
		return nil, fmt.Errorf("scanner %s: exclusive grab (EVIOCGRAB): %w", path, err)
	}
	return &Evdev{EventReader: NewEventReader(f), f: f}, nil
}

func grab(f *os.File, on int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetInt(int(fd), eviocgrab, on) }); err != nil {
		return err
	}
	return ierr
}

// Close releases the grab and closes the device, unblocking a pending Next. Safe to call twice.
func (e *Evdev) Close() error {
	e.closeOnce.Do(func() {
		_ = grab(e.f, 0) // closing releases the grab anyway; this is for clarity in strace
		e.closeErr = e.f.Close()
	})
	return e.closeErr
}
