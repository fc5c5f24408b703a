package reader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Link is the reading side every serial driver needs: one goroutine decodes frames from the
// ReadWriter and hands them over a channel, so a request can wait for its answer with a timeout
// and a reader that stops answering cannot hang the caller. The Link owns its goroutine: it starts
// with the first Recv or Write and ends on Close or when the stream fails.
type Link[F any] struct {
	rw     io.ReadWriter
	next   func() (F, error) // decodes the next frame and copies it out of the decoder's buffer
	log    *slog.Logger
	frames chan F
	closed chan struct{}
	done   chan struct{}
	err    error // why the reading goroutine ended; read only after done is closed

	timer atomic.Pointer[time.Timer] // an idle timer kept for the next Recv that has to wait

	writeMu   sync.Mutex
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// NewLink prepares a link; it does no I/O.
func NewLink[F any](rw io.ReadWriter, log *slog.Logger, next func() (F, error)) *Link[F] {
	return &Link[F]{rw: rw, next: next, log: log, frames: make(chan F, 1024), closed: make(chan struct{}), done: make(chan struct{})}
}

// FrameDecoder is what a serial driver's decoder offers NewSerialLink.
type FrameDecoder[F any] interface {
	Next() (F, error)
	// Abandon drops a frame left incomplete over a silence (see Scanner.Abandon).
	Abandon()
}

// readTimeouter is the part of a serial port (go.bug.st/serial, serialport.Port) that bounds a
// Read.
type readTimeouter interface {
	SetReadTimeout(time.Duration) error
}

// NewSerialLink is the link of a driver on a serial line: where rw can bound a read it gets an
// inter-byte timeout — a read that waits longer returns empty, and a frame left incomplete over
// such a silence is abandoned — and each frame is cloned out of the decoder's buffer before it is
// handed on. Both serial reader families build their links with it; it does no I/O but the
// timeout setting.
func NewSerialLink[F any](rw io.ReadWriter, cfg Config, dec FrameDecoder[F], clone func(F) F) *Link[F] {
	if t, ok := rw.(readTimeouter); ok {
		_ = t.SetReadTimeout(InterByteTimeout)
	}
	next := func() (F, error) {
		f, err := dec.Next()
		if errors.Is(err, ErrIdle) {
			dec.Abandon()
		}
		if err != nil {
			var zero F
			return zero, err
		}
		return clone(f), nil
	}
	return NewLink(rw, cfg.Logger.With("reader", cfg.ID), next)
}

func (l *Link[F]) start() {
	l.startOnce.Do(func() {
		select {
		case <-l.closed:
			close(l.done)
			return
		default:
		}
		go l.run()
	})
}

func (l *Link[F]) run() {
	defer close(l.done)
	l.log.Debug("reader link started")
	defer l.log.Debug("reader link stopped")
	for {
		f, err := l.next()
		if err != nil {
			var de *DecodeError
			switch {
			case errors.As(err, &de):
				l.log.Warn("bad bytes from reader", "offset", de.Offset, "skipped", de.Skipped, "error", de.Err)
				continue
			case errors.Is(err, ErrIdle):
				select {
				case <-l.closed:
					l.err = ErrClosed
					return
				default:
					continue
				}
			}
			select {
			case <-l.closed:
				l.err = ErrClosed
			default:
				l.err = fmt.Errorf("link lost: %w", err)
			}
			return
		}
		select {
		case l.frames <- f:
		case <-l.closed:
			l.err = ErrClosed
			return
		}
	}
}

// Write sends one whole frame.
func (l *Link[F]) Write(b []byte) error {
	l.start()
	select {
	case <-l.closed:
		return ErrClosed
	default:
	}
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if _, err := l.rw.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Recv waits up to timeout for the next frame. It returns ErrTimeout when none came, ErrClosed
// after Close, and the stream's error once the link is lost and every frame read before is taken.
func (l *Link[F]) Recv(ctx context.Context, timeout time.Duration) (F, error) {
	l.start()
	var zero F
	select {
	case f := <-l.frames:
		return f, nil
	default:
	}
	// Recv runs once per tag report during a round: the timer is reused rather than made anew
	// each time. (Since Go 1.23 a stopped or reset timer's channel holds no stale tick.)
	t := l.timer.Swap(nil)
	if t == nil {
		t = time.NewTimer(timeout)
	} else {
		t.Reset(timeout)
	}
	defer func() {
		t.Stop()
		l.timer.Store(t)
	}()
	select {
	case f := <-l.frames:
		return f, nil
	case <-l.done:
		select {
		case f := <-l.frames:
			return f, nil
		default:
		}
		return zero, l.err
	case <-l.closed:
		return zero, ErrClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-t.C:
		return zero, ErrTimeout
	}
}

// Drain drops frames already received, so a request is not answered by a stale reply.
func (l *Link[F]) Drain() {
	for {
		select {
		case <-l.frames:
		default:
			return
		}
	}
}

// Close ends the link: it closes the ReadWriter when it is an io.Closer (which unblocks a pending
// Read) and waits for the reading goroutine. Idempotent.
func (l *Link[F]) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		if c, ok := l.rw.(io.Closer); ok {
			l.closeErr = c.Close()
			l.start()
			<-l.done
		}
	})
	return l.closeErr
}
