package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sqliteOnly are the forms of SQL that SQLite takes and PostgreSQL refuses or reads otherwise,
// each with what to write instead so the one statement runs on both stores (issue 18). The
// owners' SQL runs on either; only internal/store, which speaks each dialect on purpose, and the
// agent's own SQLite queue (internal/outbox, which owns no table of custodyd) may use them.
var sqliteOnly = []struct {
	re   *regexp.Regexp
	want string
}{
	{regexp.MustCompile(`(?i)\bINSERT\s+OR\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)\b|(?i)\bREPLACE\s+INTO\b`), "INSERT … ON CONFLICT … DO NOTHING / DO UPDATE"},
	{regexp.MustCompile(`(?i)\bgroup_concat\s*\(`), "string_agg(x, ',' ORDER BY x)"},
	{regexp.MustCompile(`(?i)\bjson_(extract|each|tree|group_array|group_object|set|insert|replace|remove|patch|valid|type|quote|array_length)\s*\(|->>|->`), "read the JSON in Go"},
	{regexp.MustCompile(`(?i)\b(_rowid_|rowid|oid)\b`), "a declared id column"},
	{regexp.MustCompile(`(?i)\bLIMIT\s+-`), "no LIMIT for no limit"},
	{regexp.MustCompile(`(?i)\b(datetime|julianday|strftime|unixepoch|date|time)\s*\(`), "times computed in Go (store.FormatTime) and compared as text"},
	{regexp.MustCompile(`(?i)\b(ifnull|iif|instr|printf|format|typeof|total|hex|unhex|randomblob|zeroblob|last_insert_rowid|changes|total_changes|likelihood|unlikely|sqlite_\w+)\s*\(`), "coalesce, CASE, or Go"},
	{regexp.MustCompile(`(?i)\b(GLOB|REGEXP|PRAGMA|COLLATE\s+NOCASE)\b`), "LIKE, =, or Go"},
	{regexp.MustCompile(`(?i)\bIS\s+(NOT\s+)?\?`), "= ? (with IS NULL for the no-value case)"},
	{regexp.MustCompile(`\?\s*\|\||\|\|\s*\?`), "CAST(? AS TEXT) || …: PostgreSQL cannot tell a bare parameter's type there"},
	{regexp.MustCompile(`(?i)\b(min|max)\s*\(\s*\?`), "the value from Go, not an aggregate of a parameter"},
	{regexp.MustCompile(`(?i)\bx'[0-9a-f]*'`), "a []byte argument: x'…' is a bit string in PostgreSQL"},
	{regexp.MustCompile(`==`), "="},
	{regexp.MustCompile(`\b(TRUE|FALSE)\b`), "1 and 0: flags are INTEGER columns in both stores"},
}

// scalarMinMax finds SQLite's two-argument min(a, b) and max(a, b), which PostgreSQL calls LEAST
// and GREATEST and SQLite does not know by those names: write a CASE.
func scalarMinMax(sql string) bool {
	lower := strings.ToLower(sql)
	for _, fn := range []string{"min(", "max("} {
		for i := 0; ; {
			j := strings.Index(lower[i:], fn)
			if j < 0 {
				break
			}
			at := i + j
			i = at + len(fn)
			if at > 0 && (isWord(lower[at-1])) {
				continue // greatest_max(, admin( …
			}
			depth, quoted := 1, false
			for k := i; k < len(lower) && depth > 0; k++ {
				switch c := lower[k]; {
				case c == '\'':
					quoted = !quoted
				case quoted:
				case c == '(':
					depth++
				case c == ')':
					depth--
				case c == ',' && depth == 1:
					return true
				}
			}
		}
	}
	return false
}

func isWord(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// sqlText tells SQL from prose: the repository writes SQL keywords in capitals.
var sqlText = regexp.MustCompile(`\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|JOIN|VALUES|ORDER BY|GROUP BY|RETURNING)\b`)

// dialectProblems returns, for one Go source file, every SQL string literal in a SQLite-only form
// and every call of LastInsertId (PostgreSQL's driver has none: INSERT … RETURNING id).
func dialectProblems(name string, src []byte) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if n.Sel.Name == "LastInsertId" {
				out = append(out, fset.Position(n.Sel.Pos()).String()+": LastInsertId: PostgreSQL's driver has none; use INSERT … RETURNING id and Scan")
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil || !sqlText.MatchString(s) {
				return true
			}
			at := fset.Position(n.Pos()).String()
			for _, f := range sqliteOnly {
				if m := f.re.FindString(s); m != "" {
					out = append(out, at+": "+strconv.Quote(m)+" is SQLite's only: "+f.want)
				}
			}
			if scalarMinMax(s) {
				out = append(out, at+": two-argument min/max is SQLite's only: a CASE")
			}
		}
		return true
	})
	return out, nil
}

