package daemon

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
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/wire"
)

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func call(t *testing.T, addr, token, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// startDaemon runs custodyd with cfg (admin password "admin-password-1") until the test ends and
// returns its HTTP address.
func startDaemon(t *testing.T, cfg Config) string {
	t.Helper()
	d := New(cfg, slog.New(slog.DiscardHandler), &syncBuf{}, func(k string) string {
		if k == "CUSTODY_ADMIN_PASSWORD" {
			return "admin-password-1"
		}
		return ""
	})
	ready := make(chan string, 1)
	d.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("stop: %v", err)
			}
		})
		return addr
	case err := <-errc:
		cancel()
		t.Fatal(err)
		return ""
	}
}

// startSite runs custodyd on a fresh data directory with the embedded broker on a free port;
// tweak may change the configuration first.
func startSite(t *testing.T, tweak func(*Config)) (dir, mqttAddr, httpAddr string) {
	t.Helper()
	dir, mqttAddr = t.TempDir(), freePort(t)
	cfg := Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", mqttAddr
	if tweak != nil {
		tweak(&cfg)
	}
	return dir, mqttAddr, startDaemon(t, cfg)
}

type token struct{ Token string }

type enrollment struct{ Key string }

// enrollAgent logs in as the bootstrap admin and enrolls agent id; Key is its MQTT password.
func enrollAgent(t *testing.T, addr, id string) (token, enrollment) {
	t.Helper()
	var login token
	call(t, addr, "", "POST", "/api/v1/login", `{"username":"admin","password":"admin-password-1"}`, &login)
	var enrolled enrollment
	if code := call(t, addr, login.Token, "POST", "/api/v1/agents", `{"id":"`+id+`"}`, &enrolled); code != 201 {
		t.Fatalf("enroll %s: %d", id, code)
	}
	return login, enrolled
}

// bindCabinet registers cabinet code watched by agent: an agent speaks only for its own cabinets.
func bindCabinet(t *testing.T, addr string, login token, code, agent string) {
	t.Helper()
	// A cabinet belongs to a unit; the administrator names it (201 the first time, 409 after).
	if c := call(t, addr, login.Token, "POST", "/api/v1/units", `{"code":"BGS","name":"办公室"}`, nil); c != 201 && c != 409 {
		t.Fatalf("add unit BGS: %d", c)
	}
	if c := call(t, addr, login.Token, "POST", "/api/v1/cabinets", `{"code":"`+code+`","name":"柜","unit":"BGS","agent":"`+agent+`"}`, nil); c != 201 {
		t.Fatalf("add cabinet %s for %s: %d", code, agent, c)
	}
}

// counter opens the site's database read-only; the function it returns runs a count query.
func counter(t *testing.T, dir string) func(q string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "custody.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return func(q string) int {
		var n int
		db.QueryRow(q).Scan(&n)
		return n
	}
}

// waitCount waits up to d for the count query q to find a row; fail says what is missing.
func waitCount(t *testing.T, count func(string) int, q string, d time.Duration, fail func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for count(q) == 0 {
		if time.Now().After(deadline) {
			t.Fatal(fail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// custodyd alone is a working installation: an agent enrolled through the API logs in to the
// embedded broker with its key, its signed observation is stored exactly once even when it is
// delivered three times, and a revocation throws it off the broker at once.
func TestEmbeddedBrokerAndIngest(t *testing.T) {
	dir, mqttAddr, addr := startSite(t, nil)

	login, enrolled := enrollAgent(t, addr, "room-301")
	key, _ := base64.StdEncoding.DecodeString(enrolled.Key)
	bindCabinet(t, addr, login, "C-01", "room-301")

	lost := make(chan error, 1)
	agent := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-301").
		SetUsername("room-301").SetPassword(enrolled.Key).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err }))
	if tok := agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login to the embedded broker: %v", tok.Error())
	}
	env, err := wire.Seal(wire.DirObs, key, "room-301", "boot-1", 1, "obs-1", time.Now(), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := env.Marshal()
	topic := wire.Topics{}.Obs("room-301")
	for range 3 { // QoS 1 may deliver again; custodyd must apply it once
		if tok := agent.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	count := counter(t, dir)
	const stored = `SELECT count(*) FROM observations WHERE agent = 'room-301'`
	waitCount(t, count, stored, 10*time.Second, func() string { return "the observation was not stored within 10 s" })
	time.Sleep(300 * time.Millisecond) // let the two duplicates arrive too
	if n := count(stored); n != 1 {
		t.Fatalf("got %d stored observations, want exactly 1", n)
	}

	if code := call(t, addr, login.Token, "POST", "/api/v1/agents/room-301/revoke", "", nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked agent is still connected 5 s later")
	}
	again := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-301").
		SetUsername("room-301").SetPassword(enrolled.Key).SetAutoReconnect(false))
	if tok := again.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		again.Disconnect(0)
		t.Fatal("a revoked agent logged in again")
	}
}

