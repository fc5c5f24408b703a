// Package storetest is for tests only: it gives a test a fresh, migrated register on the store
// the run asks for — a SQLite file in the test's temporary directory by default, or, with
// CUSTODY_TEST_STORE=postgres, a throwaway database on the machine's PostgreSQL
// (CUSTODY_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped when the
// test ends. `make test` runs the store's owners' suites once each way.
//
// A PostgreSQL database is copied from a template migrated once per set of migrations
// (custody_tpl_<hash>), so a test pays for CREATE DATABASE, not for every migration. Every
// database is made with C collation, as custody requires (docs/deployment.md).
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/testenv"
)

// Env names the store the tests run on: "postgres", or empty (or "sqlite") for SQLite.
const Env = "CUSTODY_TEST_STORE"

// EnvURL is the PostgreSQL URL test databases are created through (a superuser's, on the
// maintenance database).
const EnvURL = "CUSTODY_TEST_PG_URL"

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres reports whether this run's tests use PostgreSQL.
func Postgres() bool { return os.Getenv(Env) == "postgres" }

// Target is a fresh, migrated register's location for store.Open: a file path in tb's temporary
// directory (created at the first Open), or the URL of a new PostgreSQL database dropped when tb
// ends. A test that closes and reopens its register uses this; most want Open.
func Target(tb testing.TB) string {
	tb.Helper()
	switch v := os.Getenv(Env); v {
	case "", "sqlite":
		return filepath.Join(tb.TempDir(), "custody.db")
	case "postgres":
		return pgDatabase(tb)
	default:
		tb.Fatalf("%s=%q: want postgres, sqlite or nothing", Env, v)
		return ""
	}
}

