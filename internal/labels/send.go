package labels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultSendTimeout bounds a print job when the context has no deadline.
const DefaultSendTimeout = 30 * time.Second

// Send delivers a raw printer-language job (ZPL or TSPL) to a printer. target is either a
// device path such as /dev/usb/lp0 (it must exist: a typo must not create a file), or a network
// address "host:port", "host" (port 9100, the raw "JetDirect" port) or "tcp://host[:port]".
// CUPS raw queues are deprecated, so we talk to the printer directly.
func Send(ctx context.Context, target string, job []byte) error {
	if len(job) == 0 {
		return fmt.Errorf("labels: send to %s: empty job: %w", target, ErrLabel)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSendTimeout)
		defer cancel()
	}
	if strings.HasPrefix(target, "/") {
		return sendDevice(ctx, target, job)
	}
	addr, err := printerAddr(target)
	if err != nil {
		return err
	}
	return sendTCP(ctx, addr, job)
}

// printerAddr turns "host", "host:port" or "tcp://host[:port]" into a dial address.
func printerAddr(target string) (string, error) {
	addr := strings.TrimPrefix(target, "tcp://")
	if addr == "" || strings.ContainsAny(addr, "/ ") {
		return "", fmt.Errorf("labels: send: target %q: want a device path or host[:port]: %w", target, ErrConfig)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "9100")
	}
	return addr, nil
}

func sendTCP(ctx context.Context, addr string, job []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("labels: send to printer %s: %w", addr, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	// Closing the connection when ctx ends unblocks a write to a printer that stopped reading.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if _, err := conn.Write(job); err != nil {
		return fmt.Errorf("labels: send to printer %s: %w", addr, errors.Join(err, ctx.Err()))
	}
	// Half-close so the printer sees the end of the job, then close.
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return fmt.Errorf("labels: send to printer %s: close: %w", addr, err)
		}
	}
	return nil
}

func sendDevice(ctx context.Context, path string, job []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("labels: send to printer device: %w", err)
	}
	defer f.Close()
	dl, _ := ctx.Deadline()
	_ = f.SetWriteDeadline(dl) // works on pollable devices (ttys); a no-op error on others
	stop := context.AfterFunc(ctx, func() { _ = f.Close() })
	defer stop()
	if _, err := f.Write(job); err != nil {
		return fmt.Errorf("labels: send to printer device %s: %w", path, errors.Join(err, ctx.Err()))
	}
	if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("labels: send to printer device %s: close: %w", path, err)
	}
	return nil
}
