package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect is the SQL database behind a Store.
type Dialect int

const (
	SQLite   Dialect = iota // the default: one file in data_dir, one writer
	Postgres                // [store] url = "postgres://…": several custodyd may share it
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// writeLock is the key of the transaction-scoped advisory lock every Write takes first on
// PostgreSQL ("custody" in ASCII): writes from every custodyd sharing the database queue on it
// one at a time, as SQLite's single IMMEDIATE writer makes them, so the register's
// check-then-write rules and the audit chain's head hold across instances.
const writeLock int64 = 0x637573746f6479

// takeWriteLock is a literal statement, without parameters, so it costs one round trip.
var takeWriteLock = fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", writeLock)

// ErrNotOnPostgres is an operation that exists only for a SQLite file (the online backup, the
// file's integrity check): on PostgreSQL the database server's own tools do it.
var ErrNotOnPostgres = errors.New("not on PostgreSQL: back the register up with pg_dump (docs/deployment.md)")

// IsURL reports whether target names a PostgreSQL database rather than a SQLite file.
func IsURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// CheckURL parses a PostgreSQL URL without connecting (config validation); its error never
// repeats the password.
func CheckURL(u string) error {
	if !IsURL(u) {
		return fmt.Errorf("%q does not start with postgres:// or postgresql://", Redact(u))
	}
	if _, err := pgx.ParseConfig(u); err != nil {
		return fmt.Errorf("%s: %s", Redact(u), redactErr(u, err))
	}
	return nil
}

// Redact is the URL with its password replaced, for logs and error messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		if err != nil {
			return "(unparsable URL)"
		}
		return u
	}
	if _, has := p.User.Password(); has {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}

func redactErr(u string, err error) string {
	msg := err.Error()
	if p, perr := url.Parse(u); perr == nil && p.User != nil {
		if pw, has := p.User.Password(); has && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// openPostgres opens the two pools over one pgx connector wrapped so that the owners' `?`
// placeholders reach the server as $n (rebind).
func openPostgres(u string) (w, r *sql.DB, err error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, nil, fmt.Errorf("store.url %s: %s", Redact(u), redactErr(u, err))
	}
	c := connector{stdlib.GetConnector(*cfg)}
	w = sql.OpenDB(c)
	// One writer connection, as on SQLite: writes of this custodyd queue in the pool, those of
	// every custodyd on the advisory lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	r = sql.OpenDB(c)
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return w, r, nil
}

type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{dc.(*stdlib.Conn)}, nil
}

// pgConn is pgx's database/sql connection with placeholders rebound and values stored the way
// SQLite stores them: a Go bool is the integer 1 or 0 (the register keeps flags in integer
// columns, as SQLite has no boolean type).
type pgConn struct{ *stdlib.Conn }

var (
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
)

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
	}
	return c.Conn.CheckNamedValue(nv)
}

// checkPostgres refuses a database whose collation is not C: the register's ORDER BY and
// comparisons of text (codes, times as RFC 3339 text) must sort bytewise as on SQLite, and a
// locale's collation would order "C-10" before "C-9" differently, or ignore punctuation.
func (s *Store) checkPostgres(ctx context.Context) error {
	var name, collate, ctype, enc string
	err := s.w.QueryRowContext(ctx, `SELECT current_database(), datcollate, datctype, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&name, &collate, &ctype, &enc)
	if err != nil {
		return fmt.Errorf("store.url %s: connect: %w", s.path, Classify(err))
	}
	cOK := func(v string) bool { return v == "C" || v == "POSIX" }
	if !cOK(collate) || !cOK(ctype) || enc != "UTF8" {
		return fmt.Errorf("store.url %s: database %q has LC_COLLATE %q, LC_CTYPE %q, encoding %s; custody needs C and UTF8 so text sorts bytewise as on SQLite — create it with: CREATE DATABASE %s TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'",
			s.path, name, collate, ctype, enc, pgx.Identifier{name}.Sanitize())
	}
	return nil
}

// classifyPostgres maps PostgreSQL's SQLSTATEs onto the store's sentinels, as Classify does
// SQLite's codes.
func classifyPostgres(err error) (error, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err, false
	}
	switch pe.Code {
	case "23505": // unique_violation, primary keys included
		return fmt.Errorf("%w: %v", ErrConflict, err), true
	case "53100": // disk_full
		return fmt.Errorf("%w: %v", ErrFull, err), true
	case "XX001", "XX002": // data_corrupted, index_corrupted
		return fmt.Errorf("%w: %v", ErrCorrupt, err), true
	}
	return err, false
}
