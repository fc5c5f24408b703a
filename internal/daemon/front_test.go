package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startCfg runs custodyd with cfg (data dir, ports set by the caller's edit) and its log in buf.
func startCfg(t *testing.T, edit func(*Config)) (string, *syncBuf) {
	t.Helper()
	addr, logs, _ := startCfgStop(t, edit)
	return addr, logs
}

// startCfgStop is startCfg with a stop function (safe to call twice).
func startCfgStop(t *testing.T, edit func(*Config)) (string, *syncBuf, func()) {
	t.Helper()
	cfg := Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen, cfg.MQTT.Listen = "127.0.0.1:0", "127.0.0.1:0"
	edit(&cfg)
	logs := &syncBuf{}
	d := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), &syncBuf{}, func(string) string { return "" })
	ready := make(chan string, 1)
	d.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-errc }) }
	t.Cleanup(stop)
	select {
	case addr := <-ready:
		return addr, logs, stop
	case err := <-errc:
		t.Fatalf("custodyd did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("custodyd did not start within 30 s")
	}
	return "", nil, nil
}

func httpsCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custody.test"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Native HTTPS: the console and API answer over TLS with HSTS and Secure cookies; plain HTTP on
// that port gets nothing.
func TestNativeTLS(t *testing.T) {
	certFile, keyFile, pool := httpsCert(t)
	addr, _ := startCfg(t, func(c *Config) { c.HTTP.TLSCert, c.HTTP.TLSKey = certFile, keyFile })
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("https healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	resp, err = cl.PostForm("https://"+addr+"/lang", url.Values{"lang": {"en"}, "back": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("cookie over native TLS lacks Secure: %q", sc)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS port answered 200: %s", b)
		}
	}
}

// Behind nginx: X-Forwarded-Proto and -For are believed from a trusted proxy only.
func TestTrustedProxies(t *testing.T) {
	addr, logs := startCfg(t, func(c *Config) { c.HTTP.TrustedProxies = []string{"127.0.0.1"} })
	post := func(base string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+base+"/lang", strings.NewReader("lang=en&back=/"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(addr, map[string]string{"X-Forwarded-Proto": "https"})
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("via a trusted proxy over https: cookie %q, HSTS %q; want Secure and HSTS", resp.Header.Get("Set-Cookie"), resp.Header.Get("Strict-Transport-Security"))
	}
	if resp := post(addr, nil); strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Error("plain request through the proxy got a Secure cookie")
	}
	// The client's address in the log of a failed login: the address before the proxy.
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/login", strings.NewReader(`{"username":"nobody","password":"wrong-password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "198.51.100.7, 203.0.113.9")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "remote=203.0.113.9") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "remote=203.0.113.9") {
		t.Errorf("login failure not logged with the client's address 203.0.113.9 (the proxy's nearest untrusted hop):\n%s", logs)
	}

	// Without trusted proxies the same headers are ignored.
	addr2, _ := startCfg(t, func(c *Config) {})
	if resp := post(addr2, map[string]string{"X-Forwarded-Proto": "https"}); strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("X-Forwarded-Proto believed from an untrusted client")
	}
}

func TestMetricsGuarded(t *testing.T) {
	get := func(u, token string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tokenFile := filepath.Join(t.TempDir(), "metrics_token")
	os.WriteFile(tokenFile, []byte("s3cret-metrics-token\n"), 0o600)
	addr, _ := startCfg(t, func(c *Config) { c.HTTP.MetricsTokenFile = tokenFile })
	if code, _ := get("http://"+addr+"/metrics", ""); code != 401 {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code, _ := get("http://"+addr+"/metrics", "wrong"); code != 401 {
		t.Errorf("/metrics with a wrong token: %d, want 401", code)
	}
	if code, body := get("http://"+addr+"/metrics", "s3cret-metrics-token"); code != 200 || !strings.Contains(body, "custody_build_info") {
		t.Errorf("/metrics with the token (from metrics_token_file): %d", code)
	}

	ml := freePort(t)
	addr, _ = startCfg(t, func(c *Config) { c.HTTP.MetricsListen = ml })
	if code, _ := get("http://"+addr+"/metrics", ""); code != 404 {
		t.Errorf("/metrics on the console's port with metrics_listen set: %d, want 404", code)
	}
	if code, body := get("http://"+ml+"/metrics", ""); code != 200 || !strings.Contains(body, "custody_build_info") {
		t.Errorf("/metrics on metrics_listen: %d", code)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	for text, want := range map[string]string{
		"[http]\ntls_cert = \"/nonexistent.pem\"\n":                            "http.tls_cert, http.tls_key: set both or neither",
		"[http]\ntls_cert = \"/nonexistent.pem\"\ntls_key = \"/nope.pem\"\n":   "http.tls_cert, http.tls_key",
		"[http]\ntrusted_proxies = [\"nginx.local\"]\n":                        "http.trusted_proxies: \"nginx.local\"",
		"[http]\nmetrics_listen = \"9464\"\n":                                  "http.metrics_listen",
		"[http]\nmetrics_token = \"a\"\nmetrics_token_file = \"/etc/hosts\"\n": "set one, not both",
	} {
		if _, err := loadText(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}
