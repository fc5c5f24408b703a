package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// enroll inserts agents into a real register file and returns their keys.
func enroll(t *testing.T, st *store.Store, ids ...string) map[string][]byte {
	t.Helper()
	keys := map[string][]byte{}
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		for _, id := range ids {
			k := make([]byte, 32)
			rand.Read(k)
			keys[id] = k
			if _, err := tx.Exec(`INSERT INTO agents(id, key, created_at) VALUES (?,?,?)`, id, k, store.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return keys
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func start(t *testing.T, st *store.Store, cfg broker.Config) *broker.Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	b, err := broker.Start(context.Background(), cfg, st, nil)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

type conn struct {
	c    paho.Client
	lost chan error
}

func dial(t *testing.T, url, clientID, user, pass string, tweak func(o *paho.ClientOptions)) (*conn, error) {
	t.Helper()
	cn := &conn{lost: make(chan error, 1)}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case cn.lost <- err:
			default:
			}
		})
	if tweak != nil {
		tweak(o)
	}
	cn.c = paho.NewClient(o)
	tok := cn.c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { cn.c.Disconnect(50) })
	return cn, nil
}

func pass(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// watcher is custodyd's side: the internal credential, subscribed to everything.
type watcher struct {
	mu   sync.Mutex
	msgs []string
}

func (w *watcher) topics() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func watch(t *testing.T, b *broker.Broker) *watcher {
	t.Helper()
	w := &watcher{}
	u, p := b.InternalCredentials()
	cn, err := dial(t, b.URL(), "custodyd-test", u, p, nil)
	if err != nil {
		t.Fatalf("internal client: %v", err)
	}
	tok := cn.c.Subscribe("custody/#", 1, func(_ paho.Client, m paho.Message) {
		w.mu.Lock()
		w.msgs = append(w.msgs, m.Topic()+" "+string(m.Payload()))
		w.mu.Unlock()
	})
	tok.Wait()
	if err := tok.Error(); err != nil {
		t.Fatalf("internal subscribe: %v", err)
	}
	return w
}

func TestAgentPublishesOnlyAsItself(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a", "agent-b")
	b := start(t, st, broker.Config{})
	w := watch(t, b)
	tp := wire.Topics{}

	a, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil)
	if err != nil {
		t.Fatalf("agent-a connect: got %v, want nil", err)
	}
	tok := a.c.Publish(tp.Obs("agent-a"), 1, false, "own")
	tok.Wait()
	if err := tok.Error(); err != nil {
		t.Fatalf("publish own obs: %v", err)
	}
	waitFor(t, func() bool { return len(w.topics()) == 1 }, "the internal client to receive agent-a's own observation")

	// Publishing as agent-b: mochi disconnects an MQTT 3.1.1 client that breaks the ACL with QoS 1.
	a.c.Publish(tp.Obs("agent-b"), 1, false, "forged")
	select {
	case <-a.lost:
	case <-time.After(5 * time.Second):
		t.Fatalf("agent-a was not disconnected after publishing as agent-b")
	}
	time.Sleep(200 * time.Millisecond)
	for _, m := range w.topics() {
		if strings.Contains(m, "forged") {
			t.Fatalf("forged message delivered: %q", m)
		}
	}
	if got := len(w.topics()); got != 1 {
		t.Errorf("messages seen by custodyd: got %d, want 1", got)
	}
}

