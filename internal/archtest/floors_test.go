package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/custodyhq/custody/"

// floors gives every package under internal/ its floor (docs/architecture.md). Packages that only
// tests import (test helpers) are floor 0: anything may import them from a _test file, and `go
// list` without -test does not show those imports.
var floors = map[string]int{
	"internal/testenv": 0, "internal/alert/alerttest": 0, "internal/reader/readertest": 0, "internal/archtest": 0,
	"internal/epcis/epcistest": 0,

	"internal/custody": 1, "internal/epc": 1, "internal/wire": 1, "internal/audit": 1,
	"internal/duration": 1, "internal/sitetime": 1, "internal/buildinfo": 1, "internal/cryptoprofile": 1,

	"internal/store": 2, "internal/auth": 2, "internal/outbox": 2, "internal/serialport": 2, "internal/netport": 2,
	"internal/reader": 2, "internal/reader/r2000": 2, "internal/reader/m6e": 2, "internal/reader/llrp": 2, "internal/reader/sim": 2,
	"internal/cabinet": 2, "internal/cabinet/sim": 2, "internal/scanner": 2, "internal/scanner/sim": 2,
	"internal/capture": 2, "internal/alert/notify": 2, "internal/ledger": 2, "internal/mqttconn": 2, "internal/anchor": 2,
	"internal/sealedbackup": 2,

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
var never = []struct {
	pkgs   []string
	banned []string
	why    string
}{
	{[]string{"internal/epc", "internal/wire", "internal/reader/r2000", "internal/reader/m6e", "internal/reader/llrp", "internal/cabinet", "internal/scanner"},
		[]string{"github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/server/v2", module + "internal/store", "github.com/mattn/go-sqlite3"},
		"a codec imports MQTT or the store"},
	{[]string{"internal/reconcile"},
		[]string{"github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/server/v2", module + "internal/store", "github.com/mattn/go-sqlite3"},
		"reconcile imports the store or MQTT"},
	{[]string{"internal/agent", "internal/agent/config", "internal/agent/round", "internal/agent/presence", "cmd/custody-agent"},
		[]string{module + "internal/register"},
		"the agent imports the register"},
}

func TestNeverArrows(t *testing.T) {
	deps := map[string][]string{}
	for _, p := range list(t, "./...") {
		deps[rel(p.ImportPath)] = p.Deps
	}
	for _, n := range never {
		for _, name := range n.pkgs {
			d, ok := deps[name]
			if !ok {
				t.Errorf("%s: no such package (update this test)", name)
				continue
			}
			for _, dep := range d {
				for _, b := range n.banned {
					if dep == b || strings.HasPrefix(dep, b+"/") {
						t.Errorf("%s links %s: DESIGN.md §4 says never: %s", name, rel(dep), n.why)
					}
				}
			}
		}
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
