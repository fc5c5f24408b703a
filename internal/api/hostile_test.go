package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// The hostile-input suite (issue 12): every operation of the OpenAPI document — so a new route is
// covered the day it is documented, which the route test enforces — is called by a person holding
// one of its roles with malformed, oversized, wrong-type, look-alike and injection input, and
// with hostile path parameters. Each must be answered with a clear 4xx (an error code and a
// message), never a 5xx or a dropped connection; and the malformed, oversized and wrong-type
// bodies write nothing (no row in any register table).
func TestHostileInputOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Roles       []string        `json:"x-roles"`
			RequestBody json.RawMessage `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	userOf := map[string]string{"admin": "admin", "secadmin": "sec.admin", "auditor": "zhao.lei", "custodian": "wang.fang", "leader": "li.ming", "any": "wang.fang"}
	tables := []string{"units", "people", "documents", "items", "cabinets", "desks", "agents", "tokens"}
	rows := func() string {
		var b strings.Builder
		for _, tb := range tables {
			var n int
			e.api.st.DB().QueryRow("SELECT count(*) FROM " + tb).Scan(&n)
			fmt.Fprintf(&b, "%s=%d ", tb, n)
		}
		return b.String()
	}

	oversized := `{"x":"` + strings.Repeat("京", MaxBody/3+10) + `"}`
	bodies := []struct {
		name    string
		body    string
		nothing bool // must write nothing
	}{
		{"malformed JSON", `{"number": "京密〔2027〕1号",`, true},
		{"not JSON", "\x00\x01\x02 DROP TABLE items; --", true},
		{"oversized", oversized, true},
		{"wrong type: array", `[1,2,3]`, true},
		{"wrong type: string", `"just a string"`, true},
		{"wrong types inside", `{"username":7,"number":[],"title":{},"copies":"many","id":true,"agent":1.5,"desk":null,"items":"all","cabinet":{"$gt":""}}`, true},
		{"two objects", `{} {}`, true},
		{"look-alike and invisible", `{"username":"аdmin","password":"x\u202eyz","code":"C\u200b-01","name":"\u0000","number":"京密〔2027〕1号\u2066","agent":"custodyd"}`, false},
		{"injection", `{"username":"admin' OR '1'='1","title":"<script>alert(1)</script>","number":"=HYPERLINK(\"http://evil\")","note":"'; DROP TABLE audit; --","code":"../../etc/passwd","agent":"room-301/#"}`, false},
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	calls := 0
	for _, path := range paths {
		for method, op := range doc.Paths[path] {
			method = strings.ToUpper(method)
			if len(op.Roles) == 0 || path == "/api/v1/login" { // public; login has its own limits tests
				continue
			}
			user := userOf[op.Roles[0]]
			concrete := strings.NewReplacer("{id}", "1", "{code}", "C-01", "{username}", "li.ming", "{ref}", "AL-X").Replace(path)
			check := func(what, p, body string, nothing bool) {
				t.Helper()
				calls++
				before := rows()
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
				if nothing {
					if resp.StatusCode < 400 {
						t.Errorf("%s %s (%s): got %d, want it refused", method, p, what, resp.StatusCode)
					}
					if after := rows(); after != before {
						t.Errorf("%s %s (%s) wrote something: %s → %s", method, p, what, before, after)
					}
				}
			}
			if op.RequestBody != nil {
				for _, b := range bodies {
					check(b.name, concrete, b.body, b.nothing)
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
					check("path "+v[:min(len(v), 12)], p, body, false)
				}
			}
		}
	}
	t.Logf("%d hostile calls on %d paths", calls, len(paths))
	if calls < 100 {
		t.Fatalf("only %d hostile calls: the OpenAPI document was not walked", calls)
	}
}
