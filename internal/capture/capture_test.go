package capture

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 0x01
	return c
}

// captures are streams as a field engineer records them off a live line: frames with garbage
// between them, a frame cut in half by a glitch, a wrong checksum, a capture ending mid-frame.
// They are built from the conformance vectors, and the tool's output is kept as a golden file.
func captures(t *testing.T) []struct {
	name, protocol string
	in             []byte
} {
	r2tag := vectorBytes(t, "r2000.json", "tag_report_realtime")
	r2sum := vectorBytes(t, "r2000.json", "round_summary_realtime")
	r2ver := vectorBytes(t, "r2000.json", "firmware_version_reply")
	r2miss := vectorBytes(t, "r2000.json", "antenna_missing_fast_switch")
	m6tag := vectorBytes(t, "m6e.json", "tag_record_flags_01FF")
	m6tag2 := vectorBytes(t, "m6e.json", "tag_record_flags_0006")
	m6ka := vectorBytes(t, "m6e.json", "keep_alive")
	cabOpen := vectorBytes(t, "cabinet.vectors", "poll-reply-door-opened")
	cabStatus := vectorBytes(t, "cabinet.vectors", "status-reply")
	cabHello := vectorBytes(t, "cabinet.vectors", "hello-reply")
	scGDTI := vectorBytes(t, "scanner.vectors", "gdti-crlf")
	scGS1 := vectorBytes(t, "scanner.vectors", "gs1-fixed-and-variable")
	scEAN := vectorBytes(t, "scanner.vectors", "ean13")
	scBad := vectorBytes(t, "scanner.vectors", "gdti-bad-check-digit")
	return []struct {
		name, protocol string
		in             []byte
	}{
		{"r2000_inventory_line", "r2000", cat(
			[]byte{0x00, 0x00, 0x7F}, r2ver, r2tag, flipLast(r2tag), r2tag[:9], r2tag, r2miss, []byte("noise"), r2sum, r2tag[:11])},
		{"m6e_continuous_read", "m6e", cat(
			m6ka, []byte{0x12, 0x34}, m6tag, flipLast(m6tag2), m6tag2[:15], m6tag2, m6ka, m6tag[:20])},
		{"cabinet_bus", "cabinet", cat(
			[]byte{0xAA, 0x55}, cabHello, cabOpen, flipLast(cabStatus), cabStatus[:8], cabStatus, cabHello[:6])},
		{"scanner_desk", "scanner", cat(
			scGDTI, []byte("\r\n"), scBad, scGS1, []byte{0x5D, 0x43, 0x30, 0x07, 0x0D}, scEAN, scGDTI[:10])},
	}
}

func TestCapturedStreamsGolden(t *testing.T) {
	for _, c := range captures(t) {
		for _, asHex := range []bool{false, true} {
			name := c.name
			in := c.in
			if asHex {
				name += "_hex"
				// Hex as it comes out of an analyser export: lower case, 16 bytes a line, CRLF.
				var b strings.Builder
				for i, x := range c.in {
					if i > 0 && i%16 == 0 {
						b.WriteString("\r\n")
					} else if i > 0 {
						b.WriteString(" ")
					}
					b.WriteString(strings.ToLower(fmtHex([]byte{x})))
				}
				b.WriteString("\n")
				in = []byte(b.String())
			}
			t.Run(name, func(t *testing.T) {
				var out bytes.Buffer
				// One byte per read: the offsets must not depend on how the stream was chunked.
				if _, err := Decode(&out, iotest.OneByteReader(bytes.NewReader(in)), Options{Protocol: c.protocol, Hex: asHex}); err != nil {
					t.Fatalf("Decode: got error %v, want none", err)
				}
				// Raw and hex input of the same bytes print the same thing: one golden file.
				golden := filepath.Join("testdata", "golden", c.name+".jsonl")
				if *update && !asHex {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("got\n%s\nwant (%s)\n%s", out.Bytes(), golden, want)
				}
			})
		}
	}
}

// TestCapturedStreamsShape states what the golden files must show, so an -update cannot bless a
// regression silently: the frames around every bad stretch survive, and errors sit where the bad
// bytes are.
func TestCapturedStreamsShape(t *testing.T) {
	c := captures(t)[0] // r2000_inventory_line
	got := decodeLines(t, c.in, Options{Protocol: "r2000"})
	var kinds []string
	for _, g := range got {
		kinds = append(kinds, g["kind"].(string))
	}
	want := "error version tag error error tag antenna_fault error summary error"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("got kinds %v, want %s", kinds, want)
	}
	if got[0]["offset"] != 0.0 || got[1]["offset"] != 3.0 {
		t.Errorf("got garbage at %v and version at %v, want 0 and 3", got[0]["offset"], got[1]["offset"])
	}
	// The flipped tag starts at 3+7+21 = 31 and the cut tag right after it at 52: two damaged
	// frames side by side are two errors, each at its own offset, not one stretch.
	if got[3]["offset"] != 31.0 || got[3]["cause"] != "checksum" || got[3]["skipped"] != 21.0 {
		t.Errorf("got %v, want a checksum error at offset 31 skipping 21 bytes", got[3])
	}
	if got[4]["offset"] != 52.0 || got[4]["cause"] != "checksum" || got[4]["skipped"] != 9.0 {
		t.Errorf("got %v, want a checksum error at offset 52 skipping 9 bytes", got[4])
	}
	if got[5]["epc"] != "E200301666130121155074EF" || got[5]["antenna"] != 1.0 || got[5]["rssi_dbm"] != -61.0 {
		t.Errorf("got %v, want the tag E200301666130121155074EF on antenna 1 at -61 dBm", got[5])
	}
	last := got[len(got)-1]
	if last["cause"] != "truncated" {
		t.Errorf("got last %v, want the capture's cut-off frame reported as truncated", last)
	}
}

