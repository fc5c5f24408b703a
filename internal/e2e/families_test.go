package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestThreeFamiliesSideBySide runs the demo's room with C-01's R2000 on its serial line as
// shipped, C-02's reader an M6e behind a serial device server (the agent's port is
// tcp://host:port) and C-03's an LLRP network reader: every cabinet's inventory is complete and
// reads exactly its own copies, through the real programs over real TCP. Then the serial server
// goes away and comes back, and the LLRP reader cuts its connection in the middle of a report:
// each time the agent reconnects by itself and the cabinet's next inventory is complete again.
func TestThreeFamiliesSideBySide(t *testing.T) {
	serialServer, llrpReader := freeAddr(t), freeAddr(t)
	editScenario := func(tb testing.TB, sc []byte) []byte {
		s := string(sc)
		for _, c := range []struct{ old, repl string }{
			{"link = \"cab-02\"        # DIR/cab-02-reader\nreader = \"r2000\"", "link = \"cab-02\"\nreader = \"m6e\"\nlisten = \"" + serialServer + "\""},
			{"link = \"cab-03\"        # DIR/cab-03-reader\nreader = \"m6e\"", "link = \"cab-03\"\nreader = \"llrp\"\nlisten = \"" + llrpReader + "\""},
		} {
			if !strings.Contains(s, c.old) {
				tb.Fatalf("three-cabinets.toml no longer says %q", c.old)
			}
			s = strings.Replace(s, c.old, c.repl, 1)
		}
		return []byte(s)
	}
	editAgent := func(tb testing.TB, cfg string) string {
		for _, c := range []struct{ old, repl string }{
			{"id = \"cab-02\"\ndriver = \"r2000\"\nport = ", "id = \"cab-02\"\ndriver = \"m6e\"\nport = \"tcp://" + serialServer + "\"\n# was "},
			{"id = \"cab-03\"\ndriver = \"m6e\"\nport = ", "id = \"cab-03\"\ndriver = \"llrp\"\nport = \"tcp://" + llrpReader + "\"\n# was "},
		} {
			if !strings.Contains(cfg, c.old) {
				tb.Fatalf("agent-three-cabinets.toml no longer says %q", c.old)
			}
			cfg = strings.Replace(cfg, c.old, c.repl, 1)
		}
		return cfg
	}
	r := startRoomEdited(t, "30s", "", editScenario, editAgent)

	// The copies of each cabinet (register items 1–12, 13–22, 23–31): every one is read, by a
	// complete inventory of its own cabinet, and nothing of another cabinet but C-02's one copy
	// that C-01 hears through the wall.
	want := map[string][]string{}
	for id := 1; id <= 31; id++ {
		cab := "C-01"
		switch {
		case id > 22:
			cab = "C-03"
		case id > 12:
			cab = "C-02"
		}
		want[cab] = append(want[cab], tagEPC(id))
	}
	for _, cab := range []string{"C-01", "C-02", "C-03"} {
		r.allRead(0, cab, want[cab], 90*time.Second)
	}

	// The serial device server goes away and comes back on the same address.
	r.simDo("vanish C-02")
	r.simDo("return C-02")
	from := r.mark()
	r.simDo("door C-02 open")
	r.simDo("door C-02 close")
	r.allRead(from, "C-02", want["C-02"], 90*time.Second)

	// The LLRP reader drops the connection in the middle of a report, then refuses a round.
	for _, fault := range []string{"drop-report", "refuse"} {
		r.simDo("fault C-03 " + fault)
		from = r.mark()
		r.simDo("door C-03 open")
		r.simDo("door C-03 close")
		r.allRead(from, "C-03", want["C-03"], 120*time.Second)
	}
}

// allRead waits, from broker message index from on, until complete inventories of cab have read
// every EPC of want between them, and fails if any of them reads a tag of another cabinet (the
// one cross-read of the scenario aside).
func (r *room) allRead(from int, cab string, want []string, d time.Duration) {
	r.tb.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			r.tb.Fatalf("cabinet %s: complete inventories read %d of its %d copies within %s (missing %v)", cab, len(seen), len(want), d, missingOf(want, seen))
		}
		m, i := r.wait(from, left, fmt.Sprintf("a complete inventory of %s reading all its copies", cab), r.inventoryOf(cab))
		from = i + 1
		e, _ := r.obsOf("inventory", m)
		var inv struct {
			Complete bool `json:"complete"`
			Tags     []struct {
				EPC string `json:"epc"`
			} `json:"tags"`
		}
		if err := json.Unmarshal(e.Body, &inv); err != nil {
			r.tb.Fatalf("inventory of %s: %v", cab, err)
		}
		if !inv.Complete {
			continue // a round cut short by a fault: the next one counts
		}
		for _, tg := range inv.Tags {
			epc := strings.ToUpper(tg.EPC)
			ok := false
			for _, w := range want {
				ok = ok || w == epc
			}
			if !ok && !(cab == "C-01" && epc == tagEPC(13)) {
				r.tb.Fatalf("cabinet %s read %s, which is not one of its copies", cab, epc)
			}
			if ok {
				seen[epc] = true
			}
		}
		if len(seen) == len(want) {
			return
		}
	}
}

func missingOf(want []string, seen map[string]bool) []string {
	var out []string
	for _, w := range want {
		if !seen[w] {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}
