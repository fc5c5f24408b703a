package cabinet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

func mustEncode(t testing.TB, addr, seq uint8, m Message) []byte {
	t.Helper()
	b, err := NewFrame(addr, seq, m).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// item is what Decoder.Next produced, as text: "frame@OFF <canonical>" or "error@OFF <sentinel>".
func decodeAll(t testing.TB, r io.Reader) []string {
	t.Helper()
	d := NewDecoder(r)
	var out []string
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("decoder does not terminate")
		}
		f, err := d.Next()
		var fe *FrameError
		switch {
		case err == io.EOF:
			return out
		case errors.As(err, &fe):
			name := "?"
			for k, s := range expectErr {
				if errors.Is(err, s) {
					name = k
				}
			}
			out = append(out, fmt.Sprintf("error@%d %s", fe.Offset, name))
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			out = append(out, fmt.Sprintf("frame@%d %s", f.Offset, f))
		}
	}
}

func TestDecoderResync(t *testing.T) {
	poll := mustEncode(t, 3, 1, Poll{Ack: 0})                        // 8 bytes
	reply := mustEncode(t, 3, 1, CommandReply{Reply: TypeLockReply}) // 12 bytes
	badCRC := append([]byte(nil), poll...)
	badCRC[len(badCRC)-2] ^= 0xFF
	lying := append([]byte(nil), poll...)
	lying[4] = 0x20 // claims 32 payload bytes: eats the frames after it, then CRC fails
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

	cases := []struct {
		name string
		in   []byte
		want []string
	}{
		{"garbage between frames", cat([]byte{0, 1, 2}, poll, []byte("noise\r\n"), reply, []byte{0xFF}),
			[]string{"error@0 garbage", "frame@3 addr=03 seq=01 poll ack=0", "error@11 garbage",
				"frame@18 addr=03 seq=01 lock_reply door=closed lock=locked flags=none unlock_left=0", "error@30 garbage"}},
		{"frame cut in half then frames", cat(poll[:5], poll, reply),
			// the cut frame takes the next frame's first bytes as its payload and CRC: one CRC error
			[]string{"error@0 crc", "frame@5 addr=03 seq=01 poll ack=0",
				"frame@13 addr=03 seq=01 lock_reply door=closed lock=locked flags=none unlock_left=0"}},
		{"wrong crc then good", cat(badCRC, poll),
			[]string{"error@0 crc", "frame@8 addr=03 seq=01 poll ack=0"}},
		{"lying length swallows frames", cat(lying, poll, reply, poll, poll),
			[]string{"error@0 crc", "frame@8 addr=03 seq=01 poll ack=0",
				"frame@16 addr=03 seq=01 lock_reply door=closed lock=locked flags=none unlock_left=0",
				"frame@28 addr=03 seq=01 poll ack=0", "frame@36 addr=03 seq=01 poll ack=0"}},
		{"truncated at end", cat(poll, reply[:7]),
			[]string{"frame@0 addr=03 seq=01 poll ack=0", "error@8 truncated"}},
		{"empty", nil, nil},
		{"only garbage", []byte("hello world"), []string{"error@0 garbage"}},
	}
	for _, c := range cases {
		for _, rd := range []struct {
			name string
			r    func([]byte) io.Reader
		}{
			{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
			{"one byte reads", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
			{"data with EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
		} {
			t.Run(c.name+"/"+rd.name, func(t *testing.T) {
				got := decodeAll(t, rd.r(c.in))
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("\n got %q\nwant %q", got, c.want)
				}
			})
		}
	}
}

// A reader error (a port that disappears) ends the stream with that error, after the frames
// already received.
func TestDecoderReadError(t *testing.T) {
	poll := mustEncode(t, 3, 1, Poll{Ack: 4})
	gone := errors.New("device disappeared")
	d := NewDecoder(io.MultiReader(bytes.NewReader(poll), iotest.ErrReader(gone)))
	f, err := d.Next()
	if err != nil || f.Seq != 1 {
		t.Fatalf("got %v %v, want the poll", f, err)
	}
	if _, err := d.Next(); !errors.Is(err, gone) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

// The decoder's memory stays bounded whatever the stream: a megabyte of sync bytes and maximal
// lengths must not grow its buffer.
func TestDecoderBoundedMemory(t *testing.T) {
	in := bytes.Repeat([]byte{Sync, 0x01, 0x00, 0x02, 0x40}, 200000)
	d := NewDecoder(bytes.NewReader(in))
	for n := 0; ; n++ {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if cap(d.buf) > MaxFrameLen+len(d.scratch) {
			t.Fatalf("buffer grew to %d", cap(d.buf))
		}
		if n > len(in)+10 {
			t.Fatal("no progress")
		}
	}
}

func TestEncodeRefusesBadFrames(t *testing.T) {
	if _, err := (Frame{Addr: 0, Type: TypePoll, Payload: []byte{0}}).Encode(); !errors.Is(err, ErrAddress) {
		t.Errorf("addr 0: got %v, want ErrAddress", err)
	}
	if _, err := (Frame{Addr: 1, Type: TypePoll, Payload: make([]byte, 65)}).Encode(); !errors.Is(err, ErrLength) {
		t.Errorf("65-byte payload: got %v, want ErrLength", err)
	}
}

func FuzzDecoder(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(bytes.NewReader(in))
		var consumed int64
		for i := 0; ; i++ {
			if i > 3*len(in)+3 {
				t.Fatalf("no progress after %d items", i)
			}
			fr, err := d.Next()
			if err == io.EOF {
				break
			}
			var fe *FrameError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("unexpected error %v", err)
			}
			if err != nil {
				if fe.Offset < 0 || fe.Offset > int64(len(in)) {
					t.Fatalf("error offset %d outside input of %d", fe.Offset, len(in))
				}
				continue
			}
			// A good frame re-encodes to exactly its bytes, and frames never overlap.
			enc, err := fr.Encode()
			if err != nil {
				t.Fatalf("decoded frame does not encode: %v", err)
			}
			if fr.Offset < consumed || !bytes.Equal(in[fr.Offset:fr.Offset+int64(len(enc))], enc) {
				t.Fatalf("frame at %d: got % X, input has other bytes", fr.Offset, enc)
			}
			consumed = fr.Offset + int64(len(enc))
			_ = fr.String()
			if _, err := fr.MarshalJSON(); err != nil {
				t.Fatalf("json: %v", err)
			}
			if m, err := fr.Message(); err == nil {
				if got := m.appendPayload(nil); !bytes.Equal(got, fr.Payload) {
					t.Fatalf("payload round trip: got % X, want % X", got, fr.Payload)
				}
			}
		}
	})
}

// BenchmarkDecodePollReplies measures the stream decoder on 8-event poll replies (the longest
// frames a bus carries), reported as frames/s.
//
// What limits it: the code — one pass over each byte for the CRC and one copy of the payload; the
// machine — single-core speed (the decoder is one goroutine). Compare frames/s with the bus's
// need: 115 200 baud carries about 160 such frames a second.
func BenchmarkDecodePollReplies(b *testing.B) {
	evs := make([]EventRecord, MaxPollEvents)
	for i := range evs {
		evs[i] = EventRecord{Num: uint8(i + 1), Kind: EventDoorOpened, Age: 3}
	}
	one := mustEncode(b, 3, 1, PollReply{Events: evs})
	stream := bytes.Repeat(one, 1000)
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(stream))
		for {
			if _, err := d.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "frames/s")
}
