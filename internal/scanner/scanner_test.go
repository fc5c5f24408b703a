package scanner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestGDTIExample(t *testing.T) {
	// protocols.md §3 / standards.md §2: (253)06141411234525678 = GDTI 0614141123452, serial 5678.
	s, err := ParseScan([]byte("]C1" + "253" + "0614141123452" + "5678"))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := s.AI("253")
	if !ok {
		t.Fatalf("got elements %v, want AI 253", s.GS1)
	}
	gdti, serial, err := SplitGDTI(v)
	if err != nil || gdti != "0614141123452" || serial != "5678" {
		t.Errorf("got %q %q %v, want 0614141123452 5678", gdti, serial, err)
	}
	if SymbologyName(s.Symbology) != "GS1-128" {
		t.Errorf("got name %q, want GS1-128", SymbologyName(s.Symbology))
	}
}

func TestWrongCheckDigitIsClear(t *testing.T) {
	_, err := ParseScan([]byte("]C1" + "253" + "0614141123459" + "5678"))
	if !errors.Is(err, ErrCheckDigit) {
		t.Fatalf("got %v, want ErrCheckDigit", err)
	}
	// The message names the AI, the digits and both check digits, so a custodian can tell a
	// misprinted label from a misread.
	for _, want := range []string{"(253)", "0614141123459", "check digit 9, want 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestCheckDigitAllPositions(t *testing.T) {
	// Every single-digit change of a valid GDTI must be caught by the check digit.
	valid := "0614141123452"
	for i := range len(valid) - 1 {
		for d := byte('0'); d <= '9'; d++ {
			if d == valid[i] {
				continue
			}
			b := []byte(valid)
			b[i] = d
			if _, _, err := SplitGDTI(string(b)); !errors.Is(err, ErrCheckDigit) {
				t.Errorf("%s: got %v, want ErrCheckDigit", b, err)
			}
		}
	}
}

func TestParseGS1Errors(t *testing.T) {
	for _, in := range []string{"", "2", "01123", "26x", "17ABCDEF", "10\x1d", "90" + strings.Repeat("x", 31),
		"0109506000134352\x1d\x1d", "10A\x1d10B"} {
		if _, err := ParseGS1(in); !errors.Is(err, ErrGS1) && !errors.Is(err, ErrCheckDigit) {
			t.Errorf("%q: got %v, want a GS1 error", in, err)
		}
	}
}

func TestScanJSON(t *testing.T) {
	s, err := ParseScan([]byte("]C1" + "25306141411234525678"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"scan","offset":0,"symbology":"]C1","symbology_name":"GS1-128","data":"25306141411234525678","gs1":{"253":"06141411234525678"}}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestLineReaderReadError(t *testing.T) {
	gone := errors.New("device unplugged")
	r := NewLineReader(io.MultiReader(strings.NewReader("]C0A\r\n]C0B"), errReader{gone}))
	if s, err := r.Next(); err != nil || s.Data != "A" {
		t.Fatalf("got %+v %v, want scan A", s, err)
	}
	var se *ScanError
	if _, err := r.Next(); !errors.As(err, &se) || !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want the half scan reported as truncated", err)
	}
	if _, err := r.Next(); !errors.Is(err, gone) {
		t.Fatalf("got %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestLineReaderBoundedMemory(t *testing.T) {
	r := NewLineReader(bytes.NewReader(bytes.Repeat([]byte("A"), 1<<20)))
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want truncated", err)
	}
	if cap(r.buf) > MaxLine+len(r.chunk) {
		t.Errorf("line buffer grew to %d", cap(r.buf))
	}
}

func TestDecodeInputEvent(t *testing.T) {
	ev := InputEvent{Sec: 1764140400, Usec: 123456, Type: EvKey, Code: KeyEnter, Value: 1}
	b := AppendInputEvent(nil, ev)
	if len(b) != InputEventLen {
		t.Fatalf("encoded %d bytes, want 24", len(b))
	}
	got, err := DecodeInputEvent(b)
	if err != nil || got != ev {
		t.Errorf("got %+v %v, want %+v", got, err, ev)
	}
	if _, err := DecodeInputEvent(b[:23]); !errors.Is(err, ErrEvent) {
		t.Errorf("23 bytes: got %v, want ErrEvent", err)
	}
}

// OpenEvdev on something that is not an input device must fail at the grab with a message
// naming the path and the ioctl, not later with a confusing read.
func TestOpenEvdevRefusesNonInputDevice(t *testing.T) {
	_, err := OpenEvdev("/dev/null")
	if err == nil || !strings.Contains(err.Error(), "/dev/null") || !strings.Contains(err.Error(), "EVIOCGRAB") {
		t.Fatalf("got %v, want a grab error naming /dev/null", err)
	}
	if _, err := OpenEvdev("/dev/input/does-not-exist"); err == nil {
		t.Fatal("missing device: got nil error")
	}
}

func TestEvdevCloseUnblocksAndIsIdempotent(t *testing.T) {
	// A pipe stands in for the device file to prove Close ends a blocked Next; the grab itself
	// needs a real input device (see TestEvdevVectors).
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	e := &Evdev{EventReader: NewEventReader(pr), f: pr}
	done := make(chan error, 1)
	go func() { _, err := e.Next(); done <- err }()
	if err := e.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-done; err == nil {
		t.Fatal("Next after Close: got nil error")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func FuzzParseGS1(f *testing.F) {
	for _, s := range []string{"25306141411234525678", "0109506000134352172612311" + "0LOT42\x1d21S123", "\x1d00106141411234567897", "3103000125400ORDER-7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		els, err := ParseGS1(in)
		if err != nil {
			if !errors.Is(err, ErrGS1) && !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		// Re-joining the elements with GS after each variable field gives back the input
		// (modulo a leading GS and tolerated extra GS after fixed fields).
		total := 0
		for _, e := range els {
			if e.Value == "" || aiLength(e.AI[:2]) != len(e.AI) {
				t.Fatalf("bad element %+v", e)
			}
			total += len(e.AI) + len(e.Value)
		}
		if total > len(in) {
			t.Fatalf("elements longer than the input")
		}
	})
}

func FuzzLineReader(f *testing.F) {
	for _, v := range loadVectors(f, "scanner.vectors") {
		f.Add(v.data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewLineReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			if i > len(in)+2 {
				t.Fatal("no progress")
			}
			s, err := r.Next()
			if err == io.EOF {
				return
			}
			var se *ScanError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("unexpected %v", err)
			}
			if err == nil {
				if s.Data == "" || s.Offset < 0 || s.Offset >= int64(len(in)) {
					t.Fatalf("bad scan %+v", s)
				}
				if !bytes.Contains(in[s.Offset:], []byte(s.Symbology+s.Data)) {
					t.Fatalf("scan %+v not in input at its offset", s)
				}
				if _, err := json.Marshal(s); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func FuzzEventReader(f *testing.F) {
	for _, v := range loadVectors(f, "scanner-evdev.vectors") {
		f.Add(v.data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewEventReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			if i > len(in)/InputEventLen+3 {
				t.Fatal("no progress")
			}
			s, err := r.Next()
			if err == io.EOF {
				return
			}
			var se *ScanError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("unexpected %v", err)
			}
			if err == nil && (s.Data == "" || len(s.Data) > MaxLine) {
				t.Fatalf("bad scan %+v", s)
			}
		}
	})
}
