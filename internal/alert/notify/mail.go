package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Mail sends notices over SMTP with the standard library. STARTTLS is used whenever the server
// offers it (required unless InsecureNoTLS, because an SMTP password must not cross in clear).
type Mail struct {
	Addr     string // host:port
	From     string
	To       []string
	Username string // empty: no authentication
	Password string
	// InsecureNoTLS allows delivery without STARTTLS (a relay on the same host, or tests).
	InsecureNoTLS bool
	TLS           *tls.Config
	Location      *time.Location
	Timeout       time.Duration // default 30 s
}

// Name names the channel in history and errors.
func (m *Mail) Name() string { return "mail" }

// Send delivers one notice to every recipient in one SMTP transaction.
func (m *Mail) Send(ctx context.Context, n Notice) error {
	if m.Addr == "" || m.From == "" || len(m.To) == 0 {
		return fmt.Errorf("mail: not configured (addr, from and to are required)")
	}
	timeout := m.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("mail %s: %w", m.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(m.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail %s: greeting: %w", m.Addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("mail %s: starttls: %w", m.Addr, err)
		}
	} else if !m.InsecureNoTLS {
		return fmt.Errorf("mail %s: the server offers no STARTTLS (set insecure_no_tls only for a local relay)", m.Addr)
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("mail %s: auth: %w", m.Addr, err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("mail %s: MAIL FROM: %w", m.Addr, err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("mail %s: RCPT TO %s: %w", m.Addr, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail %s: DATA: %w", m.Addr, err)
	}
	if _, err := w.Write(m.message(n)); err != nil {
		return fmt.Errorf("mail %s: write: %w", m.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail %s: end of data: %w", m.Addr, err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("mail %s: quit: %w", m.Addr, err)
	}
	return nil
}

func (m *Mail) message(n Notice) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", m.From)
	hdr("To", strings.Join(m.To, ", "))
	hdr("Subject", mime.BEncoding.Encode("utf-8", Subject(n)))
	hdr("Date", n.At.Format(time.RFC1123Z))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	body := base64.StdEncoding.EncodeToString([]byte(Text(n, m.Location) + "\n"))
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
	return b.Bytes()
}