// TestOwnersSQLRunsOnBoth checks the SQL of every package that owns a table for forms only SQLite
// takes: the owners' statements run unchanged on SQLite and on PostgreSQL (issue 18). What
// neither text nor the store can see — a bare column beside an aggregate, NULLs' place in an
// ordering, a Go bool for an INTEGER flag — the PostgreSQL pass of the owners' tests finds.
func TestOwnersSQLRunsOnBoth(t *testing.T) {
	var pkgs []string
	for _, p := range owners {
		if p != "internal/store" && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no owner packages")
	}
	checked := 0
	for _, p := range list(t, "./...") {
		name := rel(p.ImportPath)
		if !slices.Contains(pkgs, name) {
			continue
		}
		checked++
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := dialectProblems(filepath.Join(name, f), src)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bad {
				t.Error(b)
			}
		}
	}
	if checked != len(pkgs) {
		t.Errorf("checked %d of the %d owner packages %q", checked, len(pkgs), pkgs)
	}
}

// TestSQLiteOnlyFormsAreSeen shows the check failing on each form it forbids, and passing the
// forms that replace them.
func TestSQLiteOnlyFormsAreSeen(t *testing.T) {
	bad := []string{
		"INSERT OR IGNORE INTO person_roles(person_id, role) VALUES (?,?)",
		"INSERT OR REPLACE INTO badges(person_id) VALUES (?)",
		"SELECT group_concat(role) FROM person_roles",
		"SELECT json_extract(evidence, '$.misses') FROM findings",
		"SELECT id FROM findings WHERE evidence->>'misses' = '3'",
		"SELECT p.name FROM check_signatures s ORDER BY s.at, s.rowid",
		"SELECT id FROM alerts ORDER BY id LIMIT -1 OFFSET 5",
		"SELECT count(*) FROM items WHERE due_at < datetime('now')",
		"SELECT ifnull(epc, '') FROM items",
		"SELECT id FROM items WHERE instr(epc, ?) > 0",
		"SELECT id FROM items WHERE epc GLOB ?",
		"SELECT id FROM items WHERE epc IS ?",
		"SELECT id FROM items WHERE epc = ? || '%'",
		"SELECT max(?) FROM items",
		"SELECT min(d.created_at, coalesce((SELECT min(at) FROM item_events), d.created_at)) FROM documents d",
		"SELECT max(a, b) FROM t WHERE x = 1",
		"INSERT INTO agents(id, key, created_at) VALUES (?, x'00', ?)",
		"SELECT id FROM people WHERE active == 1",
		"SELECT id FROM people WHERE active = TRUE",
	}
	for _, q := range bad {
		got, err := dialectProblems("x.go", []byte("package register\nvar q = "+strconv.Quote(q)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Errorf("%q: not seen", q)
		}
	}
	good := []string{
		"INSERT INTO person_roles(person_id, role) VALUES (?,?) ON CONFLICT DO NOTHING",
		"SELECT coalesce(string_agg(role, ',' ORDER BY role), '') FROM person_roles WHERE person_id = ?",
		"INSERT INTO loss_cases(state, note) VALUES ('open', ?) RETURNING id",
		"SELECT max(id), min(at) FROM transits WHERE x = ?",
		"SELECT CASE WHEN first < made THEN first ELSE made END FROM t WHERE id = ?",
		"SELECT id FROM people WHERE active = 1 AND username IN (?, ?)",
		"SELECT count(*) || '/' || coalesce(sum(version), 0) FROM alerts",
		"SELECT id FROM items WHERE epc = CAST(? AS TEXT) || '%'",
		"UPDATE items SET updated_at = ? WHERE id = ?", // a column named like a function is no call
		"SELECT max(repro_no) FROM items WHERE note = 'a, b'",
	}
	for _, q := range good {
		got, err := dialectProblems("x.go", []byte("package register\nvar q = "+strconv.Quote(q)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("%q: refused, want accepted: %q", q, got)
		}
	}
	// Prose is not SQL, and a call of LastInsertId is seen wherever it is.
	got, _ := dialectProblems("x.go", []byte("package register\nvar s = \"insert or ignore the rowid\"\nfunc f(res interface{ LastInsertId() (int64, error) }) { res.LastInsertId() }\n"))
	if len(got) != 1 || !strings.Contains(got[0], "LastInsertId") {
		t.Errorf("got %q, want only the LastInsertId call", got)
	}
}
