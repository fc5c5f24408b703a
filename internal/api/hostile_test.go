package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// The hostile-input suite (issue 12): every operation of the OpenAPI document — so a new route is
// covered the day it is documented, which the route test enforces — is called by a person holding
// one of its roles with malformed, oversized, wrong-type, look-alike and injection bodies, and
// with hostile path parameters. The look-alike and injection bodies are generated from each
// operation's request schema, so every field the route reads carries the hostile value.
//
// Each body must be answered with a clear 4xx (an error code and a message), never a 5xx, a 2xx
// or a dropped connection, and must leave the register as it was. "As it was" is checked on the
// register file through a connection of the test's own: SQLite's data_version says whether
// anyone committed at all, and if someone did, a digest of every table's contents says what
// changed. The only change allowed is the one the register makes for the refusals it audits —
// a rule refused (403, 422) is one `refused` audit record naming the person and the route —
// while malformed or invalid input (400, 404, 409, 413) writes nothing at all, not even audit.
func TestHostileInputOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	userOf := map[string]string{"admin": "admin", "secadmin": "sec.admin", "auditor": "zhao.lei", "custodian": "wang.fang", "leader": "li.ming", "any": "wang.fang"}
	// Real objects behind the path parameters ({code} C-01, {id} 1), so the hostile body, not a
	// missing row, is what the route must refuse.
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/desks", `{"code":"C-01","name":"机要员工作台","room":"R301"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/documents", goodDoc, 201)
	reg := openWatch(t, e.path)

	oversized := `{"x":"` + strings.Repeat("京", MaxBody/3+10) + `"}`
	fixed := []struct{ name, body string }{
		{"malformed JSON", `{"number": "京密〔2027〕1号",`},
		{"not JSON", "\x00\x01\x02 DROP TABLE items; --"},
		{"oversized", oversized},
		{"wrong type: array", `[1,2,3]`},
		{"wrong type: string", `"just a string"`},
		{"wrong types inside", `{"username":7,"number":[],"title":{},"copies":"many","id":true,"agent":1.5,"desk":null,"items":"all","cabinet":{"$gt":""},"note":42,"reason":[],"data":{}}`},
		{"two objects", `{} {}`},
		{"invalid UTF-8", "{\"note\":\"\xff\xfe\",\"number\":\"\xc3\x28\",\"code\":\"C-\xe2\x82\",\"username\":\"li\x80ming\",\"agent\":\"\xff\",\"desk\":\"\xff\",\"reason\":\"\xff\",\"data\":\"\xff\"}"},
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	calls, audited := 0, 0
	status := map[string]int{} // body kind and answer → calls, for the log
	for _, path := range paths {
		methods := make([]string, 0, len(doc.Paths[path]))
		for m := range doc.Paths[path] {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op := doc.Paths[path][method]
			method = strings.ToUpper(method)
			if len(op.Roles) == 0 || path == "/api/v1/login" { // public; login has its own limits tests
				continue
			}
			user := userOf[op.Roles[0]]
			concrete := strings.NewReplacer("{id}", "1", "{code}", "C-01", "{username}", "li.ming", "{ref}", "AL-X").Replace(path)
			// send calls the route and checks the answer: a clear 4xx (or, if ok2xx, any answer
			// but a 5xx); refused means it must be refused and write nothing but its audit record.
			send := func(what, p, body string, refused bool) {
				t.Helper()
				calls++
				before := reg.snapshot(t)
				req, _ := http.NewRequest(method, e.srv.URL+p, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+e.tok[user])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("%s %s (%s): no answer: %v", method, p, what, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("%s %s (%s) as %s: got %d %.200s, want a clear 4xx", method, p, what, user, resp.StatusCode, b)
					return
				}
				if resp.StatusCode >= 400 {
					var er struct {
						Error struct{ Code, Message string }
					}
					if json.Unmarshal(b, &er) != nil || er.Error.Code == "" || er.Error.Message == "" {
						t.Errorf("%s %s (%s): %d without an error code and message: %.200s", method, p, what, resp.StatusCode, b)
					}
				}
				if !refused {
					return
				}
				if resp.StatusCode < 400 {
					t.Errorf("%s %s (%s) as %s: got %d %.200s, want it refused", method, p, what, user, resp.StatusCode, b)
				}
				after := reg.snapshot(t)
				auditRule := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnprocessableEntity
				if changed := before.diff(after); len(changed) > 0 {
					t.Errorf("%s %s (%s) → %d wrote to %v, want nothing written", method, p, what, resp.StatusCode, changed)
				}
				// Audit records a refusal may leave: the router's `refused` record, or a step's own
				// `….refused` record (a remote unlock audits every refused attempt, reason and all).
				n := after.auditRows - before.auditRows
				recs := reg.lastAudit(t, n)
				for _, rec := range recs {
					if rec.actor != user || (rec.action != "refused" && !strings.HasSuffix(rec.action, ".refused")) {
						t.Errorf("%s %s (%s) → %d wrote audit record %+v, want only refusal records by %s", method, p, what, resp.StatusCode, rec, user)
					}
				}
				switch {
				case auditRule && n == 0:
					t.Errorf("%s %s (%s) → %d: the refusal was not audited", method, p, what, resp.StatusCode)
				case auditRule && recs[0].action == "refused" && recs[0].subject != method+" "+p:
					t.Errorf("%s %s (%s) → %d: audit record %+v, want subject %q", method, p, what, resp.StatusCode, recs[0], method+" "+p)
				}
				if n > 0 {
					audited++
				}
				status[what+" "+fmt.Sprint(resp.StatusCode)]++
			}
			if op.RequestBody != nil {
				for _, b := range fixed {
					send(b.name, concrete, b.body, true)
				}
				schema := doc.resolve(op.RequestBody.Content.JSON.Schema)
				for _, k := range []hostileKind{lookAlike, injection} {
					body, ok := hostileBody(doc, schema, k)
					if !ok { // numbers only (an approval id): the wrong-type bodies above are its hostile input
						continue
					}
					send(string(k), concrete, body, true)
				}
			}
			// Hostile path parameters: a clear 4xx (or an empty answer), never a 5xx.
			if strings.Contains(path, "{") {
				for _, v := range []string{"-1", "abc", "99999999999999999999999", "1%00", "%E2%80%AE1", strings.Repeat("9", 5000)} {
					p := strings.NewReplacer("{id}", v, "{code}", v, "{username}", v, "{ref}", v).Replace(path)
					body := ""
					if op.RequestBody != nil {
						body = `{}`
					}
					send("path "+v[:min(len(v), 12)], p, body, false)
				}
			}
		}
	}
	t.Logf("%d hostile calls on %d paths; %d refusals audited; answers: %v", calls, len(paths), audited, status)
	if calls < 100 {
		t.Fatalf("only %d hostile calls: the OpenAPI document was not walked", calls)
	}
}

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Roles       []string `json:"x-roles"`
		RequestBody *struct {
			Content struct {
				JSON struct {
					Schema *schema `json:"schema"`
				} `json:"application/json"`
			} `json:"content"`
		} `json:"requestBody"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Enum       []any              `json:"enum"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
}

