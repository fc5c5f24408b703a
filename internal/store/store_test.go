package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// open opens the register at target (storetest.Target: a SQLite file, or a PostgreSQL database
// under CUSTODY_TEST_STORE=postgres), closed when t ends.
func open(t testing.TB, target string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addUnit(t testing.TB, s *store.Store, code string) {
	t.Helper()
	err := s.Change(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.ExecContext(context.Background(), `INSERT INTO units(code, name, created_at) VALUES (?, ?, ?)`, code, "单位 "+code, store.Now()); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: "test", Action: "unit.add", Subject: "unit:" + code, After: map[string]string{"code": code}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sqliteOnly skips a test of the SQLite file itself when the run is on PostgreSQL.
func sqliteOnly(t *testing.T) {
	t.Helper()
	if storetest.Postgres() {
		t.Skip("a test of the SQLite file; the PostgreSQL run has its own")
	}
}

func TestReopenKeepsDataAndChain(t *testing.T) {
	path := storetest.Target(t)
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
	if s2.Dialect() == store.Postgres {
		return
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
	s := open(t, storetest.Target(t))
	err := s.Change(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO units(code, name, created_at) VALUES ('X', 'x', ?)`, store.Now())
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
	s := open(t, storetest.Target(t))
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
	s := open(t, storetest.Target(t))
	if _, err := s.UseProfile(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"A", "B", "C"} {
		addUnit(t, s, c)
	}
	err := s.Write(context.Background(), func(tx *sql.Tx) error {
		drop := `DROP TRIGGER audit_no_update`
		if s.Dialect() == store.Postgres {
			drop += ` ON audit`
		}
		_, err := tx.ExecContext(context.Background(), drop+`; UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
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
	sqliteOnly(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("this is not a database ", 400)), 0o600)
	if _, err := store.Open(context.Background(), garbage, nil); !errors.Is(err, store.ErrCorrupt) {
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
	_, err := store.Open(context.Background(), path, nil)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "refusing to start") {
		t.Errorf("damaged file: got %v, want ErrCorrupt refusing to start", err)
	}
}

func TestBackupIsAStartableCopy(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "custody.db"))
	addUnit(t, s, "A")
	addUnit(t, s, "B")
	dest := filepath.Join(dir, "backup.db")
	if err := s.Backup(context.Background(), dest); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(context.Background(), dest); !errors.Is(err, store.ErrConflict) {
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

// On PostgreSQL the online backup is pg_dump's job: Backup refuses in words that say so, and
// writes nothing.
func TestBackupOnPostgresIsRefused(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("CUSTODY_TEST_STORE=postgres runs it")
	}
	s := open(t, storetest.Target(t))
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(context.Background(), dest)
	if !errors.Is(err, store.ErrNotOnPostgres) || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("got %v, want ErrNotOnPostgres naming pg_dump", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused backup left %s (%v)", dest, err)
	}
}

// A PostgreSQL database whose collation is a locale's would sort the register's text unlike
// SQLite: Open refuses it, naming the key and the way to create a right one.
func TestPostgresWithoutCCollationIsRefused(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("CUSTODY_TEST_STORE=postgres runs it")
	}
	u := storetest.Database(t, "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' ENCODING 'UTF8'")
	_, err := store.Open(context.Background(), u, nil)
	for _, want := range []string{"store.url", `LC_COLLATE "C.UTF-8"`, "LC_COLLATE 'C'"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want a refusal containing %q", err, want)
		}
	}
}

// VerifyAuditSince, the chain's state for the pages and custodyd's watch: records appended since
// the last verification are recomputed, and the last ones verified before them again; an edit of
// any of those, a rewrite of the record verified last, or records verified before gone, is found
// at the next look. An edit further back with its hash left as it was — which only a
// verification from the first record can find — is found when the last full one is older than
// asked. (Not parallel: it narrows the recheck window.)
func TestVerifyAuditSinceGoesOnFromTheLastVerification(t *testing.T) {
	s := open(t, storetest.Target(t))
	ctx := context.Background()
	tamper := func(q string) {
		t.Helper()
		err := s.Write(ctx, func(tx *sql.Tx) error {
			drop := `DROP TRIGGER IF EXISTS audit_no_update`
			if s.Dialect() == store.Postgres {
				drop += ` ON audit`
			}
			_, err := tx.ExecContext(ctx, drop+`; `+q)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"A", "B", "C"} {
		addUnit(t, s, c)
	}
	res, full, err := s.VerifyAuditSince(ctx, time.Hour)
	if err != nil || res.Records != 3 || time.Since(full) > time.Minute {
		t.Fatalf("first look: got %d records, full verification at %v, %v; want 3 verified now", res.Records, full, err)
	}
	addUnit(t, s, "D")
	again, fullAgain, err := s.VerifyAuditSince(ctx, time.Hour)
	if err != nil || again.Records != 4 || !fullAgain.Equal(full) {
		t.Fatalf("after one more record: got %d records, full verification at %v, %v; want 4, the full one still that of %v", again.Records, fullAgain, err, full)
	}
	// A record among the last verified, edited with its hash left as it was: found at the next
	// look.
	tamper(`UPDATE audit SET actor = 'mallory' WHERE seq = 3`)
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "record 3") {
		t.Errorf("an edit of a recently verified record: got %v, want a break at record 3", err)
	}

	// Further back than the records rechecked: found by the next full verification, not before.
	store.SetAuditRecheck(t, 1)
	s = open(t, storetest.Target(t))
	for _, c := range []string{"A", "B", "C", "D"} {
		addUnit(t, s, c)
	}
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	tamper(`UPDATE audit SET actor = 'mallory' WHERE seq = 2`)
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err != nil {
		t.Fatalf("an edit before the last verified record: got %v before the next full verification", err)
	}
	if _, _, err := s.VerifyAuditSince(ctx, 0); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("full verification after an edit of record 2: got %v, want a break at record 2", err)
	}
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err == nil {
		t.Errorf("after a break: got no error, want the break said again")
	}

	// On a sound chain: the record verified last rewritten with a new hash, then a record
	// appended since edited: each found by the next look.
	s = open(t, storetest.Target(t))
	for _, c := range []string{"A", "B"} {
		addUnit(t, s, c)
	}
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	tamper(`UPDATE audit SET hash = '` + strings.Repeat("ab", 32) + `' WHERE seq = 2`)
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "the record verified last has another hash now") {
		t.Errorf("the record verified last rewritten: got %v, want a break there", err)
	}
	// The last records verified deleted (the chain cut back): found at the next look.
	s = open(t, storetest.Target(t))
	for _, c := range []string{"A", "B", "C"} {
		addUnit(t, s, c)
	}
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	tamper(`DROP TRIGGER IF EXISTS audit_no_delete` + map[bool]string{true: " ON audit", false: ""}[s.Dialect() == store.Postgres] + `; DELETE FROM audit WHERE seq = 3`)
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("the last verified record deleted: got %v, want a break saying records are gone", err)
	}
	s = open(t, storetest.Target(t))
	addUnit(t, s, "A")
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	addUnit(t, s, "B")
	addUnit(t, s, "C")
	tamper(`UPDATE audit SET actor = 'mallory' WHERE seq = 3`)
	if _, _, err := s.VerifyAuditSince(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "record 3") {
		t.Errorf("a record appended since edited: got %v, want a break at record 3", err)
	}
}
