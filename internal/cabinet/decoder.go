package cabinet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Decoder reads frames from a byte stream and resynchronises after anything bad (§2.2). Its
// buffer never holds more than one frame plus one read chunk, whatever the input.
type Decoder struct {
	r     io.Reader
	buf   []byte // unconsumed bytes; buf[0] is at stream offset off
	off   int64
	eof   bool
	rdErr error

	junkAt  int64 // offset of the first skipped byte of the current garbage run
	junkN   int   // length of that run
	quiet   bool  // the run follows a reported bad frame and is part of that loss
	scratch [512]byte
}

// NewDecoder returns a Decoder reading r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 0, MaxFrameLen+len(Decoder{}.scratch))}
}

// Next returns the next good frame. A bad frame or a run of garbage comes back as a *FrameError
// (call Next again to go on); io.EOF marks the end of the stream; any other error is the reader's,
// wrapped.
func (d *Decoder) Next() (Frame, error) {
	for {
		i := bytes.IndexByte(d.buf, Sync)
		if i < 0 {
			i = len(d.buf)
		}
		if i > 0 {
			d.skip(i)
		}
		if len(d.buf) > 0 && d.junkN > 0 && !d.quiet {
			return Frame{}, d.takeJunk()
		}
		if len(d.buf) == 0 {
			if d.eof {
				if d.junkN > 0 && !d.quiet {
					return Frame{}, d.takeJunk()
				}
				d.junkN = 0
				if d.rdErr != nil {
					return Frame{}, d.rdErr
				}
				return Frame{}, io.EOF
			}
			d.fill()
			continue
		}
		f, n, err := Parse(d.buf)
		switch {
		case err == nil:
			f.Offset = d.off
			d.consume(n)
			d.quiet = false
			d.junkN = 0
			return f, nil
		case errors.Is(err, ErrNeedMore) && !d.eof:
			d.fill()
			continue
		case errors.Is(err, ErrNeedMore):
			err = fmt.Errorf("%w: %d of %d bytes", ErrTruncated, len(d.buf), frameLenOf(d.buf))
		}
		// A bad start: report it and rescan from the byte after its sync (§2.2).
		fe := &FrameError{Offset: d.off, Err: err}
		d.consume(1)
		d.quiet = true
		d.junkN = 0
		return Frame{}, fe
	}
}

// frameLenOf is the length a frame starting at b would have, as far as b tells.
func frameLenOf(b []byte) int {
	if len(b) < HeaderLen {
		return MinFrameLen
	}
	return HeaderLen + int(b[4]) + 2
}

func (d *Decoder) skip(n int) {
	if d.junkN == 0 {
		d.junkAt = d.off
	}
	d.junkN += n
	d.consume(n)
}

func (d *Decoder) takeJunk() error {
	err := &FrameError{Offset: d.junkAt, Err: fmt.Errorf("%w: %d bytes skipped", ErrGarbage, d.junkN)}
	d.junkN = 0
	return err
}

func (d *Decoder) consume(n int) {
	d.off += int64(n)
	d.buf = d.buf[:copy(d.buf, d.buf[n:])]
}

// fill reads once. A read error ends the stream after what is buffered has been decoded.
func (d *Decoder) fill() {
	n, err := d.r.Read(d.scratch[:])
	d.buf = append(d.buf, d.scratch[:n]...)
	if err != nil {
		d.eof = true
		if !errors.Is(err, io.EOF) {
			d.rdErr = fmt.Errorf("cabinet decoder: read: %w", err)
		}
	}
}
