package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// relay is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that insists on authentication
// as a production relay does, and records what it received and whether it came over TLS.
type relay struct {
	Addr string
	Pool *x509.CertPool
	mu   sync.Mutex
	got  []string
	tls  []bool
	mech []string
}

type relayOpts struct {
	implicit bool     // TLS from the first byte (port 465); otherwise STARTTLS is advertised
	noTLS    bool     // neither: no STARTTLS, no TLS (and therefore no AUTH)
	mechs    []string // AUTH mechanisms offered; default PLAIN
}

func startRelay(t *testing.T, o relayOpts) *relay {
	t.Helper()
	r := &relay{}
	if o.mechs == nil {
		o.mechs = []string{sasl.Plain}
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &relaySession{r: r, conn: c, mechs: o.mechs, needAuth: !o.noTLS}, nil
	}))
	s.Domain = "relay.test"
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !o.noTLS {
		cert, pool := selfSigned(t)
		r.Pool = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.implicit {
			l = tls.NewListener(l, cfg)
		} else {
			s.TLSConfig = cfg
		}
	}
	r.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return r
}

func (r *relay) received() (mails []string, overTLS []bool, mechs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...), append([]bool(nil), r.tls...), append([]string(nil), r.mech...)
}

type relaySession struct {
	r        *relay
	conn     *smtp.Conn
	mechs    []string
	needAuth bool
	authed   bool
}

func (s *relaySession) AuthMechanisms() []string { return s.mechs }
func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != "custody" || pass != "relay-pass" {
			return errors.New("bad credentials")
		}
		s.authed = true
		s.r.mu.Lock()
		s.r.mech = append(s.r.mech, mech)
		s.r.mu.Unlock()
		return nil
	}
	if mech == "LOGIN" {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	if s.needAuth && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	_, isTLS := s.conn.TLSConnectionState()
	s.r.mu.Lock()
	s.r.got = append(s.r.got, string(b))
	s.r.tls = append(s.r.tls, isTLS)
	s.r.mu.Unlock()
	return nil
}

// loginServer is the LOGIN mechanism's server side (draft-murchison-sasl-login), which go-sasl
// no longer ships: "Username:", then "Password:".
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil {
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestMailDeliversOverTLS sends through a real relay that requires authentication, in both TLS
// modes and with both password mechanisms: the notice arrives over TLS, authenticated, with an
// encoded subject and a base64 body and no header beyond the notice's own.
func TestMailDeliversOverTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode TLSMode
		o    relayOpts
		mech string
	}{
		{"starttls/plain", TLSStartTLS, relayOpts{}, "PLAIN"},
		{"starttls/login", TLSStartTLS, relayOpts{mechs: []string{"LOGIN"}}, "LOGIN"},
		{"implicit/plain", TLSImplicit, relayOpts{implicit: true}, "PLAIN"},
		{"implicit/login", TLSImplicit, relayOpts{implicit: true, mechs: []string{"LOGIN"}}, "LOGIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRelay(t, tc.o)
			m := &Mail{Addr: r.Addr, Mode: tc.mode, From: "custody@unit.test", To: []string{"leaders@unit.test", "office@unit.test"}, Username: "custody", Password: "relay-pass",
				TLS: &tls.Config{RootCAs: r.Pool}}
			if err := m.Send(context.Background(), sample); err != nil {
				t.Fatal(err)
			}
			got, overTLS, mechs := r.received()
			if len(got) != 1 || !overTLS[0] || len(mechs) != 1 || mechs[0] != tc.mech {
				t.Fatalf("got %d mails (TLS %v, auth %v), want one over TLS after %s", len(got), overTLS, mechs, tc.mech)
			}
			parsed, err := mail.ReadMessage(strings.NewReader(got[0]))
			if err != nil {
				t.Fatal(err)
			}
			raw := parsed.Header.Get("Subject")
			subject, _ := new(mime.WordDecoder).DecodeHeader(raw)
			body, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, parsed.Body))
			if !strings.HasPrefix(strings.ToLower(raw), "=?utf-8?b?") || subject != Subject(sample) || parsed.Header.Get("Content-Transfer-Encoding") != "base64" || string(body) != wantText+"\n" {
				t.Errorf("got subject %q (%q) and body\n%s\nwant an encoded %q and the notice's text in base64", raw, subject, body, Subject(sample))
			}
			head, _, _ := strings.Cut(got[0], "\r\n\r\n")
			for _, line := range strings.Split(head, "\r\n") {
				if line == "" || line[0] == ' ' || line[0] == '\t' {
					continue
				}
				k, _, _ := strings.Cut(line, ":")
				switch k {
				case "Date", "MIME-Version", "Message-ID", "Subject", "From", "To", "Content-Transfer-Encoding", "Content-Type":
				default:
					t.Errorf("got header %q, want none beyond the notice's own", line)
				}
			}
			if !strings.Contains(head, "@unit.test>") || strings.Contains(head, "go-mail") {
				t.Errorf("got head\n%s\nwant a Message-ID on the sender's domain and no mailer name", head)
			}

			bad := *m
			bad.Password = "wrong"
			if err := bad.Send(context.Background(), sample); err == nil || !strings.Contains(err.Error(), "auth") {
				t.Errorf("got %v with a wrong password, want an auth error", err)
			}
		})
	}
}

