package cabinetsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/m6e"
)

// line sits between a reader's pseudo-terminal and the simulator serving it, so the simulator can
// be replaced while the driver keeps its port open. internal/reader/sim has no way to add or
// remove a tag in a running simulator, so a changed tag set means a new simulator; the line makes
// that invisible to the driver: the pty stays, bytes the host sent are kept for the next
// simulator, and the swap waits for a quiet moment between requests (see quiet).
type line struct {
	master *os.File
	family string
	in     chan []byte   // host → simulator chunks, from the forwarder
	stop   chan struct{} // closed to end the forwarder
	dead   chan struct{} // closed when the forwarder has ended (pty closed or stopped)
	once   sync.Once

	mu       sync.Mutex
	last     time.Time // last byte either way
	reading  bool      // an M6e continuous read is on: the simulator holds state a swap would lose
	leftover []byte
}

func newLine(master *os.File, family string) *line {
	l := &line{master: master, family: family, in: make(chan []byte), stop: make(chan struct{}), dead: make(chan struct{}), last: time.Now()}
	go l.forward()
	return l
}

// forward copies host bytes from the pty master to whichever simulator is serving; it ends when
// the master is closed (the device vanished or the simulator is shutting down) or on close.
func (l *line) forward() {
	defer close(l.dead)
	buf := make([]byte, 4096)
	for {
		n, err := l.master.Read(buf)
		if n > 0 {
			chunk := bytes.Clone(buf[:n])
			l.touch()
			if l.family == "m6e" {
				l.track(chunk)
			}
			select {
			case l.in <- chunk:
			case <-l.stop:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// track follows the M6e start/stop continuous-read commands (opcode 0x2F, sub-command 01 start,
// 02 stop) so a swap never lands in the middle of a continuous read. Drivers write a command in one
// write, so whole frames arrive in one chunk.
func (l *line) track(chunk []byte) {
	dec := m6e.NewCommandDecoder(bytes.NewReader(chunk))
	for {
		f, err := dec.Next()
		if err == io.EOF || (err != nil && !isDecodeError(err)) {
			return
		}
		if err != nil || f.Opcode != m6e.OpMultiProtocol || len(f.Data) < 3 {
			continue
		}
		l.mu.Lock()
		switch f.Data[2] {
		case 0x01:
			l.reading = true
		case 0x02:
			l.reading = false
		}
		l.mu.Unlock()
	}
}

func (l *line) touch() {
	l.mu.Lock()
	l.last = time.Now()
	l.mu.Unlock()
}

// quiet waits until nothing has crossed the line for 150 ms and no continuous read is on, or
// until 5 s have passed (a host that never pauses still sees the change), or ctx ends.
func (l *line) quiet(ctx context.Context) {
	deadline := time.Now().Add(5 * time.Second)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		l.mu.Lock()
		ok := time.Since(l.last) >= 150*time.Millisecond && !l.reading
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-l.dead:
			return
		case <-t.C:
		}
	}
}

// close ends the forwarder (after the master is closed, or it may be blocked in Read) and waits.
func (l *line) close() {
	l.once.Do(func() { close(l.stop) })
	<-l.dead
}

// conn is one simulator's view of the line. Closing it (the simulator does when its ctx ends)
// makes its pending Read return io.EOF without touching the pty.
type conn struct {
	l    *line
	done chan struct{}
	once sync.Once
}

func (l *line) conn() *conn { return &conn{l: l, done: make(chan struct{})} }

func (c *conn) Read(p []byte) (int, error) {
	c.l.mu.Lock()
	if len(c.l.leftover) > 0 {
		n := copy(p, c.l.leftover)
		c.l.leftover = c.l.leftover[n:]
		c.l.mu.Unlock()
		return n, nil
	}
	c.l.mu.Unlock()
	select {
	case b := <-c.l.in:
		n := copy(p, b)
		if n < len(b) {
			c.l.mu.Lock()
			c.l.leftover = append(c.l.leftover, b[n:]...)
			c.l.mu.Unlock()
		}
		return n, nil
	case <-c.done:
		return 0, io.EOF
	case <-c.l.dead:
		return 0, io.EOF
	}
}

func (c *conn) Write(p []byte) (int, error) {
	c.l.touch()
	return c.l.master.Write(p)
}

// SetWriteDeadline lets the simulator bound its writes on a stalled pty, as it does on the master.
func (c *conn) SetWriteDeadline(t time.Time) error { return c.l.master.SetWriteDeadline(t) }

func (c *conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func isDecodeError(err error) bool {
	var de *reader.DecodeError
	return errors.As(err, &de) || errors.Is(err, reader.ErrIdle)
}