func TestAgentPublishOutsideItsTree(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a")
	b := start(t, st, broker.Config{})
	w := watch(t, b)
	for _, topic := range []string{"custody/alerts", "custody/agents/agent-a/cmd", "other/x", "custody/agents/agent-a/obs/deeper"} {
		a, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		a.c.Publish(topic, 1, false, "x")
		select {
		case <-a.lost:
		case <-time.After(5 * time.Second):
			t.Fatalf("publish to %s: agent not disconnected", topic)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got := w.topics(); len(got) != 0 {
		t.Errorf("delivered: got %v, want nothing", got)
	}
}

func TestAgentReadsOnlyItsOwnCommands(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a", "agent-b")
	b := start(t, st, broker.Config{})
	got := make(chan string, 10)
	// One default handler: paho would otherwise route a message once per matching filter,
	// refused filters included.
	a, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), func(o *paho.ClientOptions) {
		o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m.Topic() })
	})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	for filter, want := range map[string]byte{
		"custody/agents/agent-a/cmd": 1,
		"custody/agents/agent-b/cmd": 0x80,
		"custody/agents/+/cmd":       0x80,
		"custody/#":                  0x80,
		"custody/agents/agent-b/obs": 0x80,
	} {
		tok := a.c.Subscribe(filter, 1, nil)
		tok.Wait()
		res := tok.(*paho.SubscribeToken).Result()[filter]
		if res != want {
			t.Errorf("subscribe %s: got code %#x, want %#x", filter, res, want)
		}
	}
	u, p := b.InternalCredentials()
	d, err := dial(t, b.URL(), "custodyd", u, p, nil)
	if err != nil {
		t.Fatalf("internal connect: %v", err)
	}
	d.c.Publish("custody/agents/agent-b/cmd", 1, false, "for b").Wait()
	d.c.Publish("custody/agents/agent-a/cmd", 1, false, "for a").Wait()
	select {
	case topic := <-got:
		if topic != "custody/agents/agent-a/cmd" {
			t.Fatalf("agent-a received %s, want only its own cmd", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("agent-a did not receive its own command")
	}
	select {
	case topic := <-got:
		t.Fatalf("agent-a also received %s", topic)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestLoginRefusals(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a", "agent-r")
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE agents SET revoked_at = ? WHERE id = 'agent-r'`, store.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b := start(t, st, broker.Config{})
	cases := []struct {
		name, client, user, pass string
		will                     string
	}{
		{"wrong password", "agent-a", "agent-a", pass(make([]byte, 32)), ""},
		{"no password", "agent-a", "agent-a", "", ""},
		{"unknown agent", "agent-x", "agent-x", pass(keys["agent-a"]), ""},
		{"revoked agent", "agent-r", "agent-r", pass(keys["agent-r"]), ""},
		{"client id of another", "custodyd", "agent-a", pass(keys["agent-a"]), ""},
		{"anonymous", "anon", "", "", ""},
		{"will on another agent", "agent-a", "agent-a", pass(keys["agent-a"]), "custody/agents/agent-b/availability"},
		{"internal user wrong password", "x", func() string { u, _ := b.InternalCredentials(); return u }(), "guess", ""},
	}
	for _, c := range cases {
		_, err := dial(t, b.URL(), c.client, c.user, c.pass, func(o *paho.ClientOptions) {
			if c.will != "" {
				o.SetBinaryWill(c.will, wire.Offline, 1, true)
			}
		})
		if err == nil {
			t.Errorf("%s: connected, want refused", c.name)
		}
	}
	// The right will is fine.
	if _, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), func(o *paho.ClientOptions) {
		o.SetBinaryWill(wire.Topics{}.Availability("agent-a"), wire.Offline, 1, true)
	}); err != nil {
		t.Errorf("own will: got %v, want connected", err)
	}
}

func TestRevocationDisconnectsAtOnce(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a")
	b := start(t, st, broker.Config{})
	a, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE agents SET revoked_at = ? WHERE id = 'agent-a'`, store.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b.DisconnectAgent("agent-a")
	select {
	case <-a.lost:
	case <-time.After(5 * time.Second):
		t.Fatalf("revoked agent still connected after DisconnectAgent")
	}
	if _, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil); err == nil {
		t.Fatalf("revoked agent reconnected, want refused")
	}
	b.DisconnectAgent("nobody") // unknown ids are harmless
}

func TestPortInUseSaysWhatToDo(t *testing.T) {
	st := openStore(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = broker.Start(context.Background(), broker.Config{Listen: l.Addr().String()}, st, nil)
	if err == nil {
		t.Fatalf("start on a used port: got nil, want an error")
	}
	for _, want := range []string{l.Addr().String(), "already uses that port", "listen"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to contain %q", err, want)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	st := openStore(t)
	b, err := broker.Start(context.Background(), broker.Config{Listen: "127.0.0.1:0"}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	b.DisconnectAgent("x")
	if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("listener still accepting after Close")
	}
}

func TestTLSWithClientCertificates(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a", "agent-b")
	ca, caKey := newCA(t)
	serverCert := leaf(t, ca, caKey, "127.0.0.1", true)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	b := start(t, st, broker.Config{TLS: &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}})
	if !strings.HasPrefix(b.URL(), "ssl://") {
		t.Fatalf("url: got %s, want ssl://", b.URL())
	}
	withCert := func(cn string) func(o *paho.ClientOptions) {
		c := leaf(t, ca, caKey, cn, false)
		return func(o *paho.ClientOptions) {
			o.SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{c}, ServerName: "127.0.0.1"})
		}
	}
	if _, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), withCert("agent-a")); err != nil {
		t.Fatalf("agent-a with its own certificate: got %v, want connected", err)
	}
	if _, err := dial(t, b.URL(), "agent-b", "agent-b", pass(keys["agent-b"]), withCert("agent-a")); err == nil {
		t.Errorf("agent-b with agent-a's certificate: connected, want refused")
	}
	if _, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), func(o *paho.ClientOptions) {
		o.SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	}); err == nil {
		t.Errorf("agent-a without a certificate: connected, want refused")
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custody test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, server bool) tls.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(cn)}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The monitor account reads custodyd's announcements and nothing else: it cannot subscribe to
// the agents' traffic, what it publishes goes nowhere, and it exists only when enabled.
func TestMonitorReadsOnlyAnnouncements(t *testing.T) {
	st := openStore(t)
	enroll(t, st, "agent-a")
	off := start(t, st, broker.Config{})
	if _, err := dial(t, off.URL(), broker.MonitorUser, broker.MonitorUser, "", nil); err == nil {
		t.Errorf("monitor connected to a broker without monitor_password")
	}

	b := start(t, st, broker.Config{MonitorPassword: "watch-it"})
	w := watch(t, b)
	for _, c := range []struct{ name, client, pass string }{
		{"wrong password", broker.MonitorUser, "guess"},
		{"client id of an agent", "agent-a", "watch-it"},
	} {
		if _, err := dial(t, b.URL(), c.client, broker.MonitorUser, c.pass, nil); err == nil {
			t.Errorf("%s: connected, want refused", c.name)
		}
	}
	got := make(chan string, 10)
	m, err := dial(t, b.URL(), broker.MonitorUser+"-board", broker.MonitorUser, "watch-it", func(o *paho.ClientOptions) {
		o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m.Topic() })
	})
	if err != nil {
		t.Fatalf("monitor connect: %v", err)
	}
	for filter, want := range map[string]byte{
		"custody/alerts":             1,
		"custody/summary":            1,
		"custody/#":                  0x80,
		"custody/agents/+/obs":       0x80,
		"custody/agents/agent-a/cmd": 0x80,
	} {
		tok := m.c.Subscribe(filter, 1, nil)
		tok.Wait()
		if res := tok.(*paho.SubscribeToken).Result()[filter]; res != want {
			t.Errorf("subscribe %s: got code %#x, want %#x", filter, res, want)
		}
	}
	u, p := b.InternalCredentials()
	d, err := dial(t, b.URL(), "custodyd", u, p, nil)
	if err != nil {
		t.Fatalf("internal connect: %v", err)
	}
	d.c.Publish("custody/agents/agent-a/cmd", 1, false, "cmd").Wait()
	d.c.Publish("custody/alerts", 1, false, "alert").Wait()
	d.c.Publish("custody/summary", 1, false, "summary").Wait()
	var heard []string
	for len(heard) < 2 {
		select {
		case topic := <-got:
			heard = append(heard, topic)
		case <-time.After(5 * time.Second):
			t.Fatalf("monitor heard only %v", heard)
		}
	}
	select {
	case topic := <-got:
		heard = append(heard, topic)
	case <-time.After(200 * time.Millisecond):
	}
	if fmt.Sprint(heard) != "[custody/alerts custody/summary]" {
		t.Errorf("monitor heard %v, want the alert and the summary only", heard)
	}
	m.c.Publish("custody/alerts", 1, false, "forged").WaitTimeout(time.Second)
	d.c.Publish("custody/summary", 1, false, "after").Wait() // custodyd's side has heard the forged one by now, had it passed
	time.Sleep(100 * time.Millisecond)
	for _, msg := range w.topics() {
		if msg == "custody/alerts forged" {
			t.Errorf("the monitor's publish reached custodyd's side")
		}
	}
}
