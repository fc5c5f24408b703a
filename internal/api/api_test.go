package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

type env struct {
	t    *testing.T
	srv  *httptest.Server
	api  *Server
	tok  map[string]string // username → token
	path string
}

// The office every test starts from: BGS with its security administrator, a custodian, an
// auditor and a leader who is BGS's principal and secrecy leader, set up as the 三员 do. Each
// account costs several argon2id computations (slow under -race, one at a time through the
// password pool), so the office is built once and every test starts from its own copy of the
// database file, logins included.
var office struct {
	path string // the office's register (storetest.Fresh), copied for each test
	once sync.Once
	dir  string
	tok  map[string]string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if office.dir != "" {
		os.RemoveAll(office.dir)
	}
	os.Exit(code)
}

func buildOffice(t *testing.T) {
	ctx := context.Background()
	office.dir, office.err = os.MkdirTemp("", "custody-api-office-")
	if office.err != nil {
		return
	}
	if office.path, office.err = storetest.Fresh(office.dir); office.err != nil {
		return
	}
	st, err := store.Open(ctx, office.path, nil)
	if err != nil {
		office.err = err
		return
	}
	defer st.Close()
	reg := register.New(st, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		office.err = err
		return
	}
	e := &env{t: t, srv: httptest.NewServer(New(reg, st, slog.New(slog.DiscardHandler), Options{}).Handler()), tok: map[string]string{}}
	defer e.srv.Close()
	e.login("admin", "admin-password-1")
	e.must("admin", "POST", "/api/v1/units", `{"code":"BGS","name":"办公室"}`, 201)
	e.person("sec.admin", "BGS", "secadmin")
	for _, p := range []struct{ user, role string }{{"wang.fang", "custodian"}, {"zhao.lei", "auditor"}, {"li.ming", "leader"}} {
		e.person(p.user, "BGS", p.role)
	}
	// li.ming is BGS's principal leader and its leader in charge of secrecy work.
	e.must("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"principal_leader","unit":"BGS"}`, 200)
	e.must("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"secrecy_leader","unit":"BGS"}`, 200)
	office.tok = e.tok
}

func newEnv(t *testing.T) *env {
	t.Helper()
	office.once.Do(func() { buildOffice(t) })
	if office.err != nil || office.tok == nil {
		t.Fatalf("build the test office: %v", office.err)
	}
	ctx := context.Background()
	path := storetest.Clone(t, office.path)
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := register.New(st, nil)
	a := New(reg, st, slog.New(slog.DiscardHandler), Options{})
	e := &env{t: t, srv: httptest.NewServer(a.Handler()), api: a, tok: maps.Clone(office.tok), path: path}
	t.Cleanup(e.srv.Close)
	return e
}

// person sets an account up as the 三员 do: the administrator creates it with a one-time
// password (with its role only for the first security administrator or auditor), the security
// administrator grants its business role, and the person signs in and chooses their password
// (user-password).
func (e *env) person(user, unit string, roles ...string) { e.named(user, user, unit, roles...) }

func (e *env) named(user, name, unit string, roles ...string) {
	e.t.Helper()
	var three, business []string
	for _, r := range roles {
		if r == "secadmin" || r == "auditor" || r == "admin" {
			three = append(three, `"`+r+`"`)
		} else {
			business = append(business, r)
		}
	}
	e.must("admin", "POST", "/api/v1/people", `{"username":"`+user+`","name":"`+name+`","unit":"`+unit+`","roles":[`+strings.Join(three, ",")+`],"password":"`+user+`-initial"}`, 201)
	for _, r := range business {
		e.must("sec.admin", "POST", "/api/v1/grants", `{"username":"`+user+`","role":"`+r+`"}`, 200)
	}
	e.login(user, user+"-initial")
	e.must(user, "POST", "/api/v1/me/password", `{"old":"`+user+`-initial","new":"`+user+`-password"}`, 200)
}

func (e *env) login(user, pw string) {
	var out loginResponse
	e.decode(e.do("", "POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`"}`, nil), 200, &out)
	e.tok[user] = out.Token
}

func (e *env) do(user, method, path, body string, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tok[user])
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) decode(resp *http.Response, status int, v any) {
	e.t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: got %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b, status)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("decode %s: %v", b, err)
		}
	}
}

func (e *env) must(user, method, path, body string, status int) {
	e.t.Helper()
	e.decode(e.do(user, method, path, body, nil), status, nil)
}

func (e *env) errorOf(resp *http.Response) (int, ErrorBody) {
	defer resp.Body.Close()
	var b ErrorBody
	json.NewDecoder(resp.Body).Decode(&b)
	return resp.StatusCode, b
}

const goodDoc = `{"number":"国保〔2026〕7号","title":"关于加强保密管理的通知","issuing_unit":"BGS","level":"机密","issued_on":"2026-11-01","secrecy_term":"10年","copies":3}`

func TestWalkThrough(t *testing.T) {
	e := newEnv(t)
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301"}`, 201)
	var reg registerResponse
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents", goodDoc, nil), 201, &reg)
	if len(reg.Items) != 3 || reg.Document.Level != custody.Secret {
		t.Fatalf("got %+v, want 3 copies at level secret", reg)
	}
	var stored []register.Item
	e.decode(e.do("wang.fang", "POST", "/api/v1/items/store", `{"cabinet":"C-01","items":[1,2,3]}`, nil), 200, &stored)
	var items []register.Item
	e.decode(e.do("li.ming", "GET", "/api/v1/items?cabinet=C-01", "", nil), 200, &items)
	if len(items) != 3 || items[0].State != custody.InCabinet {
		t.Errorf("leader sees %+v, want 3 items in C-01", items)
	}
	resp := e.do("zhao.lei", "GET", "/api/v1/audit", "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := bytes.Count(body, []byte("\n")); resp.StatusCode != 200 || n < 10 {
		t.Errorf("auditor export: got %d with %d records", resp.StatusCode, n)
	}
	if bytes.Contains(body, []byte("关于加强保密管理的通知")) {
		t.Error("the audit export read by the auditor carries the document title")
	}
}

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t)
	e.must("wang.fang", "POST", "/api/v1/documents", goodDoc, 201)
	cases := []struct {
		user, method, path, body string
		status                   int
	}{
		{"zhao.lei", "POST", "/api/v1/documents", goodDoc, 403}, // auditor changes nothing
		{"zhao.lei", "GET", "/api/v1/documents", "", 403},       // nor reads the register
		{"admin", "POST", "/api/v1/documents", goodDoc, 403},    // admin does not handle documents
		{"li.ming", "POST", "/api/v1/items/store", `{"cabinet":"C-01","items":[1]}`, 403},
		{"wang.fang", "GET", "/api/v1/audit", "", 403},              // custodian does not read the audit log
		{"wang.fang", "POST", "/api/v1/agents", `{"id":"a1"}`, 403}, // only admins enroll agents
		{"li.ming", "POST", "/api/v1/backup", "", 403},
		{"", "GET", "/api/v1/items", "", 401},
	}
	for _, c := range cases {
		status, b := e.errorOf(e.do(c.user, c.method, c.path, c.body, nil))
		if status != c.status || b.Error.Code == "" || b.Error.Message == "" {
			t.Errorf("%s %s %s: got %d %+v, want %d with a code and message", c.user, c.method, c.path, status, b, c.status)
		}
	}
	var docs []register.Document
	e.decode(e.do("admin", "GET", "/api/v1/documents", "", nil), 200, &docs)
	if docs[0].Title != "" {
		t.Errorf("admin (三员) sees title %q", docs[0].Title)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	big := `{"number":"` + strings.Repeat("x", MaxBody) + `"}`
	cases := []struct {
		name, body string
		hdr        map[string]string
		status     int
		code, msg  string
	}{
		{"malformed JSON", `{"number": "A-1", `, nil, 400, "bad_request", "JSON 格式错误"},
		{"unknown field", `{"number":"A-1","titel":"x"}`, nil, 400, "bad_request", `未知字段 "titel"`},
		{"wrong type", strings.Replace(goodDoc, `"copies":3`, `"copies":"three"`, 1), nil, 400, "bad_request", `字段 "copies" 类型错误`},
		{"two objects", goodDoc + goodDoc, nil, 400, "bad_request", "只能包含一个 JSON 对象"},
		{"empty body", ``, nil, 400, "bad_request", "请求体为空"},
		{"oversized body", big, nil, 413, "too_large", "1 MiB"},
		{"not JSON", `number=A-1`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "bad_request", "必须是 JSON"},
		{"zero copies", strings.Replace(goodDoc, `"copies":3`, `"copies":0`, 1), nil, 400, "invalid", "份数必须在 1 到 10000 之间"},
		{"100 000 copies", strings.Replace(goodDoc, `"copies":3`, `"copies":100000`, 1), nil, 400, "invalid", "收到 100000"},
		{"English on request", `{"number": `, map[string]string{"Accept-Language": "en-US,en;q=0.9"}, 400, "bad_request", "malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, b := e.errorOf(e.do("wang.fang", "POST", "/api/v1/documents", c.body, c.hdr))
			if status != c.status || b.Error.Code != c.code || !strings.Contains(b.Error.Message, c.msg) {
				t.Errorf("got %d %+v, want %d %s containing %q", status, b, c.status, c.code, c.msg)
			}
		})
	}
	e.must("wang.fang", "POST", "/api/v1/documents", goodDoc, 201)
	status, b := e.errorOf(e.do("wang.fang", "POST", "/api/v1/documents", goodDoc, nil))
	if status != 409 || b.Error.Code != "conflict" {
		t.Errorf("duplicate number: got %d %+v, want 409 conflict", status, b)
	}
	var n int
	st, _ := store.Open(context.Background(), e.path, nil)
	defer st.Close()
	st.DB().QueryRow(`SELECT count(*) FROM items`).Scan(&n)
	if n != 3 {
		t.Errorf("got %d items after the bad requests, want only the 3 of the good one", n)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	status, b := e.errorOf(e.do("", "POST", "/api/v1/login", `{"username":"admin","password":"nope-nope-nope"}`, nil))
	if status != 401 || !strings.Contains(b.Error.Message, "用户名或密码错误") {
		t.Errorf("wrong password: got %d %+v", status, b)
	}
	e.tok["forger"] = "cst_forged"
	if status, _ := e.errorOf(e.do("forger", "GET", "/api/v1/me", "", nil)); status != 401 {
		t.Errorf("forged token: got %d, want 401", status)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.must("admin", "POST", "/api/v1/people", `{"username":"ma.li","name":"马丽","unit":"BGS"}`, 201)
	e.must("", "GET", "/healthz", "", 200)
	resp := e.do("", "GET", "/metrics", "", nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `custody_http_requests_total{code="201",route="POST /api/v1/people"} 1`) {
		t.Errorf("metrics do not count the person added:\n%s", b)
	}
}

// The OpenAPI document and the router agree: every route is documented with its method, its
// roles and whether it needs a token, and the document names no route that does not exist.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Security []any    `json:"security"`
			Roles    []string `json:"x-roles"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	seen := map[string]bool{}
	for _, rt := range append(e.api.routes, route{method: "GET", path: "/metrics", public: true}) {
		key := rt.method + " " + rt.path
		seen[key] = true
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		if rt.public != (op.Security != nil && len(op.Security) == 0) {
			t.Errorf("%s: public=%v but the document says security %v", key, rt.public, op.Security)
		}
		if rt.public {
			continue
		}
		want := []string{"any"}
		if rt.roles != nil {
			want = nil
			for _, r := range rt.roles {
				want = append(want, string(r))
			}
		}
		got := slices.Clone(op.Roles)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: x-roles %v, router allows %v", key, op.Roles, want)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !seen[strings.ToUpper(m)+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the router does not serve", strings.ToUpper(m), path)
			}
		}
	}
}

func TestOneTimePasswordMustBeChanged(t *testing.T) {
	e := newEnv(t)
	var p addPersonResponse
	e.decode(e.do("admin", "POST", "/api/v1/people", `{"username":"sun.li","name":"孙丽","unit":"BGS"}`, nil), 201, &p)
	if len(p.OneTimePassword) < 16 || len(p.Roles) != 0 {
		t.Fatalf("got one-time password %q and roles %v, want a generated one and no role", p.OneTimePassword, p.Roles)
	}
	e.must("sec.admin", "POST", "/api/v1/grants", `{"username":"sun.li","role":"leader"}`, 200)
	e.login("sun.li", p.OneTimePassword)
	status, b := e.errorOf(e.do("sun.li", "GET", "/api/v1/items", "", nil))
	if status != 403 || b.Error.Code != "password_change_required" {
		t.Fatalf("before changing the one-time password: got %d %+v, want 403 password_change_required", status, b)
	}
	e.must("sun.li", "POST", "/api/v1/me/password", `{"old":"`+p.OneTimePassword+`","new":"sun.li-own-password"}`, 200)
	e.must("sun.li", "GET", "/api/v1/items", "", 200)

	// A password the administrator chose is one-time too: he must not know a working password.
	e.must("admin", "POST", "/api/v1/people", `{"username":"ma.li","name":"马丽","unit":"BGS","password":"admin-chose-this"}`, 201)
	e.login("ma.li", "admin-chose-this")
	if status, b := e.errorOf(e.do("ma.li", "GET", "/api/v1/units", "", nil)); status != 403 || b.Error.Code != "password_change_required" {
		t.Fatalf("with the password the admin chose: got %d %+v, want 403 password_change_required", status, b)
	}
}
