package daemon

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/store"
)

// custodyd reset-admin: the way back from a lost administrator password, on the server, with
// custodyd stopped (refused while it runs); the new one-time password must be changed first, the audit
// chain records who did it, and only administrators can be reset this way.
func TestResetAdmin(t *testing.T) {
	var cfg Config
	addr, logs, stop := startCfgStop(t, func(c *Config) { cfg = *c })
	dir := cfg.DataDir
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	var out bytes.Buffer
	if err := ResetAdmin(context.Background(), cfg, "", &out); err == nil || !strings.Contains(err.Error(), "running custodyd") {
		t.Fatalf("reset-admin while custodyd runs: %v; want a refusal", err)
	}
	stop()
	if err := ResetAdmin(context.Background(), cfg, "nobody", &out); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("reset of an unknown account: %v", err)
	}
	if err := ResetAdmin(context.Background(), cfg, "", &out); err != nil {
		t.Fatal(err)
	}
	addr, logs = startCfg(t, func(c *Config) { c.DataDir = dir })
	m := regexp.MustCompile(`一次性密码[^\n]*\n[^\n]*\n\s*\n\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no one-time password printed:\n%s", out.String())
	}
	loginStatus := func(pw string) (int, bool) {
		b, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
		resp, err := http.Post("http://"+addr+"/api/v1/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var lr struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&lr)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp.StatusCode, false
		}
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+lr.Token)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var me struct{ MustChangePassword bool }
		json.NewDecoder(resp.Body).Decode(&me)
		return 200, me.MustChangePassword
	}
	if code, must := loginStatus(m[1]); code != 200 || !must {
		t.Errorf("login with the one-time password: %d, must change %v; want 200 and a required change", code, must)
	}

	db := filepath.Join(dir, "custody.db")
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var actor string
	if err := raw.QueryRow(`SELECT actor FROM audit WHERE action = 'person.reset_password'`).Scan(&actor); err != nil || !strings.HasPrefix(actor, "local:") {
		t.Errorf("audit record of the reset: actor %q, %v; want local:<user>", actor, err)
	}
	st, err := store.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after the reset: %v", err)
	}
	st.Close()
}