func TestHexReader(t *testing.T) {
	tests := []struct {
		name, in string
		want     []byte
		err      string
	}{
		{"spaces and newlines", "a0 03\n01\t72 EA\r\n", []byte{0xA0, 0x03, 0x01, 0x72, 0xEA}, ""},
		{"no separators", "A00301", []byte{0xA0, 0x03, 0x01}, ""},
		{"empty", " \n ", nil, ""},
		{"digit split by a space", "a 0", []byte{0xA0}, ""},
		{"non-hex", "A0 03\n01 7Z EA", []byte{0xA0, 0x03, 0x01}, "hex input line 2, column 5 (character 10): 'Z' is not a hex digit"},
		{"0x prefix", "0xA0", nil, "hex input line 1, column 2 (character 1): 'x' is not a hex digit"},
		{"odd digits", "A0 03 0", []byte{0xA0, 0x03}, "hex input line 1, column 7 (character 6): odd number of hex digits: this digit has no pair"},
		{"control byte", "A0\x00", []byte{0xA0}, "hex input line 1, column 3 (character 2): byte 0x00 is not a hex digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(NewHexReader(strings.NewReader(tt.in)))
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got bytes % X, want % X", got, tt.want)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Errorf("got error %v, want %s", err, tt.err)
			case tt.err != "" && !errors.Is(err, ErrHex):
				t.Errorf("got error %v, want one wrapping ErrHex", err)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("device unplugged") }

func TestMainExitStatus(t *testing.T) {
	tag := fmtHex(vectorBytes(t, "r2000.json", "tag_report_realtime"))
	tests := []struct {
		name       string
		args       []string
		stdin      io.Reader
		code       int
		stdout     string // substring
		stderr     string // substring
		stdoutNone bool
	}{
		{"tag", []string{"--protocol", "r2000", "--hex"}, strings.NewReader(tag), 0, `{"kind":"tag","offset":0,"command":"0x89","epc":"E200301666130121155074EF","pc":"3000","antenna":1,"rssi_dbm":-61`, "", false},
		{"bad frames still exit 0", []string{"--protocol", "r2000"}, strings.NewReader("garbage"), 0, `{"kind":"error","offset":0,"skipped":7,"cause":"garbage"`, "", false},
		{"help", []string{"-h"}, strings.NewReader(""), 0, "usage: custody-agent decode", "", false},
		{"no protocol", nil, strings.NewReader(""), 2, "", "--protocol is required", true},
		{"unknown protocol", []string{"--protocol", "epcglobal"}, strings.NewReader(""), 2, "", `unknown protocol "epcglobal"`, true},
		{"unknown flag", []string{"--protocol", "m6e", "--baud", "9600"}, strings.NewReader(""), 2, "", "flag provided but not defined: -baud", true},
		{"argument", []string{"--protocol", "m6e", "cap.bin"}, strings.NewReader(""), 2, "", `unexpected argument "cap.bin"`, true},
		{"bad direction", []string{"--protocol", "m6e", "--direction", "both"}, strings.NewReader(""), 2, "", `unknown --direction "both"`, true},
		{"bad hex", []string{"--protocol", "cabinet", "--hex"}, strings.NewReader("C5 03\nzz"), 1, "", "hex input line 2, column 1 (character 6): 'z' is not a hex digit", false},
		{"read error", []string{"--protocol", "scanner"}, failingReader{}, 1, "", "device unplugged", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(tt.args, tt.stdin, &out, &errOut)
			if code != tt.code {
				t.Errorf("got exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("got stdout %q, want it to contain %q", out.String(), tt.stdout)
			}
			if tt.stdoutNone && out.Len() > 0 {
				t.Errorf("got stdout %q, want none", out.String())
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("got stderr %q, want it to contain %q", errOut.String(), tt.stderr)
			}
		})
	}
}

// FuzzHexReader: any text gives either bytes or a *HexError naming a position inside the text,
// never a panic; well-formed hex round-trips.
func FuzzHexReader(f *testing.F) {
	f.Add("A0 03 01 72 EA")
	f.Add("a0\r\n03 0")
	f.Add("0xZZ\x00\xff")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := io.ReadAll(NewHexReader(strings.NewReader(s)))
		if len(got) > len(s)/2 {
			t.Fatalf("got %d bytes from %d characters, want at most %d", len(got), len(s), len(s)/2)
		}
		var he *HexError
		if err != nil {
			if !errors.As(err, &he) {
				t.Fatalf("got error %T %v, want *HexError", err, err)
			}
			if he.Offset < 0 || he.Offset >= int64(len(s)) || he.Line < 1 || he.Column < 1 {
				t.Fatalf("got position %+v, want one inside the %d characters", he, len(s))
			}
			return
		}
		compact := strings.Join(strings.Fields(s), "")
		if want := strings.ToUpper(compact); strings.ToUpper(fmtHexNoSpace(got)) != want {
			t.Fatalf("got % X from %q, want %s", got, s, want)
		}
	})
}

func fmtHexNoSpace(b []byte) string { return strings.ReplaceAll(fmtHex(b), " ", "") }

// FuzzDecode: no protocol panics on any input, raw or hex.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xA0, 0x04, 0x01, 0x89, 0x01, 0xD1}, uint8(0))
	f.Add([]byte("]C12530614141123452\r\n"), uint8(3))
	f.Add([]byte("c5 03 00 01 02 01 01 60 44"), uint8(6))
	f.Fuzz(func(t *testing.T, in []byte, sel uint8) {
		protos := Protocols()
		o := Options{Protocol: protos[int(sel)%len(protos)], Hex: sel&4 != 0}
		_, _ = Decode(io.Discard, bytes.NewReader(in), o)
	})
}
