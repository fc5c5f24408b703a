package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/cryptoprofile"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addUnit(t testing.TB, s *Store, code string) {
	t.Helper()
	err := s.Change(context.Background(), func(tx *Tx) error {
		if _, err := tx.ExecContext(context.Background(), `INSERT INTO units(code, name, created_at) VALUES (?, ?, ?)`, code, "单位 "+code, Now()); err != nil {
			return err
		}
		return tx.Audit(Entry{Actor: "test", Action: "unit.add", Subject: "unit:" + code, After: map[string]string{"code": code}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsDataAndChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custody.db")
	s := open(t, path)
	addUnit(t, s, "A")
	addUnit(t, s, "B")
	seq, head := s.AuditHead()
	s.Close()
	s2 := open(t, path)
	if seq2, head2 := s2.AuditHead(); seq2 != seq || head2 != head || seq != 2 {
		t.Errorf("head after reopen: got %d %s, want %d %s", seq2, head2, seq, head)
	}
	if res, err := s2.VerifyAudit(context.Background()); err != nil || res.Records != 2 {
		t.Errorf("verify after reopen: %+v %v", res, err)
	}
	var journal string
	s2.DB().QueryRow("PRAGMA journal_mode").Scan(&journal)
	var fk int
	s2.DB().QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if journal != "wal" || fk != 1 {
		t.Errorf("got journal_mode %q foreign_keys %d, want wal and 1", journal, fk)
	}
}

func TestChangeWithoutAuditIsRefused(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "custody.db"))
	err := s.Change(context.Background(), func(tx *Tx) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO units(code, name, created_at) VALUES ('X', 'x', ?)`, Now())
		return err
	})
	if err == nil {
		t.Fatal("a change without an audit record was committed")
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM units`).Scan(&n)
	if n != 0 {
		t.Errorf("got %d units, want 0 after the refused change", n)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "custody.db"))
	addUnit(t, s, "A")
	for _, q := range []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`} {
		err := s.Write(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(context.Background(), q)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want refusal", q, err)
		}
	}
}

// An edit of the file behind custodyd's back (here: the triggers dropped and a record changed,
// as someone with the database file and the sqlite3 shell could do) is found by VerifyAudit.
// Under each crypto profile.
func TestTamperedChainIsFound(t *testing.T) {
	for _, p := range []cryptoprofile.Profile{cryptoprofile.Standard, cryptoprofile.SM} {
		t.Run(p.String(), func(t *testing.T) { testTamperedChain(t, p) })
	}
}

func testTamperedChain(t *testing.T, p cryptoprofile.Profile) {
	s := open(t, filepath.Join(t.TempDir(), "custody.db"))
	if _, err := s.UseProfile(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"A", "B", "C"} {
		addUnit(t, s, c)
	}
	err := s.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(context.Background(), `DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.VerifyAudit(context.Background())
	if err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("got %v, want a break at record 2", err)
	}
}

func TestCorruptFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("this is not a database ", 400)), 0o600)
	if _, err := Open(context.Background(), garbage, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage file: got %v, want ErrCorrupt", err)
	}

	// A real register whose table pages were overwritten: the header is fine, the content not.
	path := filepath.Join(dir, "damaged.db")
	s := open(t, path)
	for i := 0; i < 200; i++ {
		addUnit(t, s, "U"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+string(rune('0'+i%10))+string(rune(i)))
	}
	s.Close()
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	b, _ := os.ReadFile(path)
	for i := 4096 * 3; i < len(b) && i < 4096*6; i++ {
		b[i] = 0xA5
	}
	os.WriteFile(path, b, 0o600)
	_, err := Open(context.Background(), path, nil)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "refusing to start") {
		t.Errorf("damaged file: got %v, want ErrCorrupt refusing to start", err)
	}
}

func TestBackupIsAStartableCopy(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "custody.db"))
	addUnit(t, s, "A")
	addUnit(t, s, "B")
	dest := filepath.Join(dir, "backup.db")
	if err := s.Backup(context.Background(), dest); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(context.Background(), dest); !errors.Is(err, ErrConflict) {
		t.Errorf("backup over an existing file: got %v, want ErrConflict", err)
	}
	addUnit(t, s, "C") // after the backup: must not be in it
	b := open(t, dest)
	var n int
	b.DB().QueryRow(`SELECT count(*) FROM units`).Scan(&n)
	if n != 2 {
		t.Errorf("backup holds %d units, want 2", n)
	}
	if res, err := b.VerifyAudit(context.Background()); err != nil || res.Records != 2 {
		t.Errorf("backup chain: %+v %v", res, err)
	}
	addUnit(t, b, "D") // the copy is a working register
}
