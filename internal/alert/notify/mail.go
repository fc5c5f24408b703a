package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode is how a mail's connection is protected, as `[alerts.mail] tls` states it.
type TLSMode string

const (
	// TLSImplicit speaks TLS from the first byte ("SMTPS", port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSStartTLS greets in clear and must upgrade with STARTTLS before anything else (port 587);
	// a server that does not offer it is refused at once, since the password and the notice
	// would otherwise cross in clear.
	TLSStartTLS TLSMode = "starttls"
	// TLSNone never encrypts: only for a relay on the same host. It does not even try STARTTLS
	// when offered — a local Postfix offers it with a self-signed certificate (Debian's
	// snakeoil), and an upgrade that then fails verification would lose the notice.
	TLSNone TLSMode = "none"
)

// ParseTLSMode reads a configured mode; empty means the port's convention (465 implicit, any
// other port STARTTLS).
func ParseTLSMode(s, addr string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case TLSImplicit, TLSStartTLS, TLSNone:
		return m, nil
	case "":
		if _, port, err := net.SplitHostPort(addr); err == nil && port == "465" {
			return TLSImplicit, nil
		}
		return TLSStartTLS, nil
	}
	return "", fmt.Errorf("%q: want implicit, starttls or none", s)
}

// Mail sends notices over SMTP through github.com/wneessen/go-mail: implicit TLS or STARTTLS
// (required unless the mode is none), PLAIN or LOGIN authentication, whichever the server offers.
type Mail struct {
	Addr     string // host:port
	From     string
	To       []string
	Username string // empty: no authentication
	Password string
	// Mode is the connection's protection; empty: the port's convention (see ParseTLSMode).
	Mode TLSMode
	// InsecureNoTLS is the older spelling of Mode none (a relay on the same host, or tests).
	InsecureNoTLS bool
	TLS           *tls.Config
	Location      *time.Location
	Timeout       time.Duration // the whole delivery; default 30 s
}

// Name names the channel in history and errors.
func (m *Mail) Name() string { return "mail" }

// stepTimeout bounds each SMTP exchange (greeting, EHLO, STARTTLS, AUTH, each command): a
// server that accepts the connection and then says nothing — a plain client at an implicit-TLS
// port, where both sides wait for the other — fails after this, not after the whole budget.
const stepTimeout = 10 * time.Second

// Send delivers one notice to every recipient in one SMTP transaction.
func (m *Mail) Send(ctx context.Context, n Notice) error {
	if m.Addr == "" || m.From == "" || len(m.To) == 0 {
		return fmt.Errorf("mail: not configured (addr, from and to are required)")
	}
	mode, err := m.mode()
	if err != nil {
		return fmt.Errorf("mail %s: tls %w", m.Addr, err)
	}
	host, portText, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("mail %s: %w", m.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("mail %s: port: %w", m.Addr, err)
	}
	timeout := m.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if m.TLS != nil {
		cfg = m.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
	}

	// We dial ourselves, for two reasons go-mail (v0.8.1) does not cover: it leaves the
	// connection open when the exchange fails before sending (a refused STARTTLS, a failed
	// greeting), so a relay keeps waiting for our next command; and it uses the context only
	// for dialling, so a cancelled delivery would still wait on a silent server. The dialled
	// connection is closed when Send returns or the context ends, whichever comes first.
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if mode == TLSImplicit {
			c, err = (&tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}).DialContext(ctx, network, addr)
		} else {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		if err == nil {
			mu.Lock()
			conn = c
			mu.Unlock()
		}
		return c, err
	}
	closeConn := func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	}
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()

	step := min(stepTimeout, timeout)
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(step),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(cfg),
		// The relay sees "localhost", as with net/smtp before: the host's own name is not
		// something a notice needs to carry out of the office.
		gomail.WithHELO("localhost"),
	}
	switch mode {
	case TLSImplicit:
		// Our dialler already speaks TLS; WithSSL keeps go-mail from offering STARTTLS on top.
		opts = append(opts, gomail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.Username != "" {
		// PLAIN where offered, else LOGIN (older Exchange relays offer only LOGIN). Both refuse
		// to send the password over a connection that is not TLS unless the relay is local.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(m.Username), gomail.WithPassword(m.Password))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("mail %s: %w", m.Addr, err)
	}
	msg, err := m.message(n)
	if err != nil {
		return fmt.Errorf("mail %s: %w", m.Addr, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return m.explain(ctx, mode, err)
	}
	return nil
}

func (m *Mail) mode() (TLSMode, error) {
	if m.Mode != "" {
		return ParseTLSMode(string(m.Mode), m.Addr)
	}
	if m.InsecureNoTLS {
		return TLSNone, nil
	}
	return ParseTLSMode("", m.Addr)
}

// explain turns go-mail's errors into ones an administrator can act on, naming the config key.
func (m *Mail) explain(ctx context.Context, mode TLSMode, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not support STARTTLS"):
		return fmt.Errorf("mail %s: the server offers no STARTTLS, and [alerts.mail] tls = %q refuses to send in clear (tls = \"none\" only for a relay on this host): %w", m.Addr, mode, err)
	case (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)) && mode != TLSImplicit:
		return fmt.Errorf("mail %s: no answer in time — if the server speaks implicit TLS (port 465), set [alerts.mail] tls = \"implicit\": %w", m.Addr, err)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("mail %s: the server does not speak TLS at once — set [alerts.mail] tls = \"starttls\" (port 587) or \"none\": %w", m.Addr, err)
	case strings.Contains(msg, "AUTH"):
		return fmt.Errorf("mail %s: auth: %w", m.Addr, err)
	}
	return fmt.Errorf("mail %s: %w", m.Addr, err)
}

// message holds the notice's text and nothing else of custodyd's: no user agent, and a
// Message-ID on the sender's own domain rather than this host's name.
func (m *Mail) message(n Notice) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64), gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(Subject(n))
	msg.SetDateWithValue(n.At)
	domain := "custody.invalid"
	if i := strings.LastIndexByte(m.From, '@'); i >= 0 {
		domain = strings.Trim(m.From[i+1:], "> ")
	}
	var id [12]byte
	rand.Read(id[:])
	msg.SetMessageIDWithValue(hex.EncodeToString(id[:]) + "@" + domain)
	msg.SetBodyString(gomail.TypeTextPlain, Text(n, m.Location)+"\n")
	return msg, nil
}
