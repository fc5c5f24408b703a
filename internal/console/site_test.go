package console_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/daemon"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/store/storetest"
	"github.com/custodyhq/custody/internal/wire"
)

// site is a real custodyd (store, embedded broker, ingest, alerts, console) in-process on free
// ports, set up through its API as an office would be, with one agent serving cabinet C-01 and
// desk D-01.
type site struct {
	t     *testing.T
	addr  string
	base  string
	tok   map[string]string
	items []int64
	epcs  []string
	evil  int64  // the item whose document title holds HTML
	dir   string // custodyd's data directory
	cfg   daemon.Config
	stop  func() // stops the running custodyd
	store string // custodyd's register: [store] url on PostgreSQL, "" for custody.db in dir

	mu    sync.Mutex
	agent mqtt.Client
	key   []byte
	seq   uint64
}

type quiet struct{}

func (quiet) Write(p []byte) (int, error) { return len(p), nil }

// db opens custodyd's database beside it, for a test to read what was written: the SQLite file
// read-only, or the PostgreSQL database (through the pgx driver the store registers).
func (s *site) db() *sql.DB {
	s.t.Helper()
	driver, dsn := "sqlite3", "file:"+filepath.Join(s.dir, "custody.db")+"?mode=ro"
	if s.store != "" {
		driver, dsn = "pgx", s.store
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		s.t.Fatal(err)
	}
	return db
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const evilTitle = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">关于<b>测试</b>`

func startSite(t *testing.T) *site {
	t.Helper()
	return startSiteWith(t, nil)
}

// startSiteWith is startSite with custodyd's configuration changed by tweak first.
func startSiteWith(t *testing.T, tweak func(*daemon.Config)) *site {
	t.Helper()
	mqttAddr := freePort(t)
	cfg := daemon.Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = t.TempDir(), "127.0.0.1:0", mqttAddr
	cfg.Identity.CompanyPrefix = "0614141"
	if tweak != nil {
		tweak(&cfg)
	}
	if storetest.Postgres() {
		cfg.Store.URL = storetest.Target(t)
	}
	s := &site{t: t, tok: map[string]string{}, dir: cfg.DataDir, cfg: cfg, store: cfg.Store.URL}
	s.run()
	t.Cleanup(func() {
		if s.agent != nil {
			s.agent.Disconnect(0)
		}
		s.stop()
	})
	s.login("admin", "admin-password-1")
	s.api("admin", "POST", "/api/v1/units", `{"code":"BGS","name":"办公室"}`, 201, nil)
	// The 三员 set the office up: the administrator creates the accounts, the security
	// administrator grants the business roles, each person replaces the one-time password.
	for _, p := range []struct{ user, name, role string }{{"sec.admin", "钱安", "secadmin"}, {"wang.fang", "王芳", "custodian"}, {"li.ming", "李明", "leader"}, {"zhao.lei", "赵磊", "auditor"}, {"zhang.wei", "张伟", "holder"}} {
		three := ""
		if p.role == "secadmin" || p.role == "auditor" {
			three = `"` + p.role + `"`
		}
		s.api("admin", "POST", "/api/v1/people", `{"username":"`+p.user+`","name":"`+p.name+`","unit":"BGS","roles":[`+three+`],"password":"`+p.user+`-initial"}`, 201, nil)
		if three == "" {
			s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"`+p.user+`","role":"`+p.role+`"}`, 200, nil)
		}
		s.login(p.user, p.user+"-initial")
		s.api(p.user, "POST", "/api/v1/me/password", `{"old":"`+p.user+`-initial","new":"`+p.user+`-password"}`, 200, nil)
	}
	s.api("admin", "POST", "/api/v1/badges", `{"username":"zhang.wei","code":"B-0042"}`, 200, nil)
	s.api("zhang.wei", "POST", "/api/v1/me/badge-pin", `{"new":"2468"}`, 200, nil)
	var enrolled struct{ Key string }
	s.api("admin", "POST", "/api/v1/agents", `{"id":"room-301"}`, 201, &enrolled)
	s.key, _ = base64.StdEncoding.DecodeString(enrolled.Key)
	s.api("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS","agent":"room-301"}`, 201, nil)
	s.api("wang.fang", "POST", "/api/v1/desks", `{"code":"D-01","name":"机要室工作台","room":"R301","agent":"room-301"}`, 201, nil)
	for _, it := range s.receive(`{"number":"国保〔2026〕7号","title":"关于加强保密管理的通知","issuing_unit":"BGS","level":"机密","issued_on":"2026-11-01","secrecy_term":"10年","copies":4}`) {
		s.items, s.epcs = append(s.items, it.ID), append(s.epcs, it.EPC)
	}
	title, _ := json.Marshal(evilTitle)
	evil := s.receive(`{"number":"测试〔2026〕1号","title":` + string(title) + `,"issuing_unit":"BGS","level":"秘密","issued_on":"2026-11-02","secrecy_term":"5年","copies":1}`)
	s.evil = evil[0].ID
	s.epcs = append(s.epcs, evil[0].EPC)

	lost := make(chan error, 1)
	s.agent = mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-301").
		SetUsername("room-301").SetPassword(enrolled.Key).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err }))
	if tok := s.agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login to the embedded broker: %v", tok.Error())
	}
	s.agent.Publish(wire.Topics{}.Availability("room-301"), 1, true, []byte(`{"state":"online"}`)).WaitTimeout(5 * time.Second)
	return s
}

