package cabinet

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
)

type vector struct {
	line                  int
	name, expect, meaning string
	source                string
	data                  []byte
}

// loadVectors reads firmware-protocol/vectors/cabinet.vectors (format in cabinet.md §9), the file
// the C reference codec's test reads too.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("../../firmware-protocol/vectors/cabinet.vectors")
	if err != nil {
		t.Fatalf("open vectors: %v", err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, " | ")
		if len(parts) != 5 {
			t.Fatalf("vectors line %d: got %d fields, want 5", n, len(parts))
		}
		data, err := hex.DecodeString(strings.ReplaceAll(parts[2], " ", ""))
		if err != nil {
			t.Fatalf("vectors line %d: hex: %v", n, err)
		}
		vs = append(vs, vector{line: n, name: parts[0], expect: parts[1], data: data, meaning: parts[3], source: parts[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 30 {
		t.Fatalf("got %d vectors, want at least 30", len(vs))
	}
	return vs
}

var expectErr = map[string]error{
	"crc": ErrCRC, "length": ErrLength, "address": ErrAddress, "truncated": ErrTruncated, "garbage": ErrGarbage,
}

func TestVectors(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if seen[v.name] {
				t.Fatalf("duplicate vector name")
			}
			seen[v.name] = true
			if v.source == "" {
				t.Fatalf("vector has no source")
			}
			if strings.Contains(v.expect, "@") {
				// A stream vector: expect lists every item as result@offset (§9).
				if got := streamItems(t, v.data); got != v.expect {
					t.Fatalf("items:\n got %s\nwant %s", got, v.expect)
				}
				return
			}
			d := NewDecoder(bytes.NewReader(v.data))
			f, err := d.Next()
			switch v.expect {
			case "ok", "payload":
				if err != nil {
					t.Fatalf("got error %v, want a frame", err)
				}
				if got := f.String(); got != v.meaning {
					t.Errorf("meaning:\n got %s\nwant %s", got, v.meaning)
				}
				_, merr := f.Message()
				if v.expect == "payload" && !errors.Is(merr, ErrPayload) {
					t.Errorf("got message error %v, want ErrPayload", merr)
				}
				if v.expect == "ok" && merr != nil {
					t.Errorf("got message error %v, want none", merr)
				}
				enc, err := f.Encode()
				if err != nil || !bytes.Equal(enc, v.data) {
					t.Errorf("re-encode: got % X (%v), want % X", enc, err, v.data)
				}
				if v.expect == "ok" {
					m, _ := f.Message()
					enc2, err := NewFrame(f.Addr, f.Seq, m).Encode()
					if err != nil || !bytes.Equal(enc2, v.data) {
						t.Errorf("encode from message: got % X (%v), want % X", enc2, err, v.data)
					}
				}
				if _, err := d.Next(); err != io.EOF {
					t.Errorf("after the frame: got %v, want io.EOF", err)
				}
			default:
				want, ok := expectErr[v.expect]
				if !ok {
					t.Fatalf("unknown expect %q", v.expect)
				}
				var fe *FrameError
				if !errors.As(err, &fe) || !errors.Is(err, want) {
					t.Fatalf("got %v, want a FrameError wrapping %v", err, want)
				}
				if fe.Offset != 0 {
					t.Errorf("got offset %d, want 0", fe.Offset)
				}
				// Whatever follows must end cleanly: the decoder resumes and reaches EOF.
				for range len(v.data) + 2 {
					if _, err = d.Next(); err == io.EOF {
						break
					}
				}
				if err != io.EOF {
					t.Errorf("decoder did not reach EOF, last %v", err)
				}
			}
		})
	}
}

// streamItems decodes the whole stream and names each item as the C test does: "crc@0,ok@8".
func streamItems(t *testing.T, data []byte) string {
	t.Helper()
	d := NewDecoder(bytes.NewReader(data))
	var items []string
	for range len(data) + 2 {
		f, err := d.Next()
		var fe *FrameError
		switch {
		case err == io.EOF:
			return strings.Join(items, ",")
		case errors.As(err, &fe):
			name := "?"
			for k, s := range expectErr {
				if errors.Is(err, s) {
					name = k
				}
			}
			items = append(items, fmt.Sprintf("%s@%d", name, fe.Offset))
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			items = append(items, fmt.Sprintf("ok@%d", f.Offset))
		}
	}
	t.Fatalf("decoder made no progress: %v", items)
	return ""
}

func TestCRCCheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x4B37 {
		t.Fatalf("got %04X, want 4B37", got)
	}
	// §2.1: the CRC over a good frame including its CRC is zero.
	for _, v := range loadVectors(t) {
		if v.expect == "ok" {
			if got := CRC16(v.data[1:]); got != 0 {
				t.Errorf("%s: residue got %04X, want 0000", v.name, got)
			}
		}
	}
}

// The JSON form is what `custody-agent decode --protocol cabinet` prints, one object per frame.
func TestFrameJSON(t *testing.T) {
	cases := map[string]string{
		"poll-reply-door-opened": `{"addr":3,"door":"open","events":[{"age_ds":12,"arg":0,"event":"door_opened","num":1}],"flags":[],"kind":"poll_reply","lock":"locked","offset":0,"seq":1,"unlock_left_s":0}`,
		"error-door-open":        `{"addr":2,"code":"door_open","kind":"error_reply","offset":0,"request":"lock","seq":10,"text_en":"cannot lock while the door is open","text_zh":"柜门未关，无法上锁"}`,
		"payload-unlock-zero":    `{"addr":2,"error":"unlock payload 00 00: invalid payload: unlock for 0 s, want 1..900","kind":"invalid","offset":0,"payload":"0000","seq":3,"type":5}`,
	}
	for _, v := range loadVectors(t) {
		want, ok := cases[v.name]
		if !ok {
			continue
		}
		delete(cases, v.name)
		f, err := NewDecoder(bytes.NewReader(v.data)).Next()
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		got, err := f.MarshalJSON()
		if err != nil || string(got) != want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", v.name, got, err, want)
		}
	}
	if len(cases) > 0 {
		t.Errorf("vectors missing: %v", cases)
	}
}