func (d openAPIDoc) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

type hostileKind string

const (
	lookAlike hostileKind = "look-alike and invisible"
	injection hostileKind = "injection"
)

// hostileString is what a field of that name carries. Look-alike values are what a careless
// paste or a spoofer brings — a Cyrillic а in a username, a zero-width space in a code, a
// bidirectional override in a number or a note. Injection values are SQL, path, MQTT-wildcard
// and formula text in identifiers (which allow none of those characters) and markup and SQL in
// free text.
func hostileString(field string, k hostileKind) string {
	if k == lookAlike {
		switch field {
		case "username", "with", "for":
			return "lі.ming" // U+0456, not an i
		case "number", "document", "decision_no", "consent", "certificate", "receipt":
			return "京密〔2027〕1号\u2066"
		case "code", "agent", "desk", "cabinet", "unit", "target_unit", "issuing_unit", "room", "id", "second_badge":
			return "C-01\u200b"
		case "password", "old", "new", "pin", "second_pin":
			return "pass\u200bword-1"
		case "issued_on", "due", "expires_at", "deadline", "term_start", "date":
			return "2027-01-01\u202e"
		}
		return "正常的\u202e说明\u0000"
	}
	switch field {
	case "username", "with", "for":
		return "admin' OR '1'='1"
	case "number", "document", "decision_no", "consent", "certificate", "receipt":
		return "=HYPERLINK(\"http://evil.example\")\u0000"
	case "code", "agent", "desk", "cabinet", "unit", "target_unit", "issuing_unit", "room", "id", "second_badge":
		return "../../etc/passwd#+"
	case "password", "old", "new", "pin", "second_pin":
		return "x' OR 1=1; --\u0000"
	case "issued_on", "due", "expires_at", "deadline", "term_start", "date":
		return "2027-01-01'; DROP TABLE items; --"
	case "data":
		return "<script>alert(1)</script>\u0000"
	}
	return "<script>alert(1)</script>'; DROP TABLE audit; --\u202e"
}