// Fresh is a new register's location that outlives any one test, for a fixture a test binary
// builds once and Clones for each test: a file under dir, or a new PostgreSQL database (dropped
// by the next run of the tests once this process has ended).
func Fresh(dir string) (string, error) {
	if !Postgres() {
		return filepath.Join(dir, "custody.db"), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tplOnce.Do(func() { tplName, tplErr = template(ctx, adminURL()) })
	if tplErr != nil {
		return "", tplErr
	}
	name := fmt.Sprintf("custody_t_%d_%d_%s", os.Getpid(), counter.Add(1), randHex(3))
	if err := retryBusy(ctx, func() error { return adminExec(ctx, adminURL(), "CREATE DATABASE "+name+" TEMPLATE "+tplName) }); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	return withDB(adminURL(), name), nil
}

// Clone copies the closed register at source (from Fresh, built by the caller) into a new one
// for tb, and returns its location: SQLite's online backup, or CREATE DATABASE … TEMPLATE.
func Clone(tb testing.TB, source string) string {
	tb.Helper()
	ctx := context.Background()
	if !store.IsURL(source) {
		src, err := store.Open(ctx, source, nil)
		if err != nil {
			tb.Fatal(err)
		}
		defer src.Close()
		dest := filepath.Join(tb.TempDir(), "custody.db")
		if err := src.Backup(ctx, dest); err != nil {
			tb.Fatal(err)
		}
		return dest
	}
	u, err := url.Parse(source)
	if err != nil {
		tb.Fatal(err)
	}
	return Database(tb, "TEMPLATE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize())
}

// Open is a fresh register, closed when tb ends.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), Target(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// SyncIdentities moves every identity column's sequence past the largest id stored, on
// PostgreSQL (on SQLite, INTEGER PRIMARY KEY already takes max+1). A fixture that inserts rows
// with explicit ids calls it, so rows added afterwards without one do not collide.
func SyncIdentities(tb testing.TB, st *store.Store) {
	tb.Helper()
	if st.Dialect() != store.Postgres {
		return
	}
	ctx := context.Background()
	rows, err := st.DB().QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' AND identity_generation = 'BY DEFAULT'`)
	if err != nil {
		tb.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			tb.Fatal(err)
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	for _, tc := range cols {
		t, c := pgx.Identifier{tc[0]}.Sanitize(), pgx.Identifier{tc[1]}.Sanitize()
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 0) + 1, false) FROM %s`, tc[0], tc[1], c, t)
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			tb.Fatalf("move the identity of %s.%s on: %v", tc[0], tc[1], err)
		}
	}
}

var (
	tplOnce sync.Once
	tplName string
	tplErr  error
	counter atomic.Int64
)

// adminURL is the maintenance database's URL; withDB is it naming another database.
func adminURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return defaultURL
}

func withDB(admin, db string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + db
	return u.String()
}

func pgDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tplOnce.Do(func() { tplName, tplErr = template(ctx, adminURL()) })
	if tplErr != nil {
		testenv.Unavailable(tb, fmt.Sprintf("PostgreSQL for %s=postgres: %v", Env, tplErr))
	}
	return Database(tb, "TEMPLATE "+tplName)
}

// Database creates a PostgreSQL database with CREATE DATABASE's options (e.g. "TEMPLATE x"),
// dropped when tb ends, and returns its URL: for tests of what Open does with an unmigrated or
// wrongly made database.
func Database(tb testing.TB, options string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := adminURL()
	name := fmt.Sprintf("custody_t_%d_%d_%s", os.Getpid(), counter.Add(1), randHex(3))
	err := retryBusy(ctx, func() error {
		return adminExec(ctx, admin, "CREATE DATABASE "+name+" "+options)
	})
	if err != nil {
		tb.Fatalf("create test database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDB(admin, name)
}

// template returns the name of the migrated template for this build's PostgreSQL migrations,
// making it if no earlier run did: built under a name of its own, then renamed, so concurrent
// test processes never copy a half-migrated one.
func template(ctx context.Context, admin string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "custody_tpl_" + sum
	dropAbandoned(ctx, admin)
	exists, err := databaseExists(ctx, admin, name)
	if err != nil || exists {
		return name, err
	}
	build := fmt.Sprintf("custody_build_%d_%s", os.Getpid(), randHex(3))
	if err := adminExec(ctx, admin, "CREATE DATABASE "+build+" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'"); err != nil {
		return "", fmt.Errorf("create %s: %w", build, err)
	}
	st, err := store.Open(ctx, withDB(admin, build), nil)
	if err != nil {
		adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)")
		return "", fmt.Errorf("migrate %s: %w", build, err)
	}
	st.Close()
	err = retryBusy(ctx, func() error { return adminExec(ctx, admin, "ALTER DATABASE "+build+" RENAME TO "+name) })
	if err != nil {
		adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)")
		if exists, _ := databaseExists(ctx, admin, name); exists {
			return name, nil // another process finished first
		}
		return "", fmt.Errorf("rename %s to %s: %w", build, name, err)
	}
	return name, nil
}

// migrationsHash names the template after the PostgreSQL migrations it was made from.
func migrationsHash() (string, error) {
	h := sha256.New()
	mfs := store.Migrations(store.Postgres)
	var names []string
	err := fs.WalkDir(mfs, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(mfs, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// dropAbandoned drops the test databases of test processes that died before their cleanup
// (killed at a timeout): their names carry the process id.
func dropAbandoned(ctx context.Context, admin string) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return
	}
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'custody\_t\_%' OR datname LIKE 'custody\_build\_%'`)
	var names []string
	if err == nil {
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				names = append(names, n)
			}
		}
		rows.Close()
	}
	conn.Close(ctx)
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) < 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, fs.ErrNotExist) {
			adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
		}
	}
}

func databaseExists(ctx context.Context, admin, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return n > 0, err
}

func adminExec(ctx context.Context, admin, q string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, q)
	return err
}

// retryBusy retries while the server says a database is still in use (55006): a connection
// just closed by the client may linger on the server for a moment.
func retryBusy(ctx context.Context, f func() error) error {
	for {
		err := f()
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
