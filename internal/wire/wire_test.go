package wire_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

var update = flag.Bool("update", false, "rewrite firmware-protocol/vectors/wire*.json from the Go encoder")

var (
	testKey = mustHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	t0      = time.Date(2026, 11, 26, 8, 30, 0, 125e6, time.UTC)
	yes     = true
	no      = false
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

type sample struct {
	dir  wire.Dir
	kind string
	body any
}

// samples holds one realistic body of every kind in both directions.
func samples() []sample {
	return []sample{
		{wire.DirObs, wire.KindInventory, wire.Inventory{
			Cabinet: "C-0101", Round: "r-20261126-0830", Started: "2026-11-26T08:29:40.000Z", Ended: "2026-11-26T08:30:00.000Z", Rounds: 2,
			Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}, {Antenna: 2, OK: &no, Error: "reflected power high"}},
			Complete: &no,
			Tags: []wire.TagRead{{EPC: "E28011702000020A8F6E0A3C", Antenna: 1, RSSI: -61.5, Reads: 14,
				FirstSeen: "2026-11-26T08:29:40.120Z", LastSeen: "2026-11-26T08:29:59.870Z"}},
		}},
		{wire.DirObs, wire.KindDoor, wire.Door{Cabinet: "C-0101", State: "open", Badge: "E-1042"}},
		{wire.DirObs, wire.KindScan, wire.Scan{Desk: "D-1", Scanner: "hs-1", Symbology: "code128", Data: "JY-2026-017/03"}},
		{wire.DirObs, wire.KindPresence, wire.Presence{Cabinet: "C-0101", Round: "r-2", Arrived: []string{"E28011702000020A8F6E0A3C"}, Left: []string{}}},
		{wire.DirObs, wire.KindFault, wire.Fault{Device: "reader-1", Code: "antenna_open", Message: "antenna 2 open circuit", Cleared: &no}},
		{wire.DirObs, wire.KindCmdResult, wire.CmdResult{Cmd: "cmd-17", Kind: wire.KindResync, OK: &yes, Oldest: 1}},
		{wire.DirCmd, wire.KindInventory, wire.InventoryCmd{Cabinet: "C-0101", Mode: "confirm", Reason: "suspected missing"}},
		{wire.DirCmd, wire.KindUnlock, wire.Unlock{Cabinet: "C-0101", Seconds: 30}},
		{wire.DirCmd, wire.KindLock, wire.Lock{Cabinet: "C-0101"}},
		{wire.DirCmd, wire.KindResync, wire.Resync{From: 42}},
		{wire.DirCmd, wire.KindEncodeTag, wire.EncodeTag{Desk: "D-1", Item: "item:42", EPC: "2C2025E1D8AE380000000030", CompanyPrefix: "0614141"}},
		{wire.DirObs, wire.KindCmdResult, wire.CmdResult{Cmd: "cmd-18", Kind: wire.KindEncodeTag, OK: &yes, Tag: &wire.TagResult{Outcome: wire.TagWritten, EPC: "2C2025E1D8AE380000000030", Seen: 1}}},
		{wire.DirObs, wire.KindCmdResult, wire.CmdResult{Cmd: "cmd-19", Kind: wire.KindEncodeTag, OK: &no, Error: "tag belongs to another item",
			Tag: &wire.TagResult{Outcome: wire.TagRefused, Reason: wire.TagOtherItem, EPC: "2C2025E1D8AE380000000031", Seen: 1}}},
	}
}

func seal(t testing.TB, s sample, seq uint64) (wire.Envelope, []byte) {
	t.Helper()
	e, err := wire.Seal(s.dir, testKey, "agent-7", "boot-3f9a", seq, "agent-7-"+s.kind+"-1", t0, s.kind, s.body)
	if err != nil {
		t.Fatalf("seal %s: %v", s.kind, err)
	}
	p, err := e.Marshal()
	if err != nil {
		t.Fatalf("marshal %s: %v", s.kind, err)
	}
	return e, p
}

