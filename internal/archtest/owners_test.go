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

// owners gives every table of custodyd's database (internal/store/migrations) the one package
// that runs SQL on it, reads included; every other package asks that package for typed values
// (docs/architecture.md, "Owners"). A new table must be given an owner here, or the test fails.
var owners = map[string]string{
	// The store keeps the file, the history and what the agents sent.
	"schema_migrations": "internal/store", "audit": "internal/store", "health_probe": "internal/store",
	"observations": "internal/store", "observation_seqs": "internal/store", "observation_refusals": "internal/store",

	// The register: people, documents, copies, places and every workflow over them.
	"units": "internal/register", "people": "internal/register", "person_roles": "internal/register",
	"tokens": "internal/register", "badges": "internal/register", "signatures": "internal/register",
	"person_grants": "internal/register", "approval_policy": "internal/register",
	"documents": "internal/register", "document_scope": "internal/register", "document_decisions": "internal/register",
	"items": "internal/register", "item_events": "internal/register",
	"agents": "internal/register", "cabinets": "internal/register", "desks": "internal/register", "place_bindings": "internal/register",
	"approvals": "internal/register", "approval_items": "internal/register",
	"sessions": "internal/register", "session_items": "internal/register", "session_rejects": "internal/register",
	"destruction_batches": "internal/register", "destruction_items": "internal/register",
	"recalls": "internal/register", "recall_items": "internal/register",
	"loss_cases": "internal/register", "loss_case_items": "internal/register", "loss_case_events": "internal/register",
	"transits": "internal/register", "transit_items": "internal/register",
	"checks": "internal/register", "check_items": "internal/register", "check_confirmations": "internal/register",
	"check_signatures": "internal/register", "check_cabinets": "internal/register",

	// The alert book: findings, alerts and their histories.
	"findings": "internal/alert", "alerts": "internal/alert", "alert_events": "internal/alert",

	// The nightly inventory schedule.
	"inventory_runs": "internal/schedule",

	// Which custodyd instance runs the once-only duties.
	"leases": "internal/lease",
}

// shared are the only places where a package runs SQL on a table it does not own, each with why.
var shared = []struct{ table, pkg, why string }{
	{"agents", "internal/store", "the agent's key is read for every envelope's MAC (store.AgentKey, used by ingest) and blanked in a backup copy (store.ScrubAgentKeys, which works on a file, not a register)"},
}

func isShared(table, pkg string) bool {
	return slices.ContainsFunc(shared, func(s struct{ table, pkg, why string }) bool { return s.table == table && s.pkg == pkg })
}

// sqlTable finds the tables a piece of SQL text names after FROM, JOIN, INTO, UPDATE or TABLE.
// The repository writes SQL keywords in capitals, so prose ("returned from items") is not SQL.
var sqlTable = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)\b`)

// tablesIn lists the known tables that SQL text names.
func tablesIn(sql string) []string {
	var out []string
	for _, m := range sqlTable.FindAllStringSubmatch(sql, -1) {
		if _, ok := owners[m[1]]; ok && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// trespass returns, for one package's (non-test) source file, every string literal that runs SQL
// on a table the package does not own, and every call of the store's read pool (x.DB()) from a
// package that owns no table.
func trespass(pkg, name string, src []byte) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	owner := false
	for _, p := range owners {
		owner = owner || p == pkg
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				return true
			}
			for _, t := range tablesIn(s) {
				if owners[t] != pkg && !isShared(t, pkg) {
					out = append(out, fset.Position(n.Pos()).String()+": SQL on table "+t+", which "+owners[t]+" owns: ask it for a typed value")
				}
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "DB" && len(n.Args) == 0 && !owner {
				out = append(out, fset.Position(n.Pos()).String()+": calls DB(), the store's read pool, and owns no table: ask the table's owner")
			}
		}
		return true
	})
	return out, nil
}

// TestOnlyOwnersRunSQL checks that no package but a table's owner runs SQL on it (the rule a
// second store, PostgreSQL beside SQLite, needs: every statement lives behind an owner). Tests and
// test helpers (floor 0) are exempt: they check what was written and seed what they need. SQL
// whose table name is computed at run time is not seen; the repository has none.
func TestOnlyOwnersRunSQL(t *testing.T) {
	for _, p := range list(t, "./...") {
		name := rel(p.ImportPath)
		if floors[name] == 0 && strings.HasPrefix(name, "internal/") {
			continue
		}
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := trespass(name, filepath.Join(name, f), src)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bad {
				t.Error(b)
			}
		}
	}
}

// TestEveryTableHasOneOwner reads the migrations: a table nobody owns, or an owner entry for a
// table that does not exist, fails.
func TestEveryTableHasOneOwner(t *testing.T) {
	files, err := filepath.Glob("../store/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	created := map[string]bool{}
	re := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			created[strings.ToLower(m[1])] = true
		}
	}
	created["schema_migrations"] = true // made by store.migrate itself, before any migration
	for table := range created {
		if _, ok := owners[table]; !ok {
			t.Errorf("table %s has no owner: give it one in owners_test.go and docs/architecture.md", table)
		}
	}
	for table := range owners {
		if !created[table] {
			t.Errorf("owners names table %s, which no migration creates", table)
		}
	}
}

// TestTrespassIsSeen shows the check failing on what it forbids.
func TestTrespassIsSeen(t *testing.T) {
	src := "package console\n" +
		"func f(st store) {\n" +
		"	st.DB().QueryRowContext(ctx, `SELECT s.id FROM sessions s JOIN desks d ON d.id = s.desk_id`)\n" +
		"	_ = \"UPDATE alerts SET published = ?\"\n" +
		"	_ = \"nothing came from items or INTO it\"\n" +
		"}\n"
	bad, err := trespass("internal/console", "x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x.go:3:2: calls DB()", "x.go:3:31: SQL on table sessions", "x.go:3:31: SQL on table desks", "x.go:4:6: SQL on table alerts"}
	if len(bad) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(bad), len(want), strings.Join(bad, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(bad[i], w) {
			t.Errorf("finding %d: got %q, want it to start %q", i, bad[i], w)
		}
	}
	// The owner itself may.
	if bad, _ := trespass("internal/register", "x.go", []byte(src)); len(bad) != 1 || !strings.Contains(bad[0], "alerts") {
		t.Errorf("register's own tables: got %q, want only the alerts trespass", bad)
	}
}
