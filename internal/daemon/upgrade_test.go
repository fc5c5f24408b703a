package daemon

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/store"
)

// Each file in testdata/upgrade is a register written by an earlier custodyd
// (scripts/upgrade-fixture: people, an agent, a cabinet, documents with stored items, a
// recall). This custodyd must migrate it, start, keep every record, extend the same audit chain
// — and a custodyd older than the schema must refuse it, naming the build that wrote it.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/upgrade/*.db.gz")
	if len(fixtures) == 0 {
		t.Fatal("no fixture in testdata/upgrade (scripts/upgrade-fixture makes one)")
	}
	for _, fx := range fixtures {
		t.Run(filepath.Base(fx), func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "custody.db")
			gunzip(t, fx, db)
			before := count(t, db, "SELECT count(*) FROM audit")
			if before == 0 || count(t, db, "SELECT count(*) FROM items") != 5 {
				t.Fatalf("fixture %s: %d audit records, want some and 5 items", fx, before)
			}

			addr, _, stop := start(t, dir, nil)
			token := login(t, addr, "wang.fang", "wang.fang-fixture")
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/items", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var items []struct {
				State string `json:"state"`
			}
			json.NewDecoder(resp.Body).Decode(&items)
			resp.Body.Close()
			if len(items) != 5 || items[0].State != "in_cabinet" {
				t.Errorf("after the upgrade the custodian sees %+v, want the 5 stored items", items)
			}
			if err := stop(); err != nil {
				t.Fatalf("custodyd: %v", err)
			}

			st, err := store.Open(context.Background(), db, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := st.VerifyAudit(context.Background())
			st.Close()
			if err != nil {
				t.Fatalf("audit chain after the upgrade: %v", err)
			}
			if res.Records <= before {
				t.Errorf("audit chain has %d records after the upgrade and a login, had %d before", res.Records, before)
			}
			if n := count(t, db, "SELECT count(*) FROM schema_migrations WHERE name = '0080_schema_writer.sql' AND written_by != ''"); n != 1 {
				t.Errorf("migration 0080 not recorded with its writer")
			}

			// Rolled back to an older custodyd: the schema now has a migration it does not know.
			raw, err := sql.Open("sqlite3", db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO schema_migrations(version, name, applied_at, written_by) VALUES (9999, '9999_future.sql', '2027-06-01T00:00:00Z', '3.1.4')`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			cfg := Default()
			cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", "127.0.0.1:0"
			err = New(cfg, slog.New(slog.DiscardHandler), &bytes.Buffer{}, func(string) string { return "" }).Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), "9999_future.sql") || !strings.Contains(err.Error(), "custodyd 3.1.4") || !strings.Contains(err.Error(), "refusing to start") {
				t.Errorf("custodyd on a newer schema: %v; want a refusal naming the migration and custodyd 3.1.4", err)
			}
			if n := count(t, db, "SELECT count(*) FROM schema_migrations WHERE version = 9999"); n != 1 {
				t.Error("the refused start changed schema_migrations")
			}
		})
	}
}

func gunzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db, query string) int {
	t.Helper()
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func login(t *testing.T, addr, user, pass string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	resp, err := http.Post("http://"+addr+"/api/v1/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("login %s: status %d, %v", user, resp.StatusCode, err)
	}
	return out.Token
}
