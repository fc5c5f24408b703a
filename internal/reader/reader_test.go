package reader_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	_ "github.com/custodyhq/custody/internal/reader/m6e"
	_ "github.com/custodyhq/custody/internal/reader/r2000"
)

func TestRegistry(t *testing.T) {
	got := strings.Join(reader.Drivers(), ",")
	if got != "m6e,r2000" {
		t.Errorf("got drivers %s, want m6e,r2000", got)
	}
	var buf bytes.Buffer
	d, err := reader.New("r2000", &buf, reader.Config{ID: "cab-07"})
	if err != nil || d == nil {
		t.Fatalf("New(r2000): got %v, %v", d, err)
	}
	if _, err := reader.New("llrp", &buf, reader.Config{ID: "cab-07"}); !errors.Is(err, reader.ErrUnknownDriver) {
		t.Errorf("New(llrp): got %v, want ErrUnknownDriver", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering r2000 a second time did not panic")
		}
	}()
	reader.Register("r2000", func(io.ReadWriter, reader.Config) (reader.Driver, error) { return nil, nil })
}

func TestPlanValidate(t *testing.T) {
	good := reader.Plan{Antennas: []int{1, 4}, Session: 2, Target: reader.TargetB, PowerDBm: 30}
	if err := good.Validate(4); err != nil {
		t.Errorf("got %v for %+v", err, good)
	}
	for _, p := range []reader.Plan{
		{},
		{Antennas: []int{0}},
		{Antennas: []int{5}},
		{Antennas: []int{1}, Session: 4},
		{Antennas: []int{1}, Target: 2},
		{Antennas: []int{1}, PowerDBm: 40},
		{Antennas: []int{1}, Rounds: -1},
	} {
		if err := p.Validate(4); err == nil {
			t.Errorf("Validate(%+v): got nil, want an error", p)
		}
	}
}

// A frame format for scanner tests: 0x7E, length of payload, payload, xor of payload.
func check(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	n := int(b[1]) + 3
	if n > 16 {
		return 0, reader.ErrLength
	}
	if len(b) < n {
		return 0, nil
	}
	var x byte
	for _, c := range b[2 : n-1] {
		x ^= c
	}
	if x != b[n-1] {
		return 0, reader.ErrChecksum
	}
	return n, nil
}

// idleReader returns (0, nil) once between chunks, as a serial port with a read timeout does.
type idleReader struct {
	chunks [][]byte
	idle   bool
}

func (r *idleReader) Read(p []byte) (int, error) {
	if r.idle = !r.idle; r.idle {
		return 0, nil
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestScannerIdleAndSplitFrames(t *testing.T) {
	r := &idleReader{chunks: [][]byte{{0x7E, 0x02, 0x01}, {0x02, 0x03}, {0x7E, 0x01, 0x05, 0x05}}}
	sc := reader.NewScanner(r, 0x7E, 16, check)
	var frames [][]byte
	idles := 0
	for {
		f, _, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, reader.ErrIdle) {
			idles++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), f...))
	}
	if len(frames) != 2 || idles == 0 {
		t.Errorf("got %d frames and %d idle reads, want 2 frames and some idles", len(frames), idles)
	}
}

// Endless garbage is reported in bounded stretches, not held back forever.
func TestScannerReportsLongGarbage(t *testing.T) {
	garbage := bytes.Repeat([]byte{0x55}, 200<<10)
	sc := reader.NewScanner(bytes.NewReader(garbage), 0x7E, 16, check)
	var skipped int64
	errs := 0
	for {
		_, _, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var de *reader.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, reader.ErrGarbage) {
			t.Fatalf("got %v, want garbage errors", err)
		}
		if de.Offset != skipped {
			t.Fatalf("got offset %d, want %d", de.Offset, skipped)
		}
		skipped += de.Skipped
		errs++
	}
	if skipped != int64(len(garbage)) || errs < 3 {
		t.Errorf("got %d bytes in %d errors, want %d bytes in several errors", skipped, errs, len(garbage))
	}
}

func TestErrorRecord(t *testing.T) {
	r := reader.ErrorRecord(&reader.DecodeError{Offset: 42, Skipped: 3, Err: reader.ErrChecksum})
	if r.Kind != "error" || r.Offset != 42 || !strings.Contains(r.Error, "checksum") {
		t.Errorf("got %+v, want kind error at offset 42 naming the checksum", r)
	}
}

// pipeEnd joins the read side of one io.Pipe with the write side of another, closing both.
type pipeEnd struct {
	io.Reader
	io.Writer
	closers []io.Closer
}

func (p pipeEnd) Close() error {
	for _, c := range p.closers {
		c.Close()
	}
	return nil
}

func TestLinkTimeoutAndClose(t *testing.T) {
	inR, inW := io.Pipe()
	_, outW := io.Pipe()
	end := pipeEnd{Reader: inR, Writer: outW, closers: []io.Closer{inR, outW}}
	sc := reader.NewScanner(end, 0x7E, 16, check)
	l := reader.NewLink(end, slog.New(slog.DiscardHandler), func() ([]byte, error) {
		f, _, err := sc.Next()
		return append([]byte(nil), f...), err
	})
	go inW.Write([]byte{0xFF, 0x7E, 0x01, 0x09, 0x09})
	f, err := l.Recv(context.Background(), time.Second)
	if err != nil || !bytes.Equal(f, []byte{0x7E, 0x01, 0x09, 0x09}) {
		t.Fatalf("got % X, %v; want the frame after the garbage", f, err)
	}
	if _, err := l.Recv(context.Background(), 50*time.Millisecond); !errors.Is(err, reader.ErrTimeout) {
		t.Errorf("got %v, want ErrTimeout", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.Recv(context.Background(), time.Minute)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	l.Close()
	l.Close()
	if err := <-errc; !errors.Is(err, reader.ErrClosed) {
		t.Errorf("Recv during Close: got %v, want ErrClosed", err)
	}
	if err := l.Write([]byte{1}); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("Write after Close: got %v, want ErrClosed", err)
	}
}

// A noise byte that looks like a frame start with a large length must not hold back the real
// frame behind it once the line has gone quiet.
func TestScannerAbandonAfterSilence(t *testing.T) {
	r := &idleReader{chunks: [][]byte{{0x7E, 0x0C, 0x7E, 0x01, 0x09, 0x09}}}
	sc := reader.NewScanner(r, 0x7E, 16, check)
	// The reader is idle once before the bytes and once after: by the second idle everything is
	// read, and the first candidate still waits for the 15 bytes its length claims.
	for idles := 0; idles < 2; {
		_, _, err := sc.Next()
		if !errors.Is(err, reader.ErrIdle) {
			t.Fatalf("before the silence: got %v, want only idle reads", err)
		}
		idles++
	}
	sc.Abandon()
	_, _, err := sc.Next()
	var de *reader.DecodeError
	if !errors.As(err, &de) || de.Offset != 0 || de.Skipped != 2 || !errors.Is(err, reader.ErrTruncated) {
		t.Fatalf("got %v, want 2 bytes at offset 0 abandoned as truncated", err)
	}
	f, off, err := sc.Next()
	if err != nil || off != 2 || !bytes.Equal(f, []byte{0x7E, 0x01, 0x09, 0x09}) {
		t.Errorf("got % X at %d, %v; want the real frame at offset 2", f, off, err)
	}
}