// An agent that goes away becomes an agent_offline alert once offline_grace has passed, and the
// alert is announced on the broker through custodyd's MQTT connection (published catches up with
// version). This is the wiring: ingest hears the availability, the checker and the schedule turn
// it into the alert, the escalator publishes it.
func TestAgentOfflineBecomesAnAlert(t *testing.T) {
	dir, mqttAddr, addr := startSite(t, func(c *Config) { c.Inventory.OfflineGrace = Duration{Duration: 2 * time.Second} })
	_, enrolled := enrollAgent(t, addr, "room-302")
	topics := wire.Topics{}
	agent := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://"+mqttAddr).SetClientID("room-302").
		SetUsername("room-302").SetPassword(enrolled.Key).SetAutoReconnect(false).
		SetBinaryWill(topics.Availability("room-302"), wire.Offline, 1, true))
	if tok := agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login: %v", tok.Error())
	}
	agent.Publish(topics.Availability("room-302"), 1, true, wire.Online).WaitTimeout(5 * time.Second)

	count := counter(t, dir)
	const offline = `SELECT count(*) FROM alerts WHERE kind = 'agent_offline' AND agent = 'room-302'`
	time.Sleep(3 * time.Second) // longer than the grace: an agent that is online raises nothing
	if n := count(offline); n != 0 {
		t.Fatalf("agent_offline for an agent that is online: %d", n)
	}

	// The agent stops the way custody-agent does: offline, retained, then it goes.
	agent.Publish(topics.Availability("room-302"), 1, true, wire.Offline).WaitTimeout(5 * time.Second)
	agent.Disconnect(50)
	waitCount(t, count, offline+` AND published = version`, 15*time.Second, func() string {
		return fmt.Sprintf("no published agent_offline alert 15 s after the agent went (alerts: %d)", count(offline))
	})
}

// With [mqtt] tls_cert and tls_key the embedded broker speaks only TLS: an agent that trusts the
// certificate logs in and its observation is stored (so custodyd's own client got through its
// pin too), and a plain-TCP client gets nowhere.
func TestEmbeddedBrokerOverTLS(t *testing.T) {
	certs := t.TempDir()
	pool := selfSigned(t, certs, "custody-broker")
	dir, mqttAddr, addr := startSite(t, func(c *Config) {
		c.MQTT.TLSCert, c.MQTT.TLSKey = filepath.Join(certs, "broker.crt"), filepath.Join(certs, "broker.key")
	})

	login, enrolled := enrollAgent(t, addr, "room-303")
	key, _ := base64.StdEncoding.DecodeString(enrolled.Key)
	bindCabinet(t, addr, login, "C-01", "room-303")

	plain := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-303").
		SetUsername("room-303").SetPassword(enrolled.Key).SetAutoReconnect(false).SetConnectTimeout(2 * time.Second))
	if tok := plain.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		plain.Disconnect(0)
		t.Fatal("a plain-TCP client logged in to the TLS listener")
	}
	agent := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("ssl://" + mqttAddr).SetClientID("room-303").
		SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: "custody-broker"}).
		SetUsername("room-303").SetPassword(enrolled.Key).SetAutoReconnect(false))
	if tok := agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login over TLS: %v", tok.Error())
	}
	defer agent.Disconnect(50)
	env, _ := wire.Seal(wire.DirObs, key, "room-303", "boot-1", 1, "obs-1", time.Now(), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open"})
	payload, _ := env.Marshal()
	if tok := agent.Publish(wire.Topics{}.Obs("room-303"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitCount(t, counter(t, dir), `SELECT count(*) FROM observations WHERE agent = 'room-303'`, 10*time.Second, func() string {
		return "the observation sent over TLS was not stored: custodyd's own client did not get in"
	})
}

// selfSigned writes broker.crt and broker.key (a self-signed certificate for name) into dir.
func selfSigned(t *testing.T, dir, name string) *x509.CertPool {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "broker.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broker.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// custodyd's wiring of rule 12: an enrolled agent publishing a signed door opening for a cabinet
// bound to another agent is refused, nothing of it is stored, and the refusal becomes an audit
// record and an open critical not_bound alert about the forger.
func TestForgedObservationBecomesASecurityAlert(t *testing.T) {
	dir, mqttAddr, addr := startSite(t, nil)
	login, _ := enrollAgent(t, addr, "room-301")
	_, forger := enrollAgent(t, addr, "room-309")
	bindCabinet(t, addr, login, "C-01", "room-301")
	key, _ := base64.StdEncoding.DecodeString(forger.Key)

	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-309").
		SetUsername("room-309").SetPassword(forger.Key).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login: %v", tok.Error())
	}
	defer c.Disconnect(50)
	env, _ := wire.Seal(wire.DirObs, key, "room-309", "boot-1", 1, "obs-forged-1", time.Now(), wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open"})
	payload, _ := env.Marshal()
	if tok := c.Publish(wire.Topics{}.Obs("room-309"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	count := counter(t, dir)
	waitCount(t, count, `SELECT count(*) FROM alerts WHERE kind = 'not_bound' AND agent = 'room-309' AND severity = 'critical' AND state = 'open'`, 10*time.Second,
		func() string { return "no open critical not_bound alert about room-309 within 10 s" })
	if n := count(`SELECT count(*) FROM audit WHERE action = 'observation.refuse' AND subject = 'agent:room-309'`); n != 1 {
		t.Errorf("got %d observation.refuse audit records, want 1", n)
	}
	if n := count(`SELECT count(*) FROM observations WHERE agent = 'room-309' AND kind = 'door'`); n != 0 {
		t.Errorf("the forged door opening was stored (%d)", n)
	}
}

// A backup interrupted by a kill leaves its copy in backup-*/ of the data directory; custodyd
// removes it at its next start.
func TestInterruptedBackupIsRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, "backup-1234")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "custody.db"), []byte("a full copy of the register"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", freePort(t)
	startDaemon(t, cfg)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the interrupted backup is still in the data directory: %v", err)
	}
}