// run starts custodyd with the site's configuration.
func (s *site) run() {
	t := s.t
	d := daemon.New(s.cfg, slog.New(slog.DiscardHandler), quiet{}, func(k string) string {
		if k == "CUSTODY_ADMIN_PASSWORD" {
			return "admin-password-1"
		}
		return ""
	})
	ready := make(chan string, 1)
	d.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	select {
	case s.addr = <-ready:
	case err := <-errc:
		cancel()
		t.Fatal(err)
	}
	s.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("custodyd stop: %v", err)
		}
	})
	s.base = "http://" + s.addr
}

func (s *site) login(user, pw string) {
	var out struct{ Token string }
	s.api("", "POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`"}`, 200, &out)
	s.tok[user] = out.Token
}

func (s *site) api(user, method, path, body string, want int, out any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.tok[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s as %s: got %d %s, want %d", method, path, user, resp.StatusCode, b, want)
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
}

// received is a copy the register numbered when receiving a document.
type received struct {
	ID      int64  `json:"id"`
	EPC     string `json:"epc"`
	Barcode string `json:"barcode"`
}

// receive registers a document from 市委机要局 into C-01 as the custodian, through the API; doc
// is the document's JSON. It returns the copies.
func (s *site) receive(doc string) []received {
	s.t.Helper()
	var out struct {
		Items []received `json:"items"`
	}
	s.api("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+doc+`,"cabinet":"C-01","from":"市委机要局"}`, 201, &out)
	return out.Items
}

// publish sends one signed observation as the agent would.
func (s *site) publish(kind string, body any) {
	s.t.Helper()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	env, err := wire.Seal(wire.DirObs, s.key, "room-301", "boot-1", seq, fmt.Sprintf("obs-%d", seq), time.Now(), kind, body)
	if err != nil {
		s.t.Fatal(err)
	}
	payload, _ := env.Marshal()
	if tok := s.agent.Publish(wire.Topics{}.Obs("room-301"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("publish: %v", tok.Error())
	}
}

// inventory reports a complete round of C-01 that reads every tag but skip.
func (s *site) inventory(round string, skip string) {
	yes := true
	now := time.Now().UTC()
	inv := wire.Inventory{Cabinet: "C-01", Round: round, Started: now.Add(-20 * time.Second).Format(time.RFC3339Nano), Ended: now.Format(time.RFC3339Nano), Rounds: 4,
		Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}, {Antenna: 2, OK: &yes}}, Complete: &yes}
	for _, e := range s.epcs {
		if e == skip {
			continue
		}
		inv.Tags = append(inv.Tags, wire.TagRead{EPC: e, Antenna: 1, RSSI: -55, Reads: 4, FirstSeen: now.Add(-19 * time.Second).Format(time.RFC3339Nano), LastSeen: now.Add(-time.Second).Format(time.RFC3339Nano)})
	}
	s.publish(wire.KindInventory, inv)
}

// client is a person's plain HTTP client with a cookie jar, for the bad-input tests.
func (s *site) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn signs c in to the console as user, with the site's usual password.
func (s *site) signIn(c *http.Client, user string) {
	s.t.Helper()
	s.signInAs(c, user, user+"-password")
}

// openBorrowing opens a borrowing at desk D-01 for c, due back a day from now (typed in the
// site's zone, as a person types it), and fails unless the console sends c to the desk's page.
func (s *site) openBorrowing(t *testing.T, c *http.Client) {
	t.Helper()
	due := sitetime.Default().Format(time.Now().Add(24*time.Hour), "2006-01-02T15:04")
	if code, loc := s.post(t, c, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {due}}); code != http.StatusSeeOther || loc != "/desk/D-01" {
		t.Fatalf("open a borrowing: got %d to %q, want 303 to /desk/D-01", code, loc)
	}
}

// browser is a fresh headless Chromium.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1366, 900),
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("Chromium: %v (apt-get install -y chromium)", err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

func (s *site) browse(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), user+"-password"),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#logout")),
	); err != nil {
		t.Fatalf("sign in as %s: %v", user, err)
	}
}

// text is the visible text of the first element matching the CSS selector, "" if there is none
// or it is hidden. It reads the element in one step inside the page: chromedp.Text finds the node
// and then asks for its text in a second call, and an element htmx swapped out in between (a live
// count redrawn) reads as "" without an error (CI: TestBrowserCriticalAlertOnTheDeskWithinTwoSeconds
// saw the navigation's count empty).
func text(ctx context.Context, sel string) string {
	// Generous: under CI's load Chromium answered a query of an element already on the page in
	// more than 5 s.
	q, _ := json.Marshal(sel)
	var got struct {
		Text string `json:"t"`
	}
	got, _ = chromedp.Run(ctx, chromedp.Poll[struct {
		Text string `json:"t"`
	}](`(function () {
		const el = document.querySelector(`+string(q)+`);
		if (!el) { return null; }
		const shown = el.offsetWidth || el.offsetHeight || el.getClientRects().length;
		return { t: shown ? el.innerText : "" };
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
	return strings.TrimSpace(got.Text)
}

// waitFor polls cond until it holds, failing the test after a generous deadline (CI is loaded).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
	}
}
