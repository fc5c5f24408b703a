package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

// TestEveryBadFrameReported runs captured-style streams of each protocol through the decode tool
// (what `custody-agent decode` prints) and checks the rule of issue 22: each frame whose header and
// length are plausible but whose checksum fails is its own error at its own offset; only bytes that
// form no frame are one stretch; and a good frame after a bad one still comes out.
func TestEveryBadFrameReported(t *testing.T) {
	r2tag := vectorBytes(t, "r2000.json", "tag_report_realtime")           // 21 bytes
	r2ver := vectorBytes(t, "r2000.json", "firmware_version_reply")        // 7 bytes
	m6tag := vectorBytes(t, "m6e.json", "tag_record_flags_0006")           // 33 bytes
	m6ka := vectorBytes(t, "m6e.json", "keep_alive")                       // 7 bytes
	cabOpen := vectorBytes(t, "cabinet.vectors", "poll-reply-door-opened") // 18 bytes
	cabStatus := vectorBytes(t, "cabinet.vectors", "status-reply")         // 19 bytes
	// The two frames of the issue: a status reply and a round summary with wrong check bytes.
	r2bad1 := []byte{0xA0, 0x04, 0x01, 0x89, 0x11, 0xBD}
	r2bad2 := []byte{0xA0, 0x0A, 0x01, 0x89, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x01, 0xBC}
	three := cat(r2tag, r2tag, r2tag) // 63 bytes of good tags before the damage, as in the capture

	cases := []struct {
		name, protocol string
		in             []byte
		want           string // kind@offset[:cause:skipped] per printed line
	}{
		{"r2000 two adjacent damaged frames", "r2000", cat(three, r2bad1, r2bad2, r2tag),
			"tag@0 tag@21 tag@42 error@63:checksum:6 error@69:checksum:12 tag@81"},
		{"r2000 garbage is one stretch", "r2000", cat(r2ver, []byte{0x00, 0xFF, 0xA0, 0x02, 0x13, 0x37, 0x55, 0xAA}, r2tag),
			"version@0 error@7:garbage:8 tag@15"},
		{"r2000 damaged frame then a good one", "r2000", cat(flipLast(r2tag), r2tag),
			"error@0:checksum:21 tag@21"},
		{"m6e two adjacent damaged frames", "m6e", cat(m6ka, flipLast(m6tag), flipLast(m6ka), m6tag),
			"keepalive@0 error@7:checksum:33 error@40:checksum:7 tag@47"},
		{"m6e garbage is one stretch", "m6e", cat(m6ka, []byte("line noise\r\n"), m6tag),
			"keepalive@0 error@7:garbage:12 tag@19"},
		{"m6e damaged frame then a good one", "m6e", cat(flipLast(m6tag), m6tag),
			"error@0:checksum:33 tag@33"},
		{"cabinet two adjacent damaged frames", "cabinet", cat(cabOpen, flipLast(cabStatus), flipLast(cabOpen), cabStatus),
			"poll_reply@0 error@18:crc:19 error@37:crc:18 status_reply@55"},
		{"cabinet garbage is one stretch", "cabinet", cat([]byte{0x00, 0xC5, 0x00, 0x13, 0xC5, 0x03, 0x01, 0x02, 0x41}, cabOpen),
			"error@0:garbage:9 poll_reply@9"},
		{"cabinet damaged frame then a good one", "cabinet", cat(flipLast(cabOpen), cabOpen),
			"error@0:crc:18 poll_reply@18"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				// Serial lines deliver bytes in arbitrary pieces: the items must not depend on it.
				var out bytes.Buffer
				src := iotest.HalfReader(bytes.NewReader(c.in))
				if oneByte {
					src = iotest.OneByteReader(bytes.NewReader(c.in))
				}
				st, err := Decode(&out, src, Options{Protocol: c.protocol})
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				var got []string
				for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
					var m map[string]any
					if err := json.Unmarshal(line, &m); err != nil {
						t.Fatalf("output %q: %v", line, err)
					}
					s := fmt.Sprintf("%s@%v", m["kind"], m["offset"])
					if m["kind"] == "error" {
						s += fmt.Sprintf(":%s:%v", m["cause"], m["skipped"])
					}
					got = append(got, s)
				}
				if strings.Join(got, " ") != c.want {
					t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), c.want)
				}
				if want := strings.Count(c.want, "error@"); st.Errors != want {
					t.Errorf("one-byte reads %v: counted %d errors, want %d", oneByte, st.Errors, want)
				}
			}
		})
	}
}
