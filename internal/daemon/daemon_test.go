package daemon

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs custodyd on a free port in dir and returns its address and a stop function that
// waits for Run to return.
func start(t *testing.T, dir string, env map[string]string) (string, *syncBuf, func() error) {
	t.Helper()
	cfg := Default()
	cfg.DataDir = dir
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.MQTT.Listen = "127.0.0.1:0" // tests run in parallel with others: never the default port
	out := &syncBuf{}
	d := New(cfg, slog.New(slog.DiscardHandler), out, func(k string) string { return env[k] })
	ready := make(chan string, 1)
	d.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	select {
	case addr := <-ready:
		return addr, out, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("custodyd did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("custodyd did not start within 30 s")
	}
	return "", nil, nil
}

func TestFirstStartPrintsOneTimePasswordOnce(t *testing.T) {
	dir := t.TempDir()
	addr, out, stop := start(t, dir, nil)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	m := regexp.MustCompile(`shown once\):\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("first start printed no one-time password:\n%s", out)
	}
	login := func(addr, pw string) int {
		resp, err := http.Post("http://"+addr+"/api/v1/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+pw+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	addr, out, stop = start(t, dir, nil)
	defer stop()
	if strings.Contains(out.String(), "one-time") {
		t.Errorf("second start printed a password again:\n%s", out)
	}
	if got := login(addr, m[1]); got != 200 {
		t.Errorf("login with the printed password: got %d, want 200", got)
	}
}

func TestAdminPasswordFromEnvironment(t *testing.T) {
	addr, out, stop := start(t, t.TempDir(), map[string]string{"CUSTODY_ADMIN_PASSWORD": "from-the-environment"})
	defer stop()
	if strings.Contains(out.String(), "from-the-environment") {
		t.Error("the password from the environment was printed")
	}
	resp, _ := http.Post("http://"+addr+"/api/v1/login", "application/json", strings.NewReader(`{"username":"admin","password":"from-the-environment"}`))
	if resp.StatusCode != 200 {
		t.Errorf("login: got %d, want 200", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestRefusesEditedHistory(t *testing.T) {
	dir := t.TempDir()
	_, _, stop := start(t, dir, map[string]string{"CUSTODY_ADMIN_PASSWORD": "from-the-environment"})
	stop()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "custody.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfg := Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", "127.0.0.1:0"
	err = New(cfg, slog.New(slog.DiscardHandler), &bytes.Buffer{}, func(string) string { return "" }).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("got %v, want a refusal naming record 1", err)
	}
}
