package agent

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/wire"
)

// servePTY serves a simulated reader on a pseudo-terminal until the test ends.
func servePTY(t *testing.T, s interface {
	Serve(context.Context, io.ReadWriter) error
}) string {
	t.Helper()
	path, stop, err := sim.ServePTY(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return path
}

// stationConfig is an agent with one station reader per desk and no cabinet.
func stationConfig(t *testing.T, brokerURL string, key []byte, desks map[string]string) config.Config {
	t.Helper()
	src := fmt.Sprintf(`
[agent]
id = %q
key = "%s"
outbox = %q
[mqtt]
brokers = [%q]
max_reconnect_interval = "1s"
[schedule]
every = "0s"
`, agentID, b64(key), filepath.Join(t.TempDir(), "outbox.db"), brokerURL)
	for desk, driver := range desks {
		src += fmt.Sprintf("[[reader]]\nid = \"station-%s\"\ndriver = %q\nport = \"/dev/null\"\nstation = %q\nstation_power_dbm = 10\n", desk, driver, desk)
	}
	c, err := config.Parse([]byte(src), "station.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runStations runs an agent whose station readers open the given paths (by reader id).
func runStations(t *testing.T, cfg config.Config, paths map[string]string) {
	t.Helper()
	runAgent(t, cfg, nil, Options{OpenPort: func(rc config.Reader) (Port, error) {
		rc.Port = paths[rc.ID]
		return openSerial(rc)
	}})
}

const prefix = "0614141"

func itemEPC(t *testing.T, id uint64) string {
	t.Helper()
	e, err := epc.Issuer{CompanyPrefix: prefix, DocumentType: "12345"}.ForItem(id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Hex()
}

// encode sends encode_tag for item id at desk and returns the agent's answer.
func encode(t *testing.T, o *observer, desk string, id uint64) *wire.CmdResult {
	t.Helper()
	cmd := o.command(wire.KindEncodeTag, wire.EncodeTag{Desk: desk, Item: fmt.Sprintf("item:%d", id), EPC: itemEPC(t, id), CompanyPrefix: prefix}, time.Now())
	g, _ := o.wait(0, 20*time.Second, "cmd_result of "+cmd, resultOf(cmd))
	r := g.body.(*wire.CmdResult)
	if r.Tag == nil {
		t.Fatalf("encode_tag answered without tag: %+v", r)
	}
	return r
}

// The station writes a blank tag and reads it back, does nothing to a tag that already carries
// the EPC, and refuses — writing nothing — a tag of another registered item, an empty pad, two
// tags on the pad and a desk it has no station for. Both drivers: R2000 at D-1, M6e at D-2.
func TestEncodingStationOverPTY(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r2, err := sim.NewR2000(sim.Scenario{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	m6, err := sim.NewM6e(sim.Scenario{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"station-D-1": servePTY(t, r2), "station-D-2": servePTY(t, m6)}
	runStations(t, stationConfig(t, b.URL(), key, map[string]string{"D-1": "r2000", "D-2": "m6e"}), paths)
	waitFor(t, 10*time.Second, "agent online", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.avail) > 0 && o.avail[len(o.avail)-1] == `{"state":"online"}`
	})

	blank := func(n int) []sim.Tag {
		var ts []sim.Tag
		for i := range n {
			ts = append(ts, sim.Tag{EPC: fmt.Sprintf("E2801160600002AA%08X", i+1), Antenna: 1})
		}
		return ts
	}
	type pad interface {
		SetTags([]sim.Tag) error
		Tags() []sim.Tag
	}
	for _, st := range []struct {
		desk string
		dev  pad
	}{{"D-1", r2}, {"D-2", m6}} {
		t.Run(st.desk, func(t *testing.T) {
			st.dev.SetTags(blank(1))
			r := encode(t, o, st.desk, 1)
			if !*r.OK || r.Tag.Outcome != wire.TagWritten || r.Tag.EPC != itemEPC(t, 1) || r.Tag.Seen != 1 {
				t.Fatalf("blank tag: got ok=%v %+v (%s), want written %s", *r.OK, *r.Tag, r.Error, itemEPC(t, 1))
			}
			if got := st.dev.Tags(); got[0].EPC != itemEPC(t, 1) {
				t.Fatalf("tag on the pad after writing: got %s, want %s", got[0].EPC, itemEPC(t, 1))
			}

			r = encode(t, o, st.desk, 1)
			if !*r.OK || r.Tag.Outcome != wire.TagAlready {
				t.Fatalf("same item again: got ok=%v %+v, want already", *r.OK, *r.Tag)
			}

			r = encode(t, o, st.desk, 2)
			if *r.OK || r.Tag.Reason != wire.TagOtherItem || r.Tag.EPC != itemEPC(t, 1) {
				t.Fatalf("item 2 onto item 1's tag: got ok=%v %+v, want refused other_item naming %s", *r.OK, *r.Tag, itemEPC(t, 1))
			}
			if got := st.dev.Tags(); got[0].EPC != itemEPC(t, 1) {
				t.Fatalf("refused write changed the tag: got %s, want %s still", got[0].EPC, itemEPC(t, 1))
			}

			st.dev.SetTags(blank(2))
			r = encode(t, o, st.desk, 3)
			if *r.OK || r.Tag.Reason != wire.TagSeveral || r.Tag.Seen != 2 {
				t.Fatalf("two tags on the pad: got ok=%v %+v, want refused several_tags with seen 2", *r.OK, *r.Tag)
			}
			for _, tg := range st.dev.Tags() {
				if tg.EPC == itemEPC(t, 3) {
					t.Fatal("with two tags on the pad one was written anyway")
				}
			}

			st.dev.SetTags(nil)
			if r = encode(t, o, st.desk, 3); *r.OK || r.Tag.Reason != wire.TagNoTag {
				t.Fatalf("empty pad: got ok=%v %+v, want refused no_tag", *r.OK, *r.Tag)
			}
		})
	}
	if r := encode(t, o, "D-9", 4); *r.OK || r.Tag.Reason != wire.TagNoStation {
		t.Fatalf("desk without a station: got ok=%v %+v, want refused no_station", *r.OK, *r.Tag)
	}
	// A command that waited in the session longer than the limit is not executed.
	cmd := o.command(wire.KindEncodeTag, wire.EncodeTag{Desk: "D-1", Item: "item:5", EPC: itemEPC(t, 5), CompanyPrefix: prefix}, time.Now().Add(-5*time.Minute))
	g, _ := o.wait(0, 20*time.Second, "cmd_result of "+cmd, resultOf(cmd))
	if r := g.body.(*wire.CmdResult); *r.OK || r.Tag == nil || r.Tag.Reason != wire.TagStale {
		t.Fatalf("stale command: got %+v, want refused stale", r)
	}
}