func TestRoundTripEveryKind(t *testing.T) {
	for _, s := range samples() {
		t.Run(string(s.dir)+"-"+s.kind, func(t *testing.T) {
			_, p := seal(t, s, 9)
			e, err := wire.Parse(p, s.dir)
			if err != nil {
				t.Fatalf("parse: got %v, want nil", err)
			}
			if err := e.Verify(s.dir, testKey); err != nil {
				t.Fatalf("verify: got %v, want nil", err)
			}
			if _, err := e.DecodeBody(s.dir); err != nil {
				t.Fatalf("body: got %v, want nil", err)
			}
			other := wire.DirCmd
			if s.dir == wire.DirCmd {
				other = wire.DirObs
			}
			// Direction is inside the MAC: an inventory command replayed as an observation fails.
			if err := e.Verify(other, testKey); wire.ReasonOf(err) != wire.ReasonBadMAC {
				t.Errorf("verify for the other direction: got %v, want bad_mac", err)
			}
			again, _ := e.Marshal()
			if !bytes.Equal(again, p) {
				t.Errorf("re-marshal changed bytes:\n got %s\nwant %s", again, p)
			}
		})
	}
}

func TestGoEncodingsMatchSchemas(t *testing.T) {
	env := loadSchema(t, "envelope.schema.json")
	for _, s := range samples() {
		_, p := seal(t, s, 1)
		v := decodeAny(t, p)
		if err := validate(env, v, "envelope"); err != nil {
			t.Errorf("%s %s envelope: %v", s.dir, s.kind, err)
		}
		body := loadSchema(t, string(s.dir)+"-"+s.kind+".schema.json")
		if err := validate(body, v.(map[string]any)["body"], "body"); err != nil {
			t.Errorf("%s %s body: %v", s.dir, s.kind, err)
		}
	}
	avail := loadSchema(t, "availability.schema.json")
	for _, p := range [][]byte{wire.Online, wire.Offline} {
		if err := validate(avail, decodeAny(t, p), "availability"); err != nil {
			t.Errorf("availability %s: %v", p, err)
		}
	}
	alert, _ := json.Marshal(wire.Alert{ID: "A-1", Kind: "missing", Severity: "critical", Cabinet: "C-0101", Room: "R301", Items: []int64{17}, Count: 1, At: "2026-11-26T08:31:00.000Z", State: "open", Link: "https://custody.example/alerts/A-1"})
	if err := validate(loadSchema(t, "alert.schema.json"), decodeAny(t, alert), "alert"); err != nil {
		t.Errorf("alert: %v", err)
	}
	// The shape before rule 11 was enforced named the copy by its document number and its level:
	// the schema must refuse it.
	old := []byte(`{"id":"A-1","kind":"missing","severity":"critical","cabinet":"C-0101","item":"JY-2026-017/03","level":"secret","count":1,"at":"2026-11-26T08:31:00.000Z","state":"open","link":"https://custody.example/alerts/A-1"}`)
	if err := validate(loadSchema(t, "alert.schema.json"), decodeAny(t, old), "alert"); err == nil {
		t.Error("alert with item and level words: schema accepted it, want a refusal")
	}
}