// TestMailModeNone delivers in clear only when told to, to a relay that offers no TLS at all.
func TestMailModeNone(t *testing.T) {
	r := startRelay(t, relayOpts{noTLS: true})
	for _, m := range []*Mail{
		{Addr: r.Addr, Mode: TLSNone, From: "custody@unit.test", To: []string{"a@unit.test"}},
		{Addr: r.Addr, InsecureNoTLS: true, From: "custody@unit.test", To: []string{"a@unit.test"}},
	} {
		if err := m.Send(context.Background(), sample); err != nil {
			t.Fatal(err)
		}
	}
	if got, overTLS, _ := r.received(); len(got) != 2 || overTLS[0] || overTLS[1] {
		t.Fatalf("got %d mails (TLS %v), want two in clear", len(got), overTLS)
	}
}

// plainServer is an SMTP server without STARTTLS that serves one connection at a time and waits
// for each next command without a deadline, as a simple relay does. It reports each connection
// ended by the client. A client that gives up without closing its connection keeps it — and
// every later sender — waiting: that is how an earlier attempt at this mailer hung (go-mail
// v0.8.1 returns its STARTTLS refusal without closing the connection).
func plainServer(t *testing.T) (addr string, ended <-chan struct{}) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endc := make(chan struct{}, 8)
	done := make(chan struct{})
	var mu sync.Mutex
	var open net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = c
			mu.Unlock()
			func() {
				defer c.Close()
				tp := textproto.NewConn(c)
				tp.PrintfLine("220 plain.test ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						endc <- struct{}{}
						return
					}
					switch {
					case len(line) >= 4 && (line[:4] == "EHLO" || line[:4] == "HELO"):
						tp.PrintfLine("250-plain.test")
						tp.PrintfLine("250 8BITMIME")
					case len(line) >= 4 && line[:4] == "QUIT":
						tp.PrintfLine("221 bye")
						endc <- struct{}{}
						return
					default:
						tp.PrintfLine("502 not here")
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		if open != nil {
			open.Close() // so a failing test ends instead of hanging in its cleanup
		}
		mu.Unlock()
		<-done
	})
	return l.Addr().String(), endc
}

// TestMailRefusesAServerWithoutSTARTTLS: with tls = "starttls" a relay that offers no STARTTLS
// is refused at once with an error naming the setting, nothing is sent in clear, and the
// connection is closed so the relay is not left waiting.
func TestMailRefusesAServerWithoutSTARTTLS(t *testing.T) {
	addr, ended := plainServer(t)
	for _, m := range []*Mail{
		{Addr: addr, Mode: TLSStartTLS, From: "custody@unit.test", To: []string{"a@unit.test"}},
		{Addr: addr, From: "custody@unit.test", To: []string{"a@unit.test"}}, // the default on a port other than 465
	} {
		start := time.Now()
		err := m.Send(context.Background(), sample)
		if err == nil || !strings.Contains(err.Error(), "offers no STARTTLS") || !strings.Contains(err.Error(), `[alerts.mail] tls = "starttls"`) {
			t.Fatalf("got %v, want a refusal naming [alerts.mail] tls", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("refusal took %v, want it at once", d)
		}
		select {
		case <-ended:
		case <-time.After(2 * time.Second):
			t.Fatal("the relay still waits on the refused connection, want it closed")
		}
	}
	if err := (&Mail{}).Send(context.Background(), sample); err == nil {
		t.Error("got no error from an unconfigured mailer, want one")
	}
}

// TestMailWrongModeFailsFast: implicit TLS against a plain server fails at the handshake; STARTTLS
// against an implicit-TLS port (both sides wait for the other) ends at the step timeout with a
// hint to set tls = "implicit"; a cancelled context ends a delivery to a silent server at once.
func TestMailWrongModeFailsFast(t *testing.T) {
	addr, _ := plainServer(t)
	err := (&Mail{Addr: addr, Mode: TLSImplicit, From: "c@unit.test", To: []string{"a@unit.test"}}).Send(context.Background(), sample)
	if err == nil || !strings.Contains(err.Error(), `tls = "starttls"`) {
		t.Errorf("got %v, want an error saying the server does not speak TLS at once", err)
	}

	implicit := startRelay(t, relayOpts{implicit: true})
	start := time.Now()
	err = (&Mail{Addr: implicit.Addr, Mode: TLSStartTLS, From: "c@unit.test", To: []string{"a@unit.test"}, Timeout: 500 * time.Millisecond}).Send(context.Background(), sample)
	if err == nil || !strings.Contains(err.Error(), `tls = "implicit"`) {
		t.Errorf("got %v, want a hint to set tls = \"implicit\"", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v, want about the 0.5 s timeout", d)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := (&Mail{Addr: silent.Addr().String(), Mode: TLSStartTLS, From: "c@unit.test", To: []string{"a@unit.test"}}).Send(ctx, sample); err == nil {
		t.Error("got no error from a silent server, want one")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a cancelled delivery took %v, want it to end with its context", d)
	}
}

func TestParseTLSMode(t *testing.T) {
	for _, tc := range []struct{ in, addr, want string }{
		{"", "smtp.unit.test:465", "implicit"}, {"", "smtp.unit.test:587", "starttls"}, {"", "127.0.0.1:25", "starttls"},
		{"IMPLICIT", "x:587", "implicit"}, {"none", "127.0.0.1:25", "none"}, {"ssl", "x:465", ""},
	} {
		got, err := ParseTLSMode(tc.in, tc.addr)
		if string(got) != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("ParseTLSMode(%q, %q) = %q, %v; want %q", tc.in, tc.addr, got, err, tc.want)
		}
	}
}
