// Package serialport opens the agent's serial devices with go.bug.st/serial and keeps them open:
// by path (a /dev/ttyUSB* node or a udev symlink) or by USB identity (VID:PID and serial number),
// so a reader keeps its role when it is moved to another USB socket; with the line settings the
// device needs; and, through Serve, reopened with backoff after the device is unplugged.
//
// Contract: every error leaving this package is an *Error that names the device's role and path
// and wraps one of the sentinels below (go.bug.st/serial's PortError has codes but no Unwrap, so
// it is translated here), with an operator hint in English and zh-CN. Port.Close is idempotent and
// unblocks a pending Read. Serve owns the port it opens and ends with its context.
package serialport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Sentinels for the conditions an operator or the agent acts on.
var (
	ErrNotFound   = errors.New("device not found")
	ErrPermission = errors.New("permission denied")
	ErrBusy       = errors.New("port busy")
	ErrNotSerial  = errors.New("not a serial port")
	ErrBadMode    = errors.New("line setting not supported")
	ErrAmbiguous  = errors.New("more than one device matches")
	ErrGone       = errors.New("device disconnected")
	ErrClosed     = errors.New("port closed")
)

// hints are the operator's next step for each condition, English then zh-CN.
var hints = map[error][2]string{
	ErrNotFound:   {"check the cable, the USB identity or the udev rule", "请检查线缆、USB 标识或 udev 规则"},
	ErrPermission: {"add the service user to group dialout", "请将服务用户加入 dialout 组"},
	ErrBusy:       {"another program holds the port (a second agent, ModemManager?)", "端口被其他程序占用（另一个 agent 或 ModemManager？）"},
	ErrNotSerial:  {"the path is not a serial device; check the configuration", "该路径不是串口设备，请检查配置"},
	ErrBadMode:    {"the device refuses this baud rate, parity or framing", "设备不支持该波特率、校验或帧格式"},
	ErrAmbiguous:  {"give the USB serial number to tell the devices apart", "请配置 USB 序列号以区分设备"},
	ErrGone:       {"the device was unplugged or lost power; reopening", "设备已拔出或断电，正在重新打开"},
}

// Error is a serial-port failure with the device's identity.
type Error struct {
	Role  string // e.g. "reader cab-07"
	Path  string // device path, or the USB identity when no path was found
	Op    string // open, read, write, find
	Kind  error  // one of the sentinels
	Cause error  // what the OS or go.bug.st/serial said, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s: ", e.Role, e.Path)
	if e.Op != "open" && e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Cause != nil && !strings.EqualFold(e.Cause.Error(), e.Kind.Error()) {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	if h, ok := hints[e.Kind]; ok {
		b.WriteString(" — " + h[0])
	}
	return b.String()
}

// HintZH is the operator hint in zh-CN.
func (e *Error) HintZH() string { return hints[e.Kind][1] }

// Unwrap exposes both the sentinel and the original cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// kindOf translates go.bug.st/serial and OS errors into our sentinels.
func kindOf(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortBusy:
			return ErrBusy
		case serial.PortNotFound:
			return ErrNotFound
		case serial.InvalidSerialPort:
			return ErrNotSerial
		case serial.PermissionDenied:
			return ErrPermission
		case serial.InvalidSpeed, serial.InvalidDataBits, serial.InvalidParity, serial.InvalidStopBits:
			return ErrBadMode
		case serial.PortClosed:
			return ErrGone
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return ErrNotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
		return ErrPermission
	case errors.Is(err, syscall.EBUSY):
		return ErrBusy
	case errors.Is(err, syscall.ENOTTY):
		return ErrNotSerial
	case errors.Is(err, syscall.EIO):
		return ErrGone
	}
	return ErrGone
}

// USB identifies a device by its USB descriptor, whatever socket it is in.
type USB struct {
	VID    string // hex, e.g. "1a86"
	PID    string // hex, e.g. "7523"
	Serial string // optional; needed when two identical adapters are attached
}

func (u USB) String() string {
	s := "usb " + strings.ToLower(u.VID) + ":" + strings.ToLower(u.PID)
	if u.Serial != "" {
		s += " serial " + u.Serial
	}
	return s
}

// Config says which device to open and how.
type Config struct {
	Role     string // who the device is, for messages: "reader cab-07"
	Path     string // device node or udev symlink; used when USB is nil
	USB      *USB
	Baud     int    // default 115200
	DataBits int    // default 8
	Parity   string // "none" (default), "even", "odd"
	StopBits int    // 1 (default) or 2

	MinBackoff time.Duration // first reopen delay, default 100 ms
	MaxBackoff time.Duration // cap, default 10 s
	Logger     *slog.Logger  // nil discards

	// Enumerate lists serial ports with their USB descriptors; nil uses go.bug.st/serial's
	// enumerator. Tests give a fixed list, since CI has no USB adapters.
	Enumerate func() ([]*enumerator.PortDetails, error)
}

