package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// An encrypted backup under each profile: taken through custodyctl with a key file, written
// encrypted (no clear SQLite bytes in the file, no other file left beside it), restored into a
// custody.db whose audit chain verifies; a wrong key, or the other profile's key, is refused
// with the reason and writes nothing.
func TestEncryptedBackupRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, reg, _, admin := newRegister(t)
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"}); err != nil {
		t.Fatal(err)
	}
	addPeople(t, reg, admin, "BGS", struct {
		user, name string
		role       custody.Role
	}{"wang.fang", "王芳", custody.Custodian})
	tokens := map[string]string{}
	tokens["sec.admin"], _, _ = reg.Login(ctx, "sec.admin", "sec.admin-password", time.Hour)
	tokens["admin"], _, _ = reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	as := func(user string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": tokens[user]}[k]
		}}
		code := c.Run(ctx, args)
		return code, out.String(), errb.String()
	}
	if code, out, errs := as("sec.admin", "person", "grant", "admin", "--grant", "backup"); code != ExitOK {
		t.Fatalf("grant backup: %d %s%s", code, out, errs)
	}
	for _, profile := range []string{"standard", "sm"} {
		t.Run(profile, func(t *testing.T) {
			dir := t.TempDir()
			key, other, otherProfile := filepath.Join(dir, "backup.key"), filepath.Join(dir, "other.key"), filepath.Join(dir, "x.key")
			if code, out, errs := as("admin", "keys", "backup", "-profile", profile, "-o", key); code != ExitOK {
				t.Fatalf("keys backup: %d %s%s", code, out, errs)
			}
			as("admin", "keys", "backup", "-profile", profile, "-o", other)
			as("admin", "keys", "backup", "-profile", map[string]string{"sm": "standard", "standard": "sm"}[profile], "-o", otherProfile)
			if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
			}
			enc := filepath.Join(dir, "custody.bak")
			code, _, errs := as("admin", "backup", "-o", enc, "--encrypt", "--key", key)
			want := map[string]string{"sm": "sm4-gcm", "standard": "aes-256-gcm"}[profile]
			if code != ExitOK || !strings.Contains(errs, want) {
				t.Fatalf("backup --encrypt: exit %d %q, want %s", code, errs, want)
			}
			data, _ := os.ReadFile(enc)
			if len(data) < 4096 || bytes.Contains(data, []byte("SQLite format 3")) || bytes.Contains(data, []byte("办公室")) {
				t.Fatalf("the backup file (%d bytes) holds clear register bytes", len(data))
			}
			if names := dirNames(t, dir); len(names) != 4 {
				t.Fatalf("files beside the backup: got %v, want only the three keys and the backup", names)
			}

			restored := filepath.Join(dir, "custody.db")
			for name, k := range map[string]string{"another key": other, "the other profile's key": otherProfile} {
				code, _, errs := as("admin", "restore", enc, "--key", k, "-o", restored)
				if code != ExitConflict || !strings.Contains(errs, "密钥不对") || !strings.Contains(errs, "未写入任何文件") {
					t.Errorf("restore with %s: exit %d %q, want refused as the wrong key", name, code, errs)
				}
				if _, err := os.Stat(restored); err == nil {
					t.Fatalf("restore with %s wrote %s", name, restored)
				}
			}
			if code, _, errs := as("admin", "restore", enc, "--key", key, "-o", restored); code != ExitOK {
				t.Fatalf("restore: exit %d %q", code, errs)
			}
			rs, err := store.Open(ctx, restored, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			res, err := rs.VerifyAudit(ctx)
			seq, _ := st.AuditHead()
			if err != nil || int64(res.Records) > seq || res.Records < 3 {
				t.Fatalf("the restored register's chain: %+v %v", res, err)
			}

			damaged := filepath.Join(dir, "damaged.bak")
			data[len(data)/2] ^= 1
			os.WriteFile(damaged, data, 0o600)
			if code, _, errs := as("admin", "restore", damaged, "--key", key, "-o", filepath.Join(dir, "d.db")); code != ExitTampered || !strings.Contains(errs, "已损坏或被改动") {
				t.Errorf("restore of a damaged backup: exit %d %q, want refused as damaged", code, errs)
			}
			if _, err := os.Stat(filepath.Join(dir, "d.db")); err == nil {
				t.Error("a damaged backup was restored")
			}
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
