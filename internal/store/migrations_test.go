package store_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Every SQLite migration has its PostgreSQL twin of the same name (migrations/postgres/), and
// no twin stands alone: a register must reach the same version on either database.
func TestEveryMigrationHasAPostgresTwin(t *testing.T) {
	names := func(d store.Dialect) []string {
		m, err := fs.Glob(store.Migrations(d), "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	lite, pg := names(store.SQLite), names(store.Postgres)
	if len(lite) == 0 {
		t.Fatal("no SQLite migrations embedded")
	}
	for _, n := range lite {
		if !slices.Contains(pg, n) {
			t.Errorf("migrations/%s has no PostgreSQL twin: add migrations/postgres/%s", n, n)
		}
	}
	for _, n := range pg {
		if !slices.Contains(lite, n) {
			t.Errorf("migrations/postgres/%s twins no SQLite migration of that name", n)
		}
	}
}

// The two migrated schemas have the same tables, columns (type, nullability) and named indexes
// and triggers. The PostgreSQL side may add a rowid column: SQLite's implicit rowid made
// explicit, where a query orders by it.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("CUSTODY_TEST_STORE=postgres runs it")
	}
	ctx := context.Background()
	lite := open(t, filepath.Join(t.TempDir(), "custody.db"))
	pg := open(t, storetest.Target(t))

	want := map[string]string{} // table.column → type, null; and index/trigger names
	rows, err := lite.DB().QueryContext(ctx, `SELECT m.name, c.name, c.type, c."notnull" OR c.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, col, typ string
		var notNull bool
		if err := rows.Scan(&tbl, &col, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		want["column "+tbl+"."+col] = fmt.Sprintf("%s %s", map[string]string{"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}[typ], nullWord(notNull))
	}
	rows.Close()
	rows, err = lite.DB().QueryContext(ctx, `SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			t.Fatal(err)
		}
		want[kind+" "+name] = "present"
	}
	rows.Close()

	got := map[string]string{}
	rows, err = pg.DB().QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable = 'NO' FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, col, typ string
		var notNull bool
		if err := rows.Scan(&tbl, &col, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		if tbl == "schema_migrations" && typ == "integer" {
			typ = "bigint" // created by the store's Go code in the same words on both
		}
		if col == "rowid" {
			continue
		}
		got["column "+tbl+"."+col] = typ + " " + nullWord(notNull)
	}
	rows.Close()
	rows, err = pg.DB().QueryContext(ctx, `SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%\_pkey' AND indexname NOT LIKE '%\_key'
		UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname NOT IN ('audit_no_truncate', 'audit_in_order')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			t.Fatal(err)
		}
		got[kind+" "+name] = "present"
	}
	rows.Close()

	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: on SQLite (%s), missing on PostgreSQL", k, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: SQLite %s, PostgreSQL %s", k, w, g))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: on PostgreSQL (%s), missing on SQLite", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("the schemas differ:\n%s", strings.Join(diffs, "\n"))
	}
	if len(want) < 100 {
		t.Errorf("compared only %d columns, indexes and triggers: is the query wrong?", len(want))
	}
}

func nullWord(notNull bool) string {
	if notNull {
		return "NOT NULL"
	}
	return "NULL"
}
