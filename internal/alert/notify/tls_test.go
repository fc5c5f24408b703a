package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// tlsSession is a go-smtp session that insists on STARTTLS and PLAIN authentication, as a
// production relay does.
type tlsSession struct {
	conn   *smtp.Conn
	mu     *sync.Mutex
	authed bool
	got    *[]string
	tlsOn  *bool
}

func (s *tlsSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "custody" || pass != "relay-pass" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *tlsSession) Reset()        {}
func (s *tlsSession) Logout() error { return nil }
func (s *tlsSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	_, isTLS := s.conn.TLSConnectionState()
	s.mu.Lock()
	*s.got = append(*s.got, string(b))
	*s.tlsOn = isTLS
	s.mu.Unlock()
	return nil
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

// TestMailOverSTARTTLSWithAuth sends through a real SMTP server (emersion/go-smtp) that offers
// STARTTLS and requires authentication: the mailer upgrades, authenticates and delivers.
func TestMailOverSTARTTLSWithAuth(t *testing.T) {
	cert, pool := selfSigned(t)
	var mu sync.Mutex
	var got []string
	var tlsOn bool
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &tlsSession{conn: c, mu: &mu, got: &got, tlsOn: &tlsOn}, nil
	}))
	s.Domain = "relay.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	defer func() { s.Close(); <-done }()

	m := &Mail{Addr: l.Addr().String(), From: "custody@unit.test", To: []string{"leaders@unit.test"}, Username: "custody", Password: "relay-pass", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	if err := m.Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !tlsOn {
		t.Fatalf("got %d mails (TLS %v), want one over TLS", len(got), tlsOn)
	}
	if !strings.Contains(got[0], "Subject: =?utf-8?") || !strings.Contains(got[0], "Content-Transfer-Encoding: base64") {
		t.Errorf("got mail\n%s\nwant an encoded subject and a base64 body", got[0])
	}
	bad := *m
	bad.Password = "wrong"
	if err := bad.Send(context.Background(), sample); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("got %v with a wrong password, want an auth error", err)
	}
}
