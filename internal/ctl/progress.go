package ctl

import (
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressAfter is how long work runs before a bar appears: shorter work finishes before a
// bar could say anything useful, and a bar that flashes for 200 ms is noise.
const progressAfter = time.Second

// progress is a bar for long work (labels for thousands of copies, an export, a backup
// download). It is drawn on stderr, and only when stderr is a terminal, --json is off and TERM
// is not dumb; stdout is never touched, so `audit export > file` or a pipe gets the same bytes as
// without a bar. It clears itself when done, leaving the command's usual last line. A nil
// *progress is the quiet one: every method does nothing.
type progress struct {
	mu     sync.Mutex
	total  int64 // -1: unknown (a spinner with the count)
	bytes  bool
	desc   string
	out    *os.File
	done   int64
	bar    *progressbar.ProgressBar
	timer  *time.Timer
	closed bool
}

// startProgress begins a bar for total units (-1 unknown), bytes or items, described in the
// CLI's language; it shows once the work has run progressAfter (c.progressAfter in tests).
func (c *CLI) startProgress(total int64, bytes bool, zh, en string) *progress {
	f, ok := c.Stderr.(*os.File)
	if c.json || !ok || !term.IsTerminal(int(f.Fd())) || c.Getenv("TERM") == "dumb" {
		return nil
	}
	p := &progress{total: total, bytes: bytes, desc: c.say(zh, en), out: f}
	switch {
	case c.progressAfter < 0: // tests: at once, so that a bar for quick work is certain
		p.show()
	case c.progressAfter > 0:
		p.timer = time.AfterFunc(c.progressAfter, p.show)
	default:
		p.timer = time.AfterFunc(progressAfter, p.show)
	}
	return p
}

func (p *progress) show() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
		// No spinner goroutine: the bar redraws when work is counted, and nothing outlives Done.
		progressbar.OptionSetSpinnerChangeInterval(0),
	}
	if p.bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount())
	}
	p.bar = progressbar.NewOptions64(p.total, opts...)
	if p.done > 0 {
		p.bar.Set64(p.done)
	}
}

// Set records that done units are finished.
func (p *progress) Set(done int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.bar != nil && !p.closed {
		p.bar.Set64(done)
	}
}

// Write counts bytes passing through, for io.TeeReader.
func (p *progress) Write(b []byte) (int, error) {
	if p == nil {
		return len(b), nil
	}
	p.mu.Lock()
	p.done += int64(len(b))
	done := p.done
	p.mu.Unlock()
	p.Set(done)
	return len(b), nil
}

// Done removes the bar (and ends progressbar's spinner goroutine); safe to call twice.
func (p *progress) Done() {
	if p == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear() // Finish clears only when it redraws, which a byte count may not need
		p.bar.Exit()
	}
}

// receive writes a response body to out (a file, or stdout for "") with a byte bar on a
// terminal; the bytes written are the same with or without it.
func (c *CLI) receive(resp *http.Response, out, zh, en string) error {
	p := c.startProgress(resp.ContentLength, true, zh, en)
	defer p.Done()
	return c.writeOut(out, io.TeeReader(resp.Body, p))
}
