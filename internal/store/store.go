// Package store keeps the register in SQLite (mattn/go-sqlite3) by default, or in PostgreSQL
// (jackc/pgx through database/sql) when [store] url names one. SQLite: WAL journal, foreign keys,
// a busy timeout, one writer connection and an integrity check that refuses to run on a corrupt
// file. PostgreSQL: a database with C collation (checked at Open), and every write transaction
// first takes one advisory lock, so several custodyd sharing the database write one at a time as
// SQLite's single writer does. Both apply embedded versioned migrations at Open — the same
// versions, one set per dialect (migrations/ and migrations/postgres/).
//
// Contract: every write goes through Write or Change, which run a function inside one
// serialised transaction — all of it commits or none of it does. Change also appends audit
// records to the hash chain in the same transaction, reading the chain's head inside it, so the
// register and its history never disagree, whichever instance wrote last. Owners write their SQL
// with SQLite's `?` and `?N` placeholders; on PostgreSQL the store's driver rewrites them (rebind)
// at one point. Reads use a separate pool and see the last committed state. Errors that an
// operator must act on are sentinels: ErrCorrupt, ErrFull, ErrNotFound, ErrConflict,
// ErrNotOnPostgres.
package store

import (
	"github.com/custodyhq/custody/internal/cryptoprofile"

	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/custodyhq/custody/internal/buildinfo"
)