func (c Config) withDefaults() Config {
	if c.Role == "" {
		c.Role = "serial device"
	}
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(10*time.Second, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Enumerate == nil {
		c.Enumerate = func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() }
	}
	return c
}

func (c Config) where() string {
	if c.USB != nil {
		return c.USB.String()
	}
	return c.Path
}

// Validate checks the configuration without I/O.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(key string, v any) error {
		return &Error{Role: c.Role, Path: c.where(), Op: "config", Kind: ErrBadMode, Cause: fmt.Errorf("%s = %v", key, v)}
	}
	switch {
	case c.USB == nil && c.Path == "":
		return &Error{Role: c.Role, Path: "(none)", Op: "config", Kind: ErrNotFound, Cause: errors.New("neither path nor usb identity given")}
	case c.USB != nil && (c.USB.VID == "" || c.USB.PID == ""):
		return bad("usb", *c.USB)
	case c.Baud < 0:
		return bad("baud", c.Baud)
	case c.DataBits < 5 || c.DataBits > 8:
		return bad("data_bits", c.DataBits)
	case c.StopBits != 1 && c.StopBits != 2:
		return bad("stop_bits", c.StopBits)
	}
	if _, err := parity(c.Parity); err != nil {
		return bad("parity", c.Parity)
	}
	return nil
}

func parity(p string) (serial.Parity, error) {
	switch strings.ToLower(p) {
	case "", "none", "n":
		return serial.NoParity, nil
	case "even", "e":
		return serial.EvenParity, nil
	case "odd", "o":
		return serial.OddParity, nil
	}
	return 0, fmt.Errorf("parity %q", p)
}

// Resolve finds the device path: the configured path, or the port whose USB descriptor matches.
func Resolve(cfg Config) (string, error) {
	cfg = cfg.withDefaults()
	if cfg.USB == nil {
		return cfg.Path, nil
	}
	ports, err := cfg.Enumerate()
	if err != nil {
		return "", &Error{Role: cfg.Role, Path: cfg.where(), Op: "find", Kind: ErrNotFound, Cause: err}
	}
	var found []string
	for _, p := range ports {
		if p == nil || !p.IsUSB || !strings.EqualFold(p.VID, cfg.USB.VID) || !strings.EqualFold(p.PID, cfg.USB.PID) {
			continue
		}
		if cfg.USB.Serial != "" && p.SerialNumber != cfg.USB.Serial {
			continue
		}
		found = append(found, p.Name)
	}
	switch len(found) {
	case 0:
		return "", &Error{Role: cfg.Role, Path: cfg.where(), Op: "find", Kind: ErrNotFound}
	case 1:
		return found[0], nil
	}
	return "", &Error{Role: cfg.Role, Path: cfg.where(), Op: "find", Kind: ErrAmbiguous, Cause: fmt.Errorf("found %s", strings.Join(found, ", "))}
}

// Port is an open serial device. It implements io.ReadWriteCloser; its errors are *Error.
//
// go.bug.st/serial opens the device, checks that it is a serial port, sets the line and holds it
// exclusively; but its Read waits in a blocking select(2), one per call and per port. With eight
// readers at line rate that made the runtime hand each blocked thread's P away and back over a
// thousand times a second (sysmon then polls every 20 µs: strace showed 1 300 pselect6 and 6 800
// nanosleep calls a second, two thirds of the agent's CPU in the kernel). So bytes move through a
// second, non-blocking descriptor of the same device, opened just before go.bug.st/serial takes
// exclusive access: Go's poller waits for all ports in one epoll, and the read timeout is a
// deadline. Where the device cannot join the poller, reads fall back to go.bug.st/serial.
type Port struct {
	cfg     Config
	path    string
	p       serial.Port
	f       *os.File     // the pollable descriptor; nil when reads go through p
	timeout atomic.Int64 // read timeout in ns for f; 0 blocks (serial.NoTimeout)
	closed  atomic.Bool
}

