package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/custodyhq/custody/"

// floors gives every package under internal/ its floor (docs/architecture.md). Packages that only
// tests import (test helpers) are floor 0: anything may import them from a _test file, and `go
// list` without -test does not show those imports.
var floors = map[string]int{
	"internal/testenv": 0, "internal/alert/alerttest": 0, "internal/reader/readertest": 0, "internal/archtest": 0,
	"internal/epcis/epcistest": 0, "internal/store/storetest": 0,

	"internal/custody": 1, "internal/epc": 1, "internal/wire": 1, "internal/audit": 1,
	"internal/duration": 1, "internal/sitetime": 1, "internal/buildinfo": 1, "internal/cryptoprofile": 1,

	"internal/store": 2, "internal/auth": 2, "internal/outbox": 2, "internal/serialport": 2, "internal/netport": 2,
	"internal/reader": 2, "internal/reader/r2000": 2, "internal/reader/m6e": 2, "internal/reader/llrp": 2, "internal/reader/sim": 2,
	"internal/cabinet": 2, "internal/cabinet/sim": 2, "internal/scanner": 2, "internal/scanner/sim": 2,
	"internal/capture": 2, "internal/alert/notify": 2, "internal/ledger": 2, "internal/mqttconn": 2, "internal/anchor": 2, "internal/api/apitype": 2,
	"internal/sealedbackup": 2, "internal/lease": 2,

	"internal/register": 3, "internal/reconcile": 3, "internal/reconcile/calibrate": 3,
	"internal/alert": 3, "internal/schedule": 3, "internal/agent": 3, "internal/agent/config": 3,
	"internal/agent/round": 3, "internal/agent/presence": 3,

	"internal/api": 4, "internal/console": 4, "internal/ingest": 4, "internal/broker": 4,
	"internal/labels": 4, "internal/report": 4, "internal/ctl": 4, "internal/daemon": 4, "internal/cabinetsim": 4,
	"internal/e2e": 4, "internal/epcis": 4,
}

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
	Standard   bool
}

// list runs `go list -deps -json` on the module's packages.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-json=ImportPath,Dir,GoFiles,Imports,Deps,Standard"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var ps []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func rel(path string) string { return strings.TrimPrefix(path, module) }

func TestImportsPointDown(t *testing.T) {
	for _, p := range list(t, "./...") {
		name := rel(p.ImportPath)
		if !strings.HasPrefix(name, "internal/") {
			continue // cmd/*: the top floor, which may import anything below
		}
		f, ok := floors[name]
		if !ok {
			t.Errorf("%s has no floor: give it one in floors_test.go and docs/architecture.md", name)
			continue
		}
		if f == 0 {
			continue // a test helper may set up anything
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			g, ok := floors[rel(imp)]
			if ok && g > f {
				t.Errorf("%s (floor %d) imports %s (floor %d): imports point down only", name, f, rel(imp), g)
			}
			if ok && f == 1 && g != 0 {
				t.Errorf("%s is vocabulary (floor 1) and imports %s: vocabulary has no project imports", name, rel(imp))
			}
		}
	}
}

// never lists what must not appear among a package's dependencies, and why.
var never = []arrow{
	{[]string{"internal/epc", "internal/wire", "internal/reader/r2000", "internal/reader/m6e", "internal/reader/llrp", "internal/cabinet", "internal/scanner"},
		[]string{"github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/server/v2", module + "internal/store", "github.com/mattn/go-sqlite3"},
		"a codec imports MQTT or the store"},
	{[]string{"internal/reconcile"},
		[]string{"github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/server/v2", module + "internal/store", "github.com/mattn/go-sqlite3"},
		"reconcile imports the store or MQTT"},
	{[]string{"internal/agent", "internal/agent/config", "internal/agent/round", "internal/agent/presence", "cmd/custody-agent"},
		[]string{module + "internal/register"},
		"the agent imports the register"},
	{[]string{"cmd/custodyctl", "internal/ctl", "internal/api/apitype"},
		[]string{"github.com/mattn/go-sqlite3", "github.com/jackc/pgx/v5", "github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/server/v2"},
		"custodyctl links a database driver or MQTT: it is a plain HTTP client"},
}

// An arrow is a rule "these packages never link those".
type arrow struct {
	pkgs   []string
	banned []string // a path, or a path prefix ending in "/"
	why    string
}

// arrowsBroken checks the rules against deps (package → its dependencies, as `go list -deps`
// gives them) and says what breaks them.
func arrowsBroken(deps map[string][]string, rules []arrow) []string {
	var broken []string
	for _, n := range rules {
		for _, name := range n.pkgs {
			d, ok := deps[name]
			if !ok {
				broken = append(broken, name+": no such package (update this test)")
				continue
			}
			for _, dep := range d {
				for _, b := range n.banned {
					if dep == b || strings.HasPrefix(dep, b+"/") {
						broken = append(broken, fmt.Sprintf("%s links %s: DESIGN.md §4 says never: %s", name, rel(dep), n.why))
					}
				}
			}
		}
	}
	return broken
}