var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflicts with an existing record")
	ErrCorrupt  = errors.New("database file is corrupt")
	ErrFull     = errors.New("disk or database is full")
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrations is the dialect's embedded migrations, NNNN_name.sql at its root (for tests that
// compare the two sets, and test templates named after them).
func Migrations(d Dialect) fs.FS {
	sub, err := fs.Sub(migrations, d.migrationDir())
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// migrationDir is where the dialect's migrations are embedded.
func (d Dialect) migrationDir() string {
	if d == Postgres {
		return "migrations/postgres"
	}
	return "migrations"
}

// Store is an open register database.
type Store struct {
	path    string // the file, or the PostgreSQL URL without its password
	dialect Dialect
	log     *slog.Logger
	w       *sql.DB // exactly one connection: SQLite has one writer anyway
	r       *sql.DB

	mu   sync.Mutex // serialises Change so the audit head is read and advanced by one writer
	head chainHead
	// profile is the installation's crypto profile (UseProfile; standard until then): the hash of
	// new audit records and the MAC new agents are enrolled with follow it.
	profile cryptoprofile.Profile
	// alg is the hash new audit records are sealed with: the head's (SHA-256 for an empty or
	// pre-profile chain) until UseProfile sets the installation's.
	alg string

	probe probe // the last write probe (Probe)

	checked chainCheck // how far this process last verified the chain (VerifyAuditSince)
}

type chainHead struct {
	seq  int64
	hash string
	alg  string // the last record's algorithm as stored ("" for SHA-256 v1)
}

// Open opens the register at target — a SQLite file (created if needed) or a postgres:// URL
// (IsURL) — checks it and applies pending migrations.
func Open(ctx context.Context, target string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var s *Store
	if IsURL(target) {
		w, r, err := openPostgres(target)
		if err != nil {
			return nil, err
		}
		s = &Store{path: Redact(target), dialect: Postgres, log: log, w: w, r: r}
		if err := s.checkPostgres(ctx); err != nil {
			s.Close()
			return nil, err
		}
	} else {
		var err error
		if s, err = openSQLite(ctx, target, log); err != nil {
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadHead(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
	}
	dsn := func(extra string) string {
		q := url.Values{}
		q.Set("_journal_mode", "WAL")
		q.Set("_foreign_keys", "on")
		q.Set("_busy_timeout", "10000")
		// FULL: a committed register change or acknowledged observation survives a power cut.
		q.Set("_synchronous", "FULL")
		if extra != "" {
			k, v, _ := strings.Cut(extra, "=")
			q.Set(k, v)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite3", dsn("_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite3", dsn("mode=rw"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	s := &Store{path: path, log: log, w: w, r: r}
	if err := s.check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// check refuses a file that is not a database or fails PRAGMA integrity_check: running on a
// corrupt register could silently lose entries.
func (s *Store) check(ctx context.Context) error {
	problems, err := s.integrity(ctx)
	if err != nil {
		err = Classify(err)
		if errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("database %s: %w — refusing to start; restore the latest backup (custodyctl backup)", s.path, err)
		}
		return fmt.Errorf("check database %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return fmt.Errorf("database %s: %w: %s — refusing to start; restore the latest backup (custodyctl backup)", s.path, ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

func (s *Store) integrity(ctx context.Context) ([]string, error) {
	rows, err := s.w.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}

// migrate applies the dialect's pending migrations, each in a Write of its own: on PostgreSQL
// several custodyd starting at once take turns, and a later one finds the work done.
func (s *Store) migrate(ctx context.Context) error {
	err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.path, err)
	}
	names, err := fs.Glob(migrations, s.dialect.migrationDir()+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if err := s.refuseNewer(ctx, names); err != nil {
		return err
	}
	var applied []int
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and an underscore", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		done := 0
		err = s.Write(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&done); err != nil || done > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`, version, base, Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
		if done > 0 {
			continue
		}
		s.log.Info("migration applied", "version", version, "name", base)
		applied = append(applied, version)
	}
	if len(applied) > 0 && s.hasWriterColumn(ctx) {
		by := buildinfo.Get().Version
		err := s.Write(ctx, func(tx *sql.Tx) error {
			for _, v := range applied {
				if _, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET written_by = ? WHERE version = ?`, by, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record the migrations' writer: %w", Classify(err))
		}
	}
	return nil
}

// ErrNewerSchema is a database migrated by a newer custodyd than this one.
var ErrNewerSchema = errors.New("the database's schema is newer than this custodyd")

// refuseNewer stops a custodyd from running on a schema it does not know — one migrated by a
// newer build (an upgrade rolled back without its backup) — where it would misread or damage
// the register without a word. It names the migration and the build that applied it.
func (s *Store) refuseNewer(ctx context.Context, names []string) error {
	known := map[string]bool{}
	for _, n := range names {
		known[filepath.Base(n)] = true
	}
	col := "''"
	if s.hasWriterColumn(ctx) {
		col = "written_by"
	}
	rows, err := s.w.QueryContext(ctx, `SELECT version, name, `+col+` FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.path, Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var name, by string
		if err := rows.Scan(&v, &name, &by); err != nil {
			return err
		}
		if known[name] {
			continue
		}
		if by == "" {
			by = "a newer custodyd"
		} else {
			by = "custodyd " + by
		}
		return fmt.Errorf("database %s: %w: migration %s was applied by %s, and this custodyd %s does not know it — refusing to start; run that version or newer, or restore the backup taken before the upgrade",
			s.path, ErrNewerSchema, name, by, buildinfo.Get().Version)
	}
	return rows.Err()
}

func (s *Store) hasWriterColumn(ctx context.Context) bool {
	q := `SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'written_by'`
	if s.dialect == Postgres {
		q = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'written_by'`
	}
	var n int
	err := s.w.QueryRowContext(ctx, q).Scan(&n)
	return err == nil && n > 0
}

// Close closes both pools. It is safe to call more than once.
func (s *Store) Close() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// Path is the database file, or on PostgreSQL its URL without the password.
func (s *Store) Path() string { return s.path }

// Dialect is the database behind the store.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the read pool.
func (s *Store) DB() *sql.DB { return s.r }

// Write runs fn in one write transaction: commit if it returns nil, roll back otherwise. On
// PostgreSQL the transaction first waits for the advisory write lock (writeLock), so it sees
// every write committed before it and none commits beside it.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", Classify(err))
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, takeWriteLock); err != nil {
			tx.Rollback()
			return fmt.Errorf("begin write: take the write lock: %w", Classify(err))
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return Classify(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", Classify(err))
	}
	return nil
}

// Now is the store's clock format: RFC 3339 UTC with microseconds.
func Now() string { return FormatTime(time.Now()) }

// FormatTime formats t as the store keeps times.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

// ParseTime reads a time the store wrote.
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// Classify maps SQLite's codes and PostgreSQL's SQLSTATEs onto the sentinels callers act on,
// keeping the original text.
func Classify(err error) error {
	if perr, ok := classifyPostgres(err); ok {
		return perr
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.Code == sqlite3.ErrFull:
		return fmt.Errorf("%w: %v", ErrFull, err)
	case se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB:
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}