// hostileBody fills every field of the schema: strings (enums included) with the hostile value
// for the field, integers with 1 (a row that exists, so the hostile text, not a missing row, is
// what must be refused), booleans true, arrays with one such element, objects recursively.
// ok is false when no field can carry a string.
func hostileBody(d openAPIDoc, s *schema, k hostileKind) (string, bool) {
	strs := 0
	var fill func(field string, s *schema) any
	fill = func(field string, s *schema) any {
		s = d.resolve(s)
		if s == nil {
			strs++
			return hostileString(field, k)
		}
		switch s.Type {
		case "integer", "number":
			return 1
		case "boolean":
			return true
		case "array":
			return []any{fill(strings.TrimSuffix(field, "s"), s.Items)}
		case "object":
			m := map[string]any{}
			for name, p := range s.Properties {
				m[name] = fill(name, p)
			}
			return m
		}
		strs++
		return hostileString(field, k)
	}
	v := fill("", s)
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b), strs > 0
}

// regWatch reads the register file through a connection of its own, never the server's.
type regWatch struct {
	conn *sql.Conn
	last snapshot
}

type snapshot struct {
	version   int64
	tables    map[string]string // table → SHA-256 of its rows, audit excluded
	auditRows int
}

func openWatch(t *testing.T, path string) *regWatch {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &regWatch{conn: conn}
}

// snapshot digests the register. PRAGMA data_version changes, on this connection, only when
// another connection commits: while it stands still the last digest holds, which keeps the
// suite fast.
func (w *regWatch) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := context.Background()
	var v int64
	if err := w.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if w.last.tables != nil && v == w.last.version {
		return w.last
	}
	s := snapshot{version: v, tables: map[string]string{}}
	rows, err := w.conn.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if n == "audit" {
			w.conn.QueryRowContext(ctx, "SELECT count(*) FROM audit").Scan(&s.auditRows)
			continue
		}
		s.tables[n] = w.digest(t, n)
	}
	w.last = s
	return s
}

// bookkeeping are the columns an authenticated request may write whatever it asks: a sign-in's
// latest request and address (written at most once a minute, for the security administrator's
// list). They change no register entry, so a refused request writing them has written nothing.
var bookkeeping = map[string][]string{"tokens": {"seen_at", "remote"}}

func (w *regWatch) digest(t *testing.T, table string) string {
	t.Helper()
	rows, err := w.conn.QueryContext(context.Background(), `SELECT * FROM "`+table+`"`)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			if slices.Contains(bookkeeping[table], c) {
				vals[i] = nil
			}
		}
		fmt.Fprintf(h, "%q\n", vals)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// diff names the tables (audit aside) whose contents differ.
func (s snapshot) diff(o snapshot) []string {
	var out []string
	for n, d := range o.tables {
		if s.tables[n] != d {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

type auditRec struct{ actor, action, subject string }

// lastAudit returns the n newest audit records, newest first.
func (w *regWatch) lastAudit(t *testing.T, n int) []auditRec {
	t.Helper()
	if n <= 0 {
		return nil
	}
	rows, err := w.conn.QueryContext(context.Background(), "SELECT actor, action, subject FROM audit ORDER BY seq DESC LIMIT ?", n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRec
	for rows.Next() {
		var r auditRec
		if err := rows.Scan(&r.actor, &r.action, &r.subject); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