// deps is every package of the module with its dependencies.
func deps(t *testing.T) map[string][]string {
	d := map[string][]string{}
	for _, p := range list(t, "./...") {
		d[rel(p.ImportPath)] = p.Deps
	}
	return d
}

func TestNeverArrows(t *testing.T) {
	for _, b := range arrowsBroken(deps(t), never) {
		t.Error(b)
	}
}

// custodyctlLinks is every package of this module custodyctl may link: the vocabulary, the API's
// shapes, the offline tools (audit verify and its signed anchor, epc, label rendering, the sealed
// backup stream and the crypto profile they use) and its own commands. A server
// package (store, register, alert, reconcile, ingest, api, console, daemon, …) among its
// dependencies would put the server, its cgo SQLite driver and its start-up work into every
// custodyctl call; a new package it needs must be added here on purpose.
var custodyctlLinks = []string{
	"internal/custody", "internal/epc", "internal/audit", "internal/buildinfo", "internal/sitetime", "internal/duration",
	"internal/cryptoprofile", "internal/anchor", "internal/sealedbackup",
	"internal/api/apitype", "internal/labels", "internal/ctl",
}

// clientLinksServer lists the module's packages among deps that a client may not link.
func clientLinksServer(client string, deps []string, allowed []string) []string {
	var bad []string
	for _, d := range deps {
		if !strings.HasPrefix(d, module) {
			continue
		}
		if !slices.Contains(allowed, rel(d)) {
			bad = append(bad, fmt.Sprintf("%s links %s: custodyctl links no server package, only %s", client, rel(d), strings.Join(allowed, ", ")))
		}
	}
	return bad
}

func TestCustodyctlLinksNoServer(t *testing.T) {
	d := deps(t)
	for _, b := range clientLinksServer("cmd/custodyctl", d["cmd/custodyctl"], custodyctlLinks) {
		t.Error(b)
	}
}

// The checks fail on a forbidden import: fed dependency lists as `go list` would give them had
// someone added the imports, they name each break.
func TestChecksCatchForbiddenImports(t *testing.T) {
	synthetic := map[string][]string{
		"cmd/custodyctl":        {"fmt", module + "internal/ctl", module + "internal/register", module + "internal/store", "github.com/mattn/go-sqlite3"},
		"internal/ctl":          {"fmt", module + "internal/api/apitype", module + "internal/custody"},
		"internal/api/apitype":  {"time", module + "internal/custody"},
		"internal/reconcile":    {"math", module + "internal/store"},
		"internal/epc":          {"strings", "github.com/eclipse/paho.mqtt.golang/packets"},
		"internal/wire":         {"crypto/hmac"},
		"internal/reader/r2000": {}, "internal/reader/m6e": {}, "internal/reader/llrp": {}, "internal/cabinet": {}, "internal/scanner": {},
		"internal/agent":        {module + "internal/register"},
		"internal/agent/config": {}, "internal/agent/round": {}, "internal/agent/presence": {}, "cmd/custody-agent": {},
	}
	got := strings.Join(arrowsBroken(synthetic, never), "\n")
	for _, want := range []string{
		"cmd/custodyctl links github.com/mattn/go-sqlite3",
		"internal/reconcile links internal/store",
		"internal/epc links github.com/eclipse/paho.mqtt.golang/packets",
		"internal/agent links internal/register",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("arrowsBroken said\n%s\nwant it to say %q", got, want)
		}
	}
	if strings.Contains(got, "internal/ctl links") || strings.Contains(got, "internal/wire links") {
		t.Errorf("arrowsBroken blamed an innocent package:\n%s", got)
	}
	got = strings.Join(clientLinksServer("cmd/custodyctl", synthetic["cmd/custodyctl"], custodyctlLinks), "\n")
	for _, want := range []string{"links internal/register", "links internal/store"} {
		if !strings.Contains(got, want) {
			t.Errorf("clientLinksServer said\n%s\nwant it to say %q", got, want)
		}
	}
	if strings.Contains(got, "internal/ctl") && strings.Contains(got, "links internal/ctl") {
		t.Errorf("clientLinksServer blamed custodyctl's own commands:\n%s", got)
	}
}

// wire is the one contract shared by agents, custodyd and other implementations: standard library
// only.
func TestWireIsStandardLibraryOnly(t *testing.T) {
	std := map[string]bool{}
	for _, p := range list(t, "std") {
		std[p.ImportPath] = true
	}
	for _, p := range list(t, "./internal/wire") {
		for _, d := range p.Deps {
			if !std[d] {
				t.Errorf("internal/wire links %s: wire imports only the standard library", d)
			}
		}
	}
}

// reconcile takes everything as arguments, the time too: its decisions are replayable.
func TestReconcileReadsNoClock(t *testing.T) {
	for _, p := range list(t, "./internal/reconcile/...") {
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				code, _, _ := strings.Cut(line, "//")
				if strings.Contains(code, "time.Now(") || strings.Contains(code, "time.Since(") || strings.Contains(code, "time.Until(") {
					t.Errorf("%s/%s:%d reads the clock: reconcile takes the time as an argument", rel(p.ImportPath), f, i+1)
				}
			}
		}
	}
}
