// Package netport opens a reader's link over TCP: a reader whose `port` is `tcp://host:port` —
// an R2000 or M6e behind a serial device server (串口服务器) or on a TCP-native board, carrying
// the same bytes as its serial line, or an LLRP reader on port 5084.
//
// Contract: Open dials once with a timeout and returns a *Conn that behaves like an open
// serialport.Port — Read, Write, an idempotent Close that unblocks a pending Read, and
// SetReadTimeout, after which a Read that waits longer returns (0, nil) exactly as a serial port's
// inter-byte timeout does, so the serial drivers' framing works unchanged. Reconnecting is the
// owner's job, as for a serial port (the agent's reader supervisor opens again with backoff).
// Every error leaving this package is an *Error naming the device's role and address, wrapping
// one of the sentinels below, with an operator hint in English and zh-CN.
package netport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Scheme is the prefix of a reader port reached over TCP.
const Scheme = "tcp://"

// Sentinels for the conditions an operator or the agent acts on.
var (
	ErrBadAddress  = errors.New("not a tcp://host:port address")
	ErrRefused     = errors.New("connection refused")
	ErrUnreachable = errors.New("device unreachable")
	ErrGone        = errors.New("connection lost")
	ErrClosed      = errors.New("connection closed")
)

var hints = map[error][2]string{
	ErrBadAddress:  {"write the port as tcp://192.168.1.20:4001", "请按 tcp://192.168.1.20:4001 的格式填写端口"},
	ErrRefused:     {"the device answers but nothing listens on that port: check the port number and the device server's TCP server mode", "设备在线但该端口无服务：请检查端口号及串口服务器的 TCP 服务器模式"},
	ErrUnreachable: {"check the network cable, the IP address and the device's power", "请检查网线、IP 地址及设备电源"},
	ErrGone:        {"the device closed the connection or lost power; reconnecting", "设备断开连接或断电，正在重新连接"},
}

// Error is a TCP link failure with the device's identity.
type Error struct {
	Role  string // e.g. "reader cab-07"
	Addr  string // host:port
	Op    string // dial, read, write, config
	Kind  error  // one of the sentinels
	Cause error  // what the OS said, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on tcp://%s: ", e.Role, e.Addr)
	if e.Op != "dial" && e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	if h, ok := hints[e.Kind]; ok {
		b.WriteString(" — " + h[0])
	}
	return b.String()
}

// HintZH is the operator hint in zh-CN.
func (e *Error) HintZH() string { return hints[e.Kind][1] }

// Unwrap exposes both the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// IsTCP reports whether a configured port names a TCP link.
func IsTCP(port string) bool { return strings.HasPrefix(port, Scheme) }

// ParseAddress checks a tcp://host[:port] port and returns host:port; defaultPort fills a missing
// port (0: the port is required).
func ParseAddress(port string, defaultPort int) (string, error) {
	bad := func(why string) error {
		return &Error{Role: "reader", Addr: strings.TrimPrefix(port, Scheme), Op: "config", Kind: ErrBadAddress, Cause: errors.New(why)}
	}
	if !IsTCP(port) {
		return "", bad("no tcp:// prefix")
	}
	hp := strings.TrimPrefix(port, Scheme)
	if hp == "" || strings.ContainsAny(hp, "/?#@ ") {
		return "", bad("want host:port and nothing else")
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		if defaultPort == 0 {
			return "", bad("no port number")
		}
		host, p = strings.Trim(hp, "[]"), strconv.Itoa(defaultPort)
	}
	n, err := strconv.Atoi(p)
	if host == "" || err != nil || n < 1 || n > 65535 {
		return "", bad("host or port number out of range")
	}
	return net.JoinHostPort(host, p), nil
}

// Config says which device to dial.
type Config struct {
	Role        string // who the device is, for messages: "reader cab-07"
	Address     string // tcp://host:port
	DefaultPort int    // used when Address has none (5084 for LLRP); 0 requires one
	DialTimeout time.Duration
}

// Conn is an open TCP link to a device; its errors are *Error.
type Conn struct {
	role    string
	addr    string
	c       net.Conn
	timeout atomic.Int64 // read timeout in ns; 0 blocks
	closed  atomic.Bool
}

// Open dials the device once.
func Open(cfg Config) (*Conn, error) {
	if cfg.Role == "" {
		cfg.Role = "device"
	}
	addr, err := ParseAddress(cfg.Address, cfg.DefaultPort)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Role = cfg.Role
		}
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	// TCP keepalives find a device server that lost power without a FIN within a minute; the
	// agent's idle probe usually finds it sooner.
	d := net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 15 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, &Error{Role: cfg.Role, Addr: addr, Op: "dial", Kind: dialKind(err), Cause: err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // a command is one small write; the reader waits for it whole
	}
	return &Conn{role: cfg.Role, addr: addr, c: c}, nil
}

func dialKind(err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ETIMEDOUT):
		return ErrUnreachable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrUnreachable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return ErrUnreachable
	}
	return ErrUnreachable
}

// Address is host:port.
func (c *Conn) Address() string { return c.addr }

func (c *Conn) fail(op string, err error) error {
	if c.closed.Load() {
		return &Error{Role: c.role, Addr: c.addr, Op: op, Kind: ErrClosed}
	}
	if errors.Is(err, io.EOF) {
		return &Error{Role: c.role, Addr: c.addr, Op: op, Kind: ErrGone, Cause: errors.New("closed by the device")}
	}
	return &Error{Role: c.role, Addr: c.addr, Op: op, Kind: ErrGone, Cause: err}
}

// Read reads bytes. After SetReadTimeout(d) a Read that waits d without data returns (0, nil);
// a connection the device closed gives an *Error wrapping ErrGone (and io.EOF's meaning: nothing
// more will come).
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if d := c.timeout.Load(); d > 0 {
		c.c.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.c.Read(b)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.closed.Load():
		return n, nil
	}
	return n, c.fail("read", err)
}

// writeTimeout bounds a write: a device server whose buffer is full for this long is gone.
const writeTimeout = 5 * time.Second

// Write writes bytes.
func (c *Conn) Write(b []byte) (int, error) {
	c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := c.c.Write(b)
	if err != nil {
		return n, c.fail("write", err)
	}
	return n, nil
}

// SetReadTimeout makes Read return (0, nil) after d without data; d ≤ 0 blocks.
func (c *Conn) SetReadTimeout(d time.Duration) error {
	if d < 0 {
		d = 0
	}
	c.timeout.Store(int64(d))
	if d == 0 {
		c.c.SetReadDeadline(time.Time{})
	}
	return nil
}

// Close closes the connection and unblocks a pending Read; idempotent.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.c.Close()
}
