package cabinet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Decoder reads frames from a byte stream and resynchronises after anything bad (§2.2). Its
// buffer never holds more than one frame plus one read chunk, whatever the input.
//
// What it reports (§2.2): each damaged frame — a sync byte, a valid address and LEN, and a CRC
// that fails — is its own *FrameError at its own offset, so two damaged frames side by side are
// two errors; bytes that form no frame (noise, a C5 with a reserved address or LEN over 64, a
// frame cut short by the end of the stream) are one error for the whole run, naming why its first
// byte was rejected. Bytes after a damaged frame up to the next frame start belong to its error.
type Decoder struct {
	r     io.Reader
	buf   []byte // unconsumed bytes; buf[0] is at stream offset off
	off   int64
	eof   bool
	rdErr error

	badAt   int64 // offset of the first byte of the error being gathered; -1 when none
	badErr  error // why the byte at badAt was rejected
	badEnd  int64 // where the damaged frame that began the error claims to end; = badAt for a run
	scratch [512]byte
}

// maxBadRun bounds how long an error may grow before it is reported, so a line that carries
// nothing but noise still tells the operator so.
const maxBadRun = 64 << 10

// NewDecoder returns a Decoder reading r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 0, MaxFrameLen+len(Decoder{}.scratch)), badAt: -1}
}

// Next returns the next good frame. A damaged frame or a run of bytes that form no frame comes
// back as a *FrameError (call Next again to go on); io.EOF marks the end of the stream; any other
// error is the reader's, wrapped.
func (d *Decoder) Next() (Frame, error) {
	for {
		i := bytes.IndexByte(d.buf, Sync)
		if i < 0 {
			i = len(d.buf)
		}
		if i > 0 {
			d.markBad(ErrGarbage)
			d.consume(i)
		}
		if d.badAt >= 0 && d.off-d.badAt >= maxBadRun {
			return Frame{}, d.takeBad()
		}
		if len(d.buf) == 0 {
			if !d.eof {
				d.fill()
				continue
			}
			if d.badAt >= 0 {
				return Frame{}, d.takeBad()
			}
			if d.rdErr != nil {
				return Frame{}, d.rdErr
			}
			return Frame{}, io.EOF
		}
		f, n, err := Parse(d.buf)
		switch {
		case err == nil:
			if d.badAt >= 0 {
				return Frame{}, d.takeBad() // the frame waits for the next call
			}
			f.Offset = d.off
			d.consume(n)
			return f, nil
		case errors.Is(err, ErrNeedMore) && !d.eof:
			d.fill()
			continue
		case errors.Is(err, ErrNeedMore):
			// The stream ended inside this frame: a frame cut short, reported like a damaged one.
			// It claims every byte left, so a C5 among them is part of this loss.
			switch {
			case d.badAt < 0:
				d.badAt, d.badEnd = d.off, d.off+int64(len(d.buf))
				d.badErr = fmt.Errorf("%w: %d of %d bytes", ErrTruncated, len(d.buf), frameLenOf(d.buf))
			case d.off >= d.badEnd:
				return Frame{}, d.takeBad()
			}
			d.consume(1)
			continue
		case errors.Is(err, ErrCRC):
			// A damaged frame. A C5 inside the span a damaged frame claims is its data (or the
			// start of a frame it cut, which Parse would have accepted): part of that loss.
			// Elsewhere it is a damaged frame of its own, reported after what came before.
			switch {
			case d.badAt < 0:
				d.badAt, d.badErr, d.badEnd = d.off, err, d.off+int64(frameLenOf(d.buf))
			case d.off >= d.badEnd:
				return Frame{}, d.takeBad()
			}
			// Rescan from the byte after its sync, never after the claimed end (§2.2).
			d.consume(1)
			continue
		}
		// LEN over 64, a reserved address, or cut short by the end of the stream: this C5 began
		// no frame, so it is part of a run of bytes that form none.
		d.markBad(err)
		d.consume(1)
	}
}

// frameLenOf is the length a frame starting at b would have, as far as b tells.
func frameLenOf(b []byte) int {
	if len(b) < HeaderLen {
		return MinFrameLen
	}
	return HeaderLen + int(b[4]) + 2
}

func (d *Decoder) markBad(err error) {
	if d.badAt < 0 {
		d.badAt, d.badErr, d.badEnd = d.off, err, d.off
	}
}

func (d *Decoder) takeBad() error {
	n := d.off - d.badAt
	err := d.badErr
	if errors.Is(err, ErrGarbage) {
		err = fmt.Errorf("%w: %d bytes skipped", ErrGarbage, n)
	}
	fe := &FrameError{Offset: d.badAt, Skipped: n, Err: err}
	d.badAt, d.badErr = -1, nil
	return fe
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
