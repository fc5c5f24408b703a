package ingest_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/testenv"
	"github.com/custodyhq/custody/internal/wire"
)

// productionConfig rewrites deploy/mosquitto/custody.conf for a private broker: only addresses
// and file paths change (the keys listed in paths); TLS, ACL, client-id and queue settings stay as
// shipped. A key missing from the shipped file fails the test, so the file cannot lose TLS or its
// ACL unnoticed.
func productionConfig(t testing.TB, paths map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mosquitto", "custody.conf"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if v, ok := paths[key]; ok && !strings.HasPrefix(line, "#") {
			line = key + " " + v
			seen[key] = true
		}
		out = append(out, line)
	}
	for k := range paths {
		if !seen[k] {
			t.Fatalf("deploy/mosquitto/custody.conf has no %q line", k)
		}
	}
	if os.Geteuid() == 0 {
		out = append(out, "user root") // keep the files in t.TempDir readable
	}
	return strings.Join(out, "\n") + "\n"
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// testPKI writes a CA and a server certificate for 127.0.0.1 and returns the CA pool.
func testPKI(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custody test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(k)
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER)
	writePEM(t, filepath.Join(dir, "server.crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// productionMosquitto runs the real mosquitto with deploy/mosquitto's configuration and ACL until
// the test ends: TLS with a test CA (its file in env.ca), passwords made by mosquitto_passwd for
// custodyd (env.user and env.pass) and for accounts, and extraACL appended to the ACL file.
func productionMosquitto(t testing.TB, accounts map[string]string, extraACL string) *env {
	t.Helper()
	bin, passwd := testenv.Mosquitto(t)
	dir := t.TempDir()
	pool := testPKI(t, dir)
	custodydPass := randHex(16)
	pwFile := filepath.Join(dir, "custody.passwd")
	all := map[string]string{"custodyd": custodydPass}
	for u, pw := range accounts {
		all[u] = pw
	}
	testenv.MosquittoPasswords(t, passwd, pwFile, all)
	acl, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mosquitto", "custody.acl"))
	if err != nil {
		t.Fatal(err)
	}
	aclFile := filepath.Join(dir, "custody.acl")
	if err := os.WriteFile(aclFile, append(acl, "\n"+extraACL...), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := productionConfig(t, map[string]string{
		"listener":             fmt.Sprintf("%d 127.0.0.1", port),
		"cafile":               filepath.Join(dir, "ca.crt"),
		"certfile":             filepath.Join(dir, "server.crt"),
		"keyfile":              filepath.Join(dir, "server.key"),
		"password_file":        pwFile,
		"acl_file":             aclFile,
		"persistence_location": dir + "/",
		"log_dest":             "file " + filepath.Join(dir, "mosquitto.log"),
	})
	confFile := filepath.Join(dir, "custody.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "mosquitto.log"))
			t.Logf("mosquitto stderr:\n%s\nmosquitto log:\n%s", stderr.String(), log)
		}
	})
	waitFor(t, 10*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("mosquitto exited: %s", stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "mosquitto to listen")
	return &env{url: fmt.Sprintf("ssl://127.0.0.1:%d", port), user: "custodyd", pass: custodydPass, base: wire.DefaultBase, auth: true,
		tls: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, ca: filepath.Join(dir, "ca.crt")}
}

// TestMosquittoProductionConfig runs the real mosquitto with deploy/mosquitto's configuration and
// ACL (TLS, passwords made by mosquitto_passwd) and proves: custodyd's ingest works through it, an
// agent cannot publish as another agent nor read another's commands, it cannot take over
// custodyd's session with custodyd's client id, and custodyd's alerts and summary reach the
// read-only monitor account over ingest's one connection.
func TestMosquittoProductionConfig(t *testing.T) {
	st := openStore(t, "")
	keyA := enroll(t, st, "agent-a")
	keyB := enroll(t, st, "agent-b")
	monitorPass := randHex(16)
	e := productionMosquitto(t, map[string]string{"agent-a": base64.StdEncoding.EncodeToString(keyA),
		"agent-b": base64.StdEncoding.EncodeToString(keyB), "custody-monitor": monitorPass}, "")
	tlsCfg := e.tls
	r := startIngest(t, e, st, func(_ *ingest.Config, m *mqttconn.Config) { m.ClientID = "custodyd" })
	a := newAgent(t, e, "agent-a", keyA)

	a.publish(wire.KindDoor, door(1), true)
	waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-a") == 1 }, "agent-a's own observation to be stored")

	// agent-a publishes, signed with its own key, on agent-b's topic: Mosquitto's ACL drops it.
	// Had it arrived, ingest would count it as agent_mismatch; messages of one client arrive in
	// order, so once the next one is stored the forged one would have been seen.
	forged, _ := wire.Seal(wire.DirObs, keyA, "agent-a", "b", 99, "forged-1", time.Now(), wire.KindDoor, door(2))
	p, _ := forged.Marshal()
	tok := a.c.Publish(wire.Topics{}.Obs("agent-b"), 1, false, p)
	tok.WaitTimeout(5 * time.Second)
	a.publish(wire.KindDoor, door(3), true)
	waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-a") == 2 }, "agent-a's next observation")
	if got := dropped(r, "agent_mismatch"); got != 0 {
		t.Errorf("the forged message reached ingest (agent_mismatch %v): the broker ACL let it through", got)
	}
	if n := doors(t, st, "agent-b"); n != 0 {
		t.Errorf("rows for agent-b: got %d, want 0", n)
	}

	// agent-a may not read agent-b's commands. (Mosquitto 2.0 grants the subscription of an
	// MQTT 3.1.1 client and filters on delivery, so the proof is that nothing arrives.)
	spied := make(chan string, 4)
	a.c.Subscribe(wire.Topics{}.Cmd("agent-b"), 1, func(_ paho.Client, m paho.Message) { spied <- m.Topic() }).WaitTimeout(5 * time.Second)
	if _, err := r.conn.Send(context.Background(), "agent-b", wire.KindLock, wire.Lock{Cabinet: "C-1"}); err != nil {
		t.Fatalf("send to agent-b: %v", err)
	}
	if _, err := r.conn.Send(context.Background(), "agent-a", wire.KindLock, wire.Lock{Cabinet: "C-2"}); err != nil {
		t.Fatalf("send to agent-a: %v", err)
	}
	select {
	case cmd := <-a.other:
		if cmd.Agent != "agent-a" {
			t.Errorf("agent-a received a command for %s", cmd.Agent)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("agent-a did not receive its own command")
	}
	select {
	case topic := <-spied:
		t.Errorf("agent-a read %s", topic)
	case <-time.After(300 * time.Millisecond):
	}

	// Wrong password: refused.
	bad := paho.NewClient(paho.NewClientOptions().AddBroker(e.url).SetTLSConfig(tlsCfg).SetClientID("agent-b").
		SetUsername("agent-b").SetPassword(base64.StdEncoding.EncodeToString(keyA)).SetConnectTimeout(5 * time.Second))
	if tok := bad.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		bad.Disconnect(0)
		t.Errorf("agent-b with agent-a's key: connected, want refused")
	}

	// agent-a connecting with custodyd's client id gets its own user name as client id instead.
	thief := paho.NewClient(paho.NewClientOptions().AddBroker(e.url).SetTLSConfig(tlsCfg).SetClientID("custodyd").
		SetUsername("agent-a").SetPassword(base64.StdEncoding.EncodeToString(keyA)).SetCleanSession(false).SetAutoReconnect(false))
	if tok := thief.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		defer thief.Disconnect(0)
	}
	time.Sleep(300 * time.Millisecond)
	if contains(r.logs.String(), "mqtt connection lost") {
		t.Errorf("custodyd lost its connection when an agent connected with its client id")
	}
	a.publish(wire.KindDoor, door(4), true)
	waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-a") == 3 }, "custodyd to keep receiving")

	// The monitor hears custodyd's alert and summary; agent-a, subscribed too, hears neither.
	heard := make(chan string, 4)
	monitor := paho.NewClient(paho.NewClientOptions().AddBroker(e.url).SetTLSConfig(tlsCfg).SetClientID("custody-monitor").
		SetUsername("custody-monitor").SetPassword(monitorPass))
	if tok := monitor.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("monitor connect: %v", tok.Error())
	}
	defer monitor.Disconnect(0)
	for _, c := range []paho.Client{monitor, a.c} {
		who := map[paho.Client]string{monitor: "monitor", a.c: "agent-a"}[c]
		c.SubscribeMultiple(map[string]byte{"custody/alerts": 1, "custody/summary": 1}, func(_ paho.Client, m paho.Message) {
			heard <- who + " " + m.Topic()
		}).WaitTimeout(5 * time.Second)
	}
	for _, topic := range []string{"custody/alerts", "custody/summary"} {
		if err := r.conn.Publish(context.Background(), topic, []byte(`{"id":"A-1"}`)); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	var got []string
	for len(got) < 2 {
		select {
		case h := <-heard:
			got = append(got, h)
		case <-time.After(5 * time.Second):
			t.Fatalf("heard only %v", got)
		}
	}
	select {
	case h := <-heard:
		got = append(got, h)
	case <-time.After(300 * time.Millisecond):
	}
	slices.Sort(got)
	if want := []string{"monitor custody/alerts", "monitor custody/summary"}; !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
	if contains(r.logs.String(), "mqtt connection lost") {
		t.Errorf("custodyd's connection was lost while it published")
	}
}
