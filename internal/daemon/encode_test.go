package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/agent"
	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/wire"
)

// servedReader is a simulated R2000 on a pseudo-terminal, served until the test ends.
func servedReader(t *testing.T) (*sim.R2000, string) {
	t.Helper()
	s, err := sim.NewR2000(sim.Scenario{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	path, stop, err := sim.ServePTY(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s, path
}

// request is call with a language and the raw answer, for reading refusals.
func request(t *testing.T, addr, token, lang, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b json.RawMessage
	json.NewDecoder(resp.Body).Decode(&b)
	return resp.StatusCode, b
}

// Issue 8's "done when", with the real programs' parts: a custodian registers a document with 5
// copies, encodes 5 blank tags one at a time at the desk's station (a real agent driving a
// simulated R2000 over a pseudo-terminal, commands and answers through custodyd's embedded
// broker), is refused when putting item 2's EPC on item 1's tag and when two tags lie on the pad,
// and the cabinet's inventory then finds exactly those 5 items.
func TestEncodeFiveTagsThenInventoryFindsThem(t *testing.T) {
	dir, mqttAddr, addr := startSite(t, func(c *Config) { c.Identity.CompanyPrefix = "0614141" })
	admin, enrolled := enrollAgent(t, addr, "room-401")
	must := func(token, method, path, body string, want int, out any) {
		t.Helper()
		if code := call(t, addr, token, method, path, body, out); code != want {
			t.Fatalf("%s %s: got %d, want %d", method, path, code, want)
		}
	}
	must(admin.Token, "POST", "/api/v1/units", `{"code":"BGS","name":"办公室"}`, 201, nil)
	// The 三员: the administrator creates the accounts, the security administrator grants the
	// custodian role, each person replaces the one-time password.
	must(admin.Token, "POST", "/api/v1/people", `{"username":"qian.an","name":"钱安","unit":"BGS","roles":["secadmin"],"password":"qian.an-initial"}`, 201, nil)
	must(admin.Token, "POST", "/api/v1/people", `{"username":"wang.fang","name":"王芳","unit":"BGS","password":"wang.fang-initial"}`, 201, nil)
	must(admin.Token, "POST", "/api/v1/people", `{"username":"zhao.lei","name":"赵磊","unit":"BGS","roles":["auditor"],"password":"zhao.lei-initial"}`, 201, nil)
	var sec, cust, auditor token
	must("", "POST", "/api/v1/login", `{"username":"qian.an","password":"qian.an-initial"}`, 200, &sec)
	must(sec.Token, "POST", "/api/v1/me/password", `{"old":"qian.an-initial","new":"qian.an-secret"}`, 200, nil)
	must(sec.Token, "POST", "/api/v1/grants", `{"username":"wang.fang","role":"custodian"}`, 200, nil)
	must("", "POST", "/api/v1/login", `{"username":"wang.fang","password":"wang.fang-initial"}`, 200, &cust)
	must(cust.Token, "POST", "/api/v1/me/password", `{"old":"wang.fang-initial","new":"wang.fang-secret"}`, 200, nil)
	must("", "POST", "/api/v1/login", `{"username":"zhao.lei","password":"zhao.lei-initial"}`, 200, &auditor)
	must(auditor.Token, "POST", "/api/v1/me/password", `{"old":"zhao.lei-initial","new":"zhao.lei-secret"}`, 200, nil)
	must(cust.Token, "POST", "/api/v1/desks", `{"code":"D-1","name":"机要员工作台","agent":"room-401"}`, 201, nil)
	must(cust.Token, "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","agent":"room-401"}`, 201, nil)
	var reg struct {
		Items []struct {
			ID  int64  `json:"id"`
			EPC string `json:"epc"`
		} `json:"items"`
	}
	must(cust.Token, "POST", "/api/v1/documents", `{"number":"国保〔2026〕8号","title":"关于标签的通知","issuing_unit":"BGS","level":"机密","issued_on":"2026-11-01","secrecy_term":"10年","copies":5}`, 201, &reg)
	if len(reg.Items) != 5 || reg.Items[0].EPC == "" {
		t.Fatalf("registered: got %+v, want 5 items with EPCs", reg.Items)
	}

	desk, deskPath := servedReader(t)
	cab, cabPath := servedReader(t)
	cfg, err := config.Parse(fmt.Appendf(nil, `
[agent]
id = "room-401"
key = %q
outbox = %q
[mqtt]
brokers = ["tcp://%s"]
username = "room-401"
password = %q
max_reconnect_interval = "1s"
[[reader]]
id = "desk-r"
driver = "r2000"
port = %q
station = "D-1"
[[reader]]
id = "cab-r"
driver = "r2000"
port = %q
  [[reader.antenna]]
  port = 1
  cabinet = "C-01"
  [[reader.antenna]]
  port = 2
  cabinet = "C-01"
[rounds]
quiet_passes = 2
max_passes = 6
[schedule]
every = "0s"
after_power_return = false
`, enrolled.Key, filepath.Join(t.TempDir(), "outbox.db"), mqttAddr, enrolled.Key, deskPath, cabPath), "agent.toml")
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.Open(context.Background(), cfg, agent.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran; ag.Close() })

	encode := func(tok, lang string, item int64) (int, string) {
		t.Helper()
		code, b := request(t, addr, tok, lang, "POST", fmt.Sprintf("/api/v1/items/%d/encode", item), `{"desk":"D-1"}`)
		return code, string(b)
	}
	// A command sent before the agent first subscribed is lost (no session yet): wait until it
	// listens. Its station reader may still be opening; the agent waits for it.
	deadline := time.Now().Add(20 * time.Second)
	for !ag.Health().MQTT || !ag.Health().Readers["desk-r"].Connected {
		if time.Now().After(deadline) {
			t.Fatalf("agent not connected within 20 s: %+v", ag.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	desk.SetTags([]sim.Tag{{EPC: "E2801160600002AA00000001", Antenna: 1}})
	for {
		code, body := encode(cust.Token, "", reg.Items[0].ID)
		if code == 200 {
			if !strings.Contains(body, `"outcome":"written"`) {
				t.Fatalf("first encoding: got %s, want written", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first encoding: got %d %s for 20 s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var tags []sim.Tag // encoded tags, carried from the desk to the cabinet
	tags = append(tags, desk.Tags()...)

	// Tag #1 still on the pad: item 2's EPC is refused, in the custodian's language.
	code, body := encode(cust.Token, "", reg.Items[1].ID)
	if code != 409 || !strings.Contains(body, "该标签已属于 国保〔2026〕8号 第1份") {
		t.Fatalf("item 2 onto item 1's tag: got %d %s, want 409 naming 国保〔2026〕8号 第1份", code, body)
	}
	if code, body = encode(cust.Token, "en", reg.Items[1].ID); code != 409 || !strings.Contains(body, "this tag already belongs to 国保〔2026〕8号 copy 1") {
		t.Fatalf("in English: got %d %s", code, body)
	}
	if got := desk.Tags()[0].EPC; got != reg.Items[0].EPC {
		t.Fatalf("the refused tag: got EPC %s, want item 1's %s unchanged", got, reg.Items[0].EPC)
	}
	// Encoding again what is done is harmless.
	if code, body = encode(cust.Token, "", reg.Items[0].ID); code != 200 || !strings.Contains(body, `"outcome":"already"`) {
		t.Fatalf("item 1 again: got %d %s, want 200 already", code, body)
	}
	// Two tags on the pad: refused, neither written.
	desk.SetTags([]sim.Tag{tags[0], {EPC: "E2801160600002AA00000002", Antenna: 1}})
	if code, body = encode(cust.Token, "", reg.Items[1].ID); code != 422 || !strings.Contains(body, "2 张标签") {
		t.Fatalf("two tags on the pad: got %d %s, want 422 naming 2 tags", code, body)
	}
	// The 三员 never encode.
	if code, _ = encode(auditor.Token, "", reg.Items[1].ID); code != 403 {
		t.Fatalf("auditor encoding: got %d, want 403", code)
	}

	for i, it := range reg.Items[1:] {
		desk.SetTags([]sim.Tag{{EPC: fmt.Sprintf("E2801160600002AA0000001%d", i), Antenna: 1}})
		if code, body := encode(cust.Token, "", it.ID); code != 200 || !strings.Contains(body, `"outcome":"written"`) {
			t.Fatalf("item %d: got %d %s, want written", it.ID, code, body)
		}
		tags = append(tags, desk.Tags()...)
	}
	desk.SetTags(nil)

	// Into the cabinet with them, and an inventory (what custodyd's schedule asks for).
	for i := range tags {
		tags[i].Antenna = 1 + i%2
	}
	if err := cab.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(reg.Items))
	var want []string
	for i, it := range reg.Items {
		ids[i] = fmt.Sprint(it.ID)
		want = append(want, it.EPC)
	}
	must(cust.Token, "POST", "/api/v1/items/store", `{"cabinet":"C-01","items":[`+strings.Join(ids, ",")+`]}`, 200, nil)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "custody.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var before int64 // the agent inventories C-01 when its reader first connects, before any tag was there
	db.QueryRow(`SELECT coalesce(max(seq), 0) FROM observations WHERE agent = 'room-401'`).Scan(&before)
	if !ag.Trigger("C-01", "now", "test: after encoding") {
		t.Fatal("the agent does not serve C-01")
	}
	var inv wire.Inventory
	deadline = time.Now().Add(30 * time.Second)
	for {
		var body string
		err := db.QueryRow(`SELECT body FROM observations WHERE agent = 'room-401' AND kind = 'inventory' AND seq > ? ORDER BY seq LIMIT 1`, before).Scan(&body)
		if err == nil && json.Unmarshal([]byte(body), &inv) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no inventory of C-01 stored within 30 s (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got []string
	for _, tg := range inv.Tags {
		got = append(got, tg.EPC)
	}
	slices.Sort(got)
	slices.Sort(want)
	if inv.Cabinet != "C-01" || !*inv.Complete || !slices.Equal(got, want) {
		t.Fatalf("inventory of C-01: got complete=%v tags %v, want complete with exactly the 5 registered EPCs %v", *inv.Complete, got, want)
	}
	// custodyd agrees: nothing missing, nothing unknown in C-01.
	time.Sleep(500 * time.Millisecond)
	var findings []map[string]any
	must(cust.Token, "GET", "/api/v1/findings", "", 200, &findings)
	for _, f := range findings {
		if f["cabinet"] == "C-01" {
			t.Errorf("finding after the inventory: %v", f)
		}
	}
	// Every encoding is in the audit chain.
	var n int
	db.QueryRow(`SELECT count(*) FROM audit WHERE action = 'item.encode'`).Scan(&n)
	if n != 6 { // five written, one found already done
		t.Errorf("audit: got %d item.encode records, want 6", n)
	}
}
