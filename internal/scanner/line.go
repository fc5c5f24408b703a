package scanner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// LineReader reads scans from a scanner in serial (CDC-ACM) mode. A scan ends at CR, LF or CRLF;
// the scanner's suffix setting does not matter, and empty lines (the LF of a CRLF, or a stray
// ending) are skipped rather than reported as scans.
type LineReader struct {
	r       io.Reader
	buf     []byte // bytes of the current line
	lineAt  int64  // offset of buf[0]
	off     int64  // offset of the next byte to read
	over    bool   // the current line passed MaxLine; discard to its end
	chunk   [512]byte
	pending []byte // read but not yet examined
	eof     bool
	rdErr   error
}

// NewLineReader returns a LineReader on r (a serial port, a pseudo-terminal, a capture).
func NewLineReader(r io.Reader) *LineReader { return &LineReader{r: r} }

// Next returns the next scan. A bad scan comes back as a *ScanError (call Next again to go on);
// io.EOF ends the stream; another error is the reader's, wrapped. An unterminated line at the end
// of the stream is an ErrTruncated error: it may be half a barcode.
func (l *LineReader) Next() (Scan, error) {
	for {
		if len(l.pending) == 0 {
			if l.eof {
				if len(l.buf) > 0 || l.over {
					at := l.lineAt
					l.buf, l.over = l.buf[:0], false
					return Scan{}, &ScanError{Offset: at, Err: ErrTruncated}
				}
				if l.rdErr != nil {
					return Scan{}, l.rdErr
				}
				return Scan{}, io.EOF
			}
			n, err := l.r.Read(l.chunk[:])
			l.pending = l.chunk[:n]
			if err != nil {
				l.eof = true
				if !errors.Is(err, io.EOF) {
					l.rdErr = fmt.Errorf("scanner: read: %w", err)
				}
			}
			continue
		}
		i := bytes.IndexAny(l.pending, "\r\n")
		if i < 0 {
			l.add(l.pending)
			l.off += int64(len(l.pending))
			l.pending = nil
			continue
		}
		l.add(l.pending[:i])
		l.off += int64(i + 1)
		l.pending = l.pending[i+1:]
		if l.over {
			at := l.lineAt
			l.buf, l.over = l.buf[:0], false
			return Scan{}, &ScanError{Offset: at, Err: ErrTooLong}
		}
		if len(l.buf) == 0 {
			continue // the LF of a CRLF, or an empty line
		}
		at := l.lineAt
		s, err := ParseScan(l.buf)
		l.buf = l.buf[:0]
		if err != nil {
			return Scan{}, &ScanError{Offset: at, Err: err}
		}
		s.Offset = at
		return s, nil
	}
}

func (l *LineReader) add(p []byte) {
	if len(l.buf) == 0 && !l.over {
		l.lineAt = l.off
	}
	if l.over || len(p) == 0 {
		return
	}
	if len(l.buf)+len(p) > MaxLine {
		l.over = true
		l.buf = l.buf[:0]
		return
	}
	l.buf = append(l.buf, p...)
}