// Open resolves and opens the device once.
func Open(cfg Config) (*Port, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	path, err := Resolve(cfg)
	if err != nil {
		return nil, err
	}
	par, _ := parity(cfg.Parity)
	stop := serial.OneStopBit
	if cfg.StopBits == 2 {
		stop = serial.TwoStopBits
	}
	f, err := openPollable(path)
	if err != nil {
		return nil, &Error{Role: cfg.Role, Path: path, Op: "open", Kind: kindOf(err), Cause: err}
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: cfg.Baud, DataBits: cfg.DataBits, Parity: par, StopBits: stop})
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, &Error{Role: cfg.Role, Path: path, Op: "open", Kind: kindOf(err), Cause: err}
	}
	return &Port{cfg: cfg, path: path, p: p, f: f}, nil
}

// openPollable opens path non-blocking (so that a modem line without carrier does not hold up
// the open) and hands it to Go's poller. It returns nil and no error when the device cannot be
// polled: the caller then reads through go.bug.st/serial.
func openPollable(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err // the Error made of it names the path already
	}
	f := os.NewFile(uintptr(fd), path) // a non-blocking descriptor joins the poller when it can
	if f.SetReadDeadline(time.Time{}) != nil {
		f.Close() // not pollable (os.ErrNoDeadline)
		return nil, nil
	}
	return f, nil
}

// Path is the device node the port was opened on.
func (p *Port) Path() string { return p.path }

func (p *Port) fail(op string, err error) error {
	if p.closed.Load() {
		return &Error{Role: p.cfg.Role, Path: p.path, Op: op, Kind: ErrClosed}
	}
	return &Error{Role: p.cfg.Role, Path: p.path, Op: op, Kind: kindOf(err), Cause: err}
}

// Read reads bytes; a device that vanished gives an *Error wrapping ErrGone.
func (p *Port) Read(b []byte) (int, error) {
	if p.f == nil {
		n, err := p.p.Read(b)
		if err != nil {
			return n, p.fail("read", err)
		}
		return n, nil
	}
	if len(b) == 0 {
		return 0, nil
	}
	if d := p.timeout.Load(); d > 0 {
		p.f.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := p.f.Read(b)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, nil // the timeout passed without data, as go.bug.st/serial reports it
	}
	// io.EOF: a hung-up line reads empty, which go.bug.st/serial also calls a closed port.
	return n, p.fail("read", err)
}

// Write writes bytes.
func (p *Port) Write(b []byte) (int, error) {
	var n int
	var err error
	if p.f != nil {
		n, err = p.f.Write(b)
	} else {
		n, err = p.p.Write(b)
	}
	if err != nil {
		return n, p.fail("write", err)
	}
	return n, nil
}

// SetReadTimeout makes Read return (0, nil) after d without data; serial.NoTimeout blocks.
func (p *Port) SetReadTimeout(d time.Duration) error {
	if p.f == nil {
		if err := p.p.SetReadTimeout(d); err != nil {
			return p.fail("set read timeout", err)
		}
		return nil
	}
	switch {
	case d < 0: // serial.NoTimeout
		d = 0
	case d == 0:
		d = 1 // a zero timeout returns at once
	}
	p.timeout.Store(int64(d))
	if d == 0 {
		p.f.SetReadDeadline(time.Time{})
	}
	return nil
}

// Close closes the port and unblocks a pending Read; idempotent.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	if p.f != nil {
		p.f.Close() // unblocks a pending Read, which then reports ErrClosed
	}
	if err := p.p.Close(); err != nil {
		return &Error{Role: p.cfg.Role, Path: p.path, Op: "close", Kind: kindOf(err), Cause: err}
	}
	return nil
}

// Serve keeps the device open for session: it opens it (retrying with exponential backoff while
// it is missing, busy or refused), runs session with the open port, and when session returns an
// error wrapping ErrGone — the device was unplugged — closes the port and opens it again. It
// returns nil when ctx ends, and session's error when that is anything else. The port is closed
// whenever session returns.
func Serve(ctx context.Context, cfg Config, session func(ctx context.Context, p *Port) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("device", cfg.Role, "where", cfg.where())
	backoff := cfg.MinBackoff
	failing := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		p, err := Open(cfg)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || errors.Is(err, ErrBadMode) || errors.Is(err, ErrNotSerial) {
				return err // configuration problems do not heal by waiting
			}
			if !failing {
				log.Warn("serial device unavailable, retrying", "error", err)
				failing = true
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(backoff*2, cfg.MaxBackoff)
			continue
		}
		failing = false
		backoff = cfg.MinBackoff
		log.Info("serial device opened", "path", p.Path())
		err = session(ctx, p)
		p.Close()
		log.Info("serial device closed", "path", p.Path(), "error", err)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrGone):
			log.Warn("serial device lost, reopening", "error", err)
			continue
		}
		return err
	}
}