// badBodies are schema violations; Go's DecodeBody and the JSON Schema must both refuse each.
var badBodies = []struct {
	dir  wire.Dir
	kind string
	body string
}{
	{wire.DirObs, "door", `{"cabinet":"C1"}`},
	{wire.DirObs, "door", `{"cabinet":"C1","state":"ajar"}`},
	{wire.DirObs, "door", `{"cabinet":"C1","state":"open","color":"red"}`},
	{wire.DirObs, "scan", `{"desk":"D1","scanner":"s","symbology":"qr","data":""}`},
	{wire.DirObs, "presence", `{"cabinet":"C1","round":"r","arrived":["XYZ"],"left":[]}`},
	{wire.DirObs, "presence", `{"cabinet":"C1","round":"r","arrived":[]}`},
	{wire.DirObs, "fault", `{"device":"r1","code":"x"}`},
	{wire.DirObs, "cmd_result", `{"cmd":"c1","kind":"reboot","ok":true}`},
	{wire.DirObs, "inventory", `{"cabinet":"C1","round":"r","started_at":"2026-11-26T08:00:00Z","ended_at":"2026-11-26T08:00:10Z","rounds":0,"antennas":[],"complete":true,"tags":[]}`},
	{wire.DirObs, "inventory", `{"cabinet":"C1","round":"r","started_at":"2026-11-26T08:00:00Z","ended_at":"2026-11-26T08:00:10Z","rounds":1,"antennas":[],"tags":[]}`},
	{wire.DirObs, "inventory", `{"cabinet":"C1","round":"r","started_at":"yesterday","ended_at":"2026-11-26T08:00:10Z","rounds":1,"antennas":[],"complete":true,"tags":[]}`},
	{wire.DirObs, "inventory", `{"cabinet":"C1","round":"r","started_at":"2026-11-26T08:00:00Z","ended_at":"2026-11-26T08:00:10Z","rounds":1,"antennas":[],"complete":true,"tags":[{"epc":"E280117020000","antenna":1,"rssi":-60,"reads":1,"first_seen":"2026-11-26T08:00:01Z","last_seen":"2026-11-26T08:00:02Z"}]}`},
	{wire.DirObs, "inventory", `{"cabinet":"C1","round":"r","started_at":"2026-11-26T08:00:00Z","ended_at":"2026-11-26T08:00:10Z","rounds":1,"antennas":[{"antenna":0,"ok":true}],"complete":true,"tags":[]}`},
	{wire.DirCmd, "inventory", `{"cabinet":"C1","mode":"later"}`},
	{wire.DirCmd, "unlock", `{"cabinet":"C1","seconds":3600}`},
	{wire.DirCmd, "resync", `{"from":0}`},
	{wire.DirCmd, "resync", `{"from":1.5}`},
	{wire.DirCmd, "lock", `{}`},
	{wire.DirCmd, "encode_tag", `{"desk":"D1","item":"item:1","epc":"2C20","company_prefix":"0614141"}`},
	{wire.DirCmd, "encode_tag", `{"desk":"D1","item":"item:1","epc":"2C2025E1D8AE380000000030","company_prefix":"61414"}`},
	{wire.DirCmd, "encode_tag", `{"desk":"D1","epc":"2C2025E1D8AE380000000030","company_prefix":"0614141"}`},
	{wire.DirObs, "cmd_result", `{"cmd":"c1","kind":"encode_tag","ok":false,"tag":{"outcome":"refused","reason":"bad_luck","seen":1}}`},
	{wire.DirObs, "cmd_result", `{"cmd":"c1","kind":"encode_tag","ok":true,"tag":{"outcome":"burnt","seen":1}}`},
	{wire.DirObs, "cmd_result", `{"cmd":"c1","kind":"encode_tag","ok":true,"tag":{"outcome":"written","seen":1,"epc":"XYZ"}}`},
}

