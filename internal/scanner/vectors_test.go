package scanner

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

type vector struct {
	name, expect, meaning, source string
	data                          []byte
}

func loadVectors(t testing.TB, file string) []vector {
	t.Helper()
	f, err := os.Open("../../firmware-protocol/vectors/" + file)
	if err != nil {
		t.Fatalf("open vectors: %v", err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, " | ")
		if len(p) != 5 {
			t.Fatalf("%s line %d: got %d fields, want 5", file, n, len(p))
		}
		data, err := hex.DecodeString(strings.ReplaceAll(p[2], " ", ""))
		if err != nil {
			t.Fatalf("%s line %d: %v", file, n, err)
		}
		vs = append(vs, vector{name: p[0], expect: p[1], data: data, meaning: p[3], source: p[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

var errKinds = []struct {
	name string
	err  error
}{
	{"check_digit", ErrCheckDigit}, {"gs1", ErrGS1}, {"aim", ErrAIM}, {"control", ErrControl},
	{"truncated", ErrTruncated}, {"too_long", ErrTooLong}, {"dropped", ErrDropped},
	{"unmapped", ErrUnmapped}, {"event", ErrEvent}, {"empty", ErrEmpty},
}

func kindOf(err error) string {
	for _, k := range errKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "?" + err.Error()
}

func describe(s Scan) string {
	out := fmt.Sprintf("scan@%d sym=%s data=%s", s.Offset, s.Symbology, strings.ReplaceAll(s.Data, "\x1d", "<GS>"))
	if len(s.GS1) > 0 {
		out += " gs1="
		for _, e := range s.GS1 {
			out += "(" + e.AI + ")" + e.Value
		}
	}
	return out
}

type nexter interface{ Next() (Scan, error) }

// readAll runs a reader to the end and describes every item as the vectors do.
func readAll(t testing.TB, r nexter) (items []string, first string) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("reader does not terminate")
		}
		s, err := r.Next()
		var se *ScanError
		switch {
		case err == io.EOF:
			return items, first
		case errors.As(err, &se):
			items = append(items, fmt.Sprintf("error@%d:%s", se.Offset, kindOf(err)))
			if first == "" {
				first = kindOf(err)
			}
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			items = append(items, describe(s))
		}
	}
}

func runVectors(t *testing.T, file string, min int, newReader func(io.Reader) nexter) {
	vs := loadVectors(t, file)
	if len(vs) < min {
		t.Fatalf("got %d vectors, want at least %d", len(vs), min)
	}
	for _, v := range vs {
		for _, chunking := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"bytewise", iotest.OneByteReader}} {
			t.Run(v.name+"/"+chunking.name, func(t *testing.T) {
				items, first := readAll(t, newReader(chunking.wrap(bytes.NewReader(v.data))))
				if got := strings.Join(items, " ; "); got != v.meaning {
					t.Errorf("\n got %s\nwant %s", got, v.meaning)
				}
				if first == "" {
					first = "ok"
				}
				if first != v.expect {
					t.Errorf("first error got %s, want %s", first, v.expect)
				}
			})
		}
	}
}

func TestSerialVectors(t *testing.T) {
	runVectors(t, "scanner.vectors", 25, func(r io.Reader) nexter { return NewLineReader(r) })
}

// The evdev decoder is tested on the bytes evdev delivers. A real device through uinput would be
// better, but /dev/uinput does not exist in the containers CI runs in (no uinput module), so
// the vectors stand in: they are the exact 24-byte struct input_event layout the kernel writes.
func TestEvdevVectors(t *testing.T) {
	runVectors(t, "scanner-evdev.vectors", 10, func(r io.Reader) nexter { return NewEventReader(r) })
}