func TestBadBodiesRefusedByGoAndSchema(t *testing.T) {
	for _, c := range badBodies {
		e, err := wire.Seal(c.dir, testKey, "a1", "b1", 1, "m1", t0, c.kind, json.RawMessage(c.body))
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		p, _ := e.Marshal()
		e, err = wire.Parse(p, c.dir)
		if err != nil {
			t.Fatalf("%s %s: parse: got %v, want nil (only the body is bad)", c.dir, c.kind, err)
		}
		if _, err := e.DecodeBody(c.dir); wire.ReasonOf(err) != wire.ReasonSchema {
			t.Errorf("%s %s %s: Go got %v, want a schema error", c.dir, c.kind, c.body, err)
		}
		s := loadSchema(t, string(c.dir)+"-"+c.kind+".schema.json")
		if err := validate(s, decodeAny(t, []byte(c.body)), "body"); err == nil {
			t.Errorf("%s %s %s: the JSON Schema accepted it, want a violation", c.dir, c.kind, c.body)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	good := func(mut func(m map[string]any)) []byte {
		_, p := seal(t, samples()[1], 5)
		var m map[string]any
		json.Unmarshal(p, &m)
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := []struct {
		name string
		p    []byte
		want wire.Reason
	}{
		{"oversized", bytes.Repeat([]byte(" "), wire.MaxPayload+1), wire.ReasonOversized},
		{"not json", []byte(`{"v":"1.0",`), wire.ReasonMalformed},
		{"array", []byte(`[1,2]`), wire.ReasonMalformed},
		{"empty", nil, wire.ReasonMalformed},
		{"no version", good(func(m map[string]any) { delete(m, "v") }), wire.ReasonVersion},
		{"major 2", good(func(m map[string]any) { m["v"] = "2.0" }), wire.ReasonVersion},
		{"version garbage", good(func(m map[string]any) { m["v"] = "one" }), wire.ReasonVersion},
		{"unknown member same minor", good(func(m map[string]any) { m["prio"] = 1 }), wire.ReasonSchema},
		{"seq zero", good(func(m map[string]any) { m["seq"] = 0 }), wire.ReasonSchema},
		{"seq negative", good(func(m map[string]any) { m["seq"] = -4 }), wire.ReasonSchema},
		{"seq string", good(func(m map[string]any) { m["seq"] = "5" }), wire.ReasonSchema},
		{"agent with slash", good(func(m map[string]any) { m["agent"] = "a/b" }), wire.ReasonSchema},
		{"agent with newline", good(func(m map[string]any) { m["agent"] = "a\nb" }), wire.ReasonSchema},
		{"bad time", good(func(m map[string]any) { m["at"] = "26/11/2026" }), wire.ReasonSchema},
		{"body not object", good(func(m map[string]any) { m["body"] = "x" }), wire.ReasonSchema},
		{"unknown kind", good(func(m map[string]any) { m["kind"] = "teleport" }), wire.ReasonUnknownKind},
		{"cmd kind on obs", good(func(m map[string]any) { m["kind"] = "unlock" }), wire.ReasonUnknownKind},
		{"missing mac", good(func(m map[string]any) { delete(m, "mac") }), wire.ReasonBadMAC},
		{"short mac", good(func(m map[string]any) { m["mac"] = "abcd" }), wire.ReasonBadMAC},
	}
	for _, c := range cases {
		_, err := wire.Parse(c.p, wire.DirObs)
		if got := wire.ReasonOf(err); got != c.want {
			t.Errorf("%s: got reason %q (%v), want %q", c.name, got, err, c.want)
		}
	}
	_, err := wire.Parse(good(func(m map[string]any) { m["v"] = "2.0" }), wire.DirObs)
	if err == nil || !strings.Contains(err.Error(), "unsupported major version 2") {
		t.Errorf("major 2: got %v, want a reason naming the unsupported major version", err)
	}
}

func TestNewerMinorAccepted(t *testing.T) {
	// A 1.7 agent adds members custodyd (1.0) does not know; the MAC still covers the body.
	e := wire.Envelope{V: "1.7", Agent: "a1", Boot: "b1", Seq: 3, ID: "m3", At: "2026-11-26T08:00:00Z", Kind: "door",
		Body: json.RawMessage(`{"cabinet":"C1","state":"closed","duration_ms":5100}`)}
	e.MAC = e.ComputeMAC(wire.DirObs, testKey)
	p, _ := json.Marshal(map[string]any{"v": e.V, "agent": e.Agent, "boot": e.Boot, "seq": e.Seq, "id": e.ID, "at": e.At,
		"kind": e.Kind, "body": e.Body, "mac": e.MAC, "trace": "x"})
	got, err := wire.Parse(p, wire.DirObs)
	if err != nil {
		t.Fatalf("parse 1.7: got %v, want nil", err)
	}
	if err := got.Verify(wire.DirObs, testKey); err != nil {
		t.Fatalf("verify 1.7: got %v, want nil", err)
	}
	b, err := got.DecodeBody(wire.DirObs)
	if err != nil {
		t.Fatalf("body 1.7: got %v, want nil", err)
	}
	if d := b.(*wire.Door); d.State != "closed" {
		t.Errorf("state: got %q, want closed", d.State)
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	e, _ := seal(t, samples()[1], 5)
	for name, mut := range map[string]func(e *wire.Envelope){
		"seq":   func(e *wire.Envelope) { e.Seq++ },
		"agent": func(e *wire.Envelope) { e.Agent = "agent-8" },
		"body":  func(e *wire.Envelope) { e.Body = json.RawMessage(`{"cabinet":"C-0101","state":"closed"}`) },
		"boot":  func(e *wire.Envelope) { e.Boot = "boot-0" },
		"key":   func(e *wire.Envelope) {},
	} {
		c := e
		mut(&c)
		key := testKey
		if name == "key" {
			key = bytes.Repeat([]byte{7}, 32)
		}
		if err := c.Verify(wire.DirObs, key); wire.ReasonOf(err) != wire.ReasonBadMAC {
			t.Errorf("tampered %s: got %v, want bad_mac", name, err)
		}
	}
}

func TestTopics(t *testing.T) {
	tp := wire.Topics{Base: "site/custody"}
	if got, want := tp.Obs("a1"), "site/custody/agents/a1/obs"; got != want {
		t.Errorf("obs: got %q, want %q", got, want)
	}
	if got, want := (wire.Topics{}).Availability("a1"), "custody/agents/a1/availability"; got != want {
		t.Errorf("availability: got %q, want %q", got, want)
	}
	agent, leaf, ok := tp.AgentOf("site/custody/agents/a1/cmd")
	if !ok || agent != "a1" || leaf != "cmd" {
		t.Errorf("AgentOf: got %q %q %v, want a1 cmd true", agent, leaf, ok)
	}
	for _, bad := range []string{"site/custody/agents/a1", "custody/agents/a1/obs", "site/custody/agents/a1/obs/x", "site/custody/agents//obs"} {
		if _, _, ok := tp.AgentOf(bad); ok {
			t.Errorf("AgentOf(%q): got ok, want refused", bad)
		}
	}
}

// vector is one entry of firmware-protocol/vectors/wire_mac.json: a non-Go implementation builds
// the canonical bytes from the payload's members and must reach the same MAC.
type vector struct {
	Name      string `json:"name"`
	Dir       string `json:"dir"`
	KeyHex    string `json:"key_hex"`
	Payload   string `json:"payload"`
	Canonical string `json:"canonical"`
	MAC       string `json:"mac"`
}

type rejectVector struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	Payload string `json:"payload"`
	Reason  string `json:"reason"`
}

func TestVectors(t *testing.T) {
	macPath := filepath.Join("..", "..", "firmware-protocol", "vectors", "wire_mac.json")
	rejPath := filepath.Join("..", "..", "firmware-protocol", "vectors", "wire_reject.json")
	if *update {
		var vs []vector
		for i, s := range samples() {
			e, p := seal(t, s, uint64(100+i))
			vs = append(vs, vector{Name: string(s.dir) + "-" + s.kind, Dir: string(s.dir), KeyHex: hex.EncodeToString(testKey),
				Payload: string(p), Canonical: string(e.Canonical(s.dir)), MAC: e.MAC})
		}
		// A payload with spaces inside the body: the MAC covers the body bytes as sent.
		raw := wire.Envelope{V: "1.0", Agent: "agent-7", Boot: "boot-3f9a", Seq: 200, ID: "agent-7-spaced", At: "2026-11-26T08:30:00+08:00",
			Kind: "door", Body: json.RawMessage(`{ "cabinet": "C-0101", "state": "closed" }`)}
		raw.MAC = raw.ComputeMAC(wire.DirObs, testKey)
		payload := `{"v":"1.0","agent":"agent-7","boot":"boot-3f9a","seq":200,"id":"agent-7-spaced","at":"2026-11-26T08:30:00+08:00","kind":"door","body":{ "cabinet": "C-0101", "state": "closed" },"mac":"` + raw.MAC + `"}`
		vs = append(vs, vector{Name: "obs-door-spaced-body", Dir: "obs", KeyHex: hex.EncodeToString(testKey), Payload: payload,
			Canonical: string(raw.Canonical(wire.DirObs)), MAC: raw.MAC})
		writeJSON(t, macPath, vs)
		_, door := seal(t, samples()[1], 5)
		bad := strings.Replace(string(door), `"state":"open"`, `"state":"closed"`, 1)
		major := strings.Replace(string(door), `"v":"`+wire.Version+`"`, `"v":"2.0"`, 1)
		kind := strings.Replace(string(door), `"kind":"door"`, `"kind":"teleport"`, 1)
		writeJSON(t, rejPath, []rejectVector{
			{"body changed after signing", "obs", bad, "bad_mac"},
			{"major version 2", "obs", major, "version"},
			{"unknown kind", "obs", kind, "unknown_kind"},
			{"truncated", "obs", string(door[:40]), "malformed"},
		})
	}
	var vs []vector
	readJSON(t, macPath, &vs)
	if len(vs) < len(samples()) {
		t.Fatalf("wire_mac.json: got %d vectors, want at least %d", len(vs), len(samples()))
	}
	for _, v := range vs {
		dir := wire.Dir(v.Dir)
		e, err := wire.Parse([]byte(v.Payload), dir)
		if err != nil {
			t.Errorf("%s: parse: %v", v.Name, err)
			continue
		}
		if got := string(e.Canonical(dir)); got != v.Canonical {
			t.Errorf("%s: canonical:\n got %q\nwant %q", v.Name, got, v.Canonical)
		}
		if got := e.ComputeMAC(dir, mustHex(v.KeyHex)); got != v.MAC {
			t.Errorf("%s: mac: got %s, want %s", v.Name, got, v.MAC)
		}
		if err := e.Verify(dir, mustHex(v.KeyHex)); err != nil {
			t.Errorf("%s: verify: %v", v.Name, err)
		}
		if _, err := e.DecodeBody(dir); err != nil {
			t.Errorf("%s: body: %v", v.Name, err)
		}
	}
	var rs []rejectVector
	readJSON(t, rejPath, &rs)
	for _, r := range rs {
		e, err := wire.Parse([]byte(r.Payload), wire.Dir(r.Dir))
		if err == nil {
			err = e.Verify(wire.Dir(r.Dir), testKey)
		}
		if got := string(wire.ReasonOf(err)); got != r.Reason {
			t.Errorf("reject %s: got %q (%v), want %q", r.Name, got, err, r.Reason)
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run go test ./internal/wire -run TestVectors -update)", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range samples() {
		_, p := seal(f, s, 1)
		f.Add(p)
	}
	f.Add([]byte(`{"v":"1.9","agent":"a","boot":"b","seq":1,"id":"i","at":"2026-11-26T08:00:00Z","kind":"door","body":{},"mac":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		e, err := wire.Parse(p, wire.DirObs)
		if err != nil {
			if wire.ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		// Whatever parses must have the members the contract requires and must survive a
		// re-encode with the same canonical bytes (the MAC would otherwise break in transit).
		if !wire.ValidID(e.Agent) || e.Seq == 0 || !wire.KnownKind(wire.DirObs, e.Kind) {
			t.Fatalf("parsed an envelope that breaks the contract: %+v", e)
		}
		_ = e.Verify(wire.DirObs, testKey)
		_, _ = e.DecodeBody(wire.DirObs)
		q, err := json.Marshal(struct {
			wire.Envelope
		}{e})
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := wire.Parse(q, wire.DirObs)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", q, err)
		}
		if e2.Agent != e.Agent || e2.Seq != e.Seq || e2.ID != e.ID || e2.Kind != e.Kind {
			t.Fatalf("round trip changed members: %+v vs %+v", e2, e)
		}
	})
}

// 1.2: an inventory tag says on how many of the round's passes it was read (issue 22). A 1.1
// agent's report without it still decodes (passes 0: unknown); passes beyond the round's are
// refused.
func TestInventoryTagPasses(t *testing.T) {
	decode := func(v, tags string) (*wire.Inventory, error) {
		e := wire.Envelope{V: v, Agent: "a1", Boot: "b1", Seq: 3, ID: "m3", At: "2026-11-26T08:00:00Z", Kind: wire.KindInventory,
			Body: json.RawMessage(`{"cabinet":"C1","round":"r1","started_at":"2026-11-26T07:59:40Z","ended_at":"2026-11-26T08:00:00Z","rounds":4,"antennas":[{"antenna":1,"ok":true}],"complete":true,"tags":[` + tags + `]}`)}
		b, err := e.DecodeBody(wire.DirObs)
		if err != nil {
			return nil, err
		}
		return b.(*wire.Inventory), nil
	}
	tag := func(extra string) string {
		return `{"epc":"E28011702000020A8F6E0A3C","antenna":1,"rssi":-60,"reads":9` + extra + `,"first_seen":"2026-11-26T07:59:41Z","last_seen":"2026-11-26T07:59:59Z"}`
	}
	if inv, err := decode(wire.Version, tag(`,"passes":3`)); err != nil || inv.Tags[0].Passes != 3 {
		t.Errorf("1.2 with passes 3: got %+v, %v", inv, err)
	}
	if inv, err := decode("1.1", tag("")); err != nil || inv.Tags[0].Passes != 0 {
		t.Errorf("1.1 without passes: got %+v, %v; want accepted with passes unknown", inv, err)
	}
	if _, err := decode(wire.Version, tag(`,"passes":5`)); err == nil {
		t.Errorf("passes 5 of a 4-pass round: accepted, want refused")
	}
}
