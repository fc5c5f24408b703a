package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// A console session lives in the register (issue 21 point 10): custodyd stops and starts again
// on the same data, and the browser's cookie still signs its person in, with the message kept
// for its next page; the register holds only the cookie's digest; the cookie is no API token.
func TestConsoleSessionSurvivesARestart(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	if code, _ := get(t, c, s.base+"/desk"); code != http.StatusOK {
		t.Fatalf("the desk before the restart: got %d, want 200", code)
	}
	// A refusal kept for the next page, then the restart before that page is asked for.
	if code, loc := s.post(t, c, "/desk/open", url.Values{"desk": {"NO-SUCH-DESK"}, "purpose": {"borrow"}}); code != http.StatusSeeOther || loc != "/desk" {
		t.Fatalf("a refused handover: got %d to %q, want 303 to /desk", code, loc)
	}
	if n := s.count(`SELECT count(*) FROM tokens WHERE flash IS NOT NULL`); n != 1 {
		t.Errorf("sign-ins with a kept message: got %d, want 1", n)
	}
	secret := cookieValue(t, c, s.base)
	sum := sha256.Sum256([]byte(secret))
	if n := s.count(`SELECT count(*) FROM tokens WHERE client = 'console' AND hash = '` + hex.EncodeToString(sum[:]) + `'`); n != 1 {
		t.Errorf("console sign-ins stored under the cookie's digest: got %d, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM tokens WHERE hash = '` + secret + `' OR remote = '` + secret + `' OR flash LIKE '%` + secret + `%'`); n != 0 {
		t.Errorf("the cookie itself is stored in %d rows, want none", n)
	}

	s.stop()
	s.cfg.HTTP.Listen = s.addr // the same address: the browser's cookie goes to it
	s.run()

	code, body := get(t, c, s.base+"/desk")
	if code != http.StatusOK || !strings.Contains(body, `id="logout"`) {
		t.Fatalf("the desk after the restart: got %d, want 200 and still signed in", code)
	}
	if !strings.Contains(body, `class="err"`) {
		t.Error("the kept refusal is not on the first page after the restart")
	}
	if _, body := get(t, c, s.base+"/desk"); strings.Contains(body, `class="err"`) {
		t.Error("the kept refusal shows twice")
	}
	// The cookie opens the console only: as a bearer token the API refuses it.
	req, _ := http.NewRequest("GET", s.base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("the console's cookie as an API token: got %d, want a refusal", resp.StatusCode)
	}
	// Logout ends it in the register: the same cookie, replayed, is refused.
	s.post(t, c, "/logout", nil)
	replay := s.client()
	u, _ := url.Parse(s.base)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "custody_session", Value: secret}})
	if code, loc := getLoc(t, replay, s.base+"/desk"); code != http.StatusSeeOther || loc != "/login" {
		t.Errorf("a replayed cookie after logout: got %d to %q, want 303 to /login", code, loc)
	}
}

// Only the security administrator lists and ends sign-ins — in the console, through the API
// and (ctl's test) custodyctl. Everyone else, the system administrator included, is refused;
// each refusal is audited and ends nothing.
func TestSecurityAdministratorEndsSignIns(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	first := s.client()
	s.signIn(first, "wang.fang")
	var mine []struct {
		ID     int64
		Client string
		Remote string
	}
	s.api("sec.admin", "GET", "/api/v1/signins?user=wang.fang", "", 200, &mine)
	var firstID int64
	for _, x := range mine {
		if x.Client == "console" {
			firstID = x.ID
			if x.Remote != "127.0.0.1" {
				t.Errorf("the console sign-in's address: got %q, want 127.0.0.1", x.Remote)
			}
		}
	}
	if firstID == 0 {
		t.Fatalf("wang.fang's console sign-in is not listed: %+v", mine)
	}
	second := s.client()
	s.signIn(second, "wang.fang")

	sec := s.client()
	s.signIn(sec, "sec.admin")
	code, body := get(t, sec, s.base+"/signins?user=wang.fang")
	if code != http.StatusOK || strings.Count(body, `data-user="wang.fang"`) < 3 {
		t.Fatalf("the sign-ins page: got %d with %d of wang.fang's, want her two console sessions and her API token", code, strings.Count(body, `data-user="wang.fang"`))
	}
	for _, w := range []string{"控制台", "命令行", "127.0.0.1"} {
		if !strings.Contains(body, w) {
			t.Errorf("the sign-ins page lacks %q", w)
		}
	}

	for _, user := range []string{"admin", "wang.fang", "li.ming", "zhao.lei", "zhang.wei"} {
		c := s.client()
		if user == "admin" {
			s.signInAs(c, "admin", "admin-password-1")
		} else {
			s.signIn(c, user)
		}
		tokens := s.count(`SELECT count(*) FROM tokens`)
		refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`)
		if code, _ := get(t, c, s.base+"/signins"); code != http.StatusForbidden {
			t.Errorf("%s on the sign-ins page: got %d, want 403", user, code)
		}
		if code, _ := s.post(t, c, "/signins/"+strconv.FormatInt(firstID, 10)+"/revoke", nil); code != http.StatusForbidden {
			t.Errorf("%s ending a sign-in in the console: got %d, want 403", user, code)
		}
		if code, _ := s.post(t, c, "/signins/revoke", url.Values{"user": {"wang.fang"}}); code != http.StatusForbidden {
			t.Errorf("%s ending a person's sign-ins in the console: got %d, want 403", user, code)
		}
		s.api(user, "GET", "/api/v1/signins", "", 403, nil)
		s.api(user, "POST", "/api/v1/signins/"+strconv.FormatInt(firstID, 10)+"/revoke", "", 403, nil)
		s.api(user, "POST", "/api/v1/people/wang.fang/signout", "", 403, nil)
		if after := s.count(`SELECT count(*) FROM tokens`); after != tokens {
			t.Errorf("%s's refused attempts changed the sign-ins: %d, want %d", user, after, tokens)
		}
		if after := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); after != refused+6 {
			t.Errorf("%s's six refused attempts: %d refusal records, want %d", user, after-refused, 6)
		}
	}

	// The security administrator ends the first session: it is signed out, the second is not.
	if code, loc := s.post(t, sec, "/signins/"+strconv.FormatInt(firstID, 10)+"/revoke", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/signins") {
		t.Fatalf("end a sign-in: got %d to %q", code, loc)
	}
	if code, loc := getLoc(t, first, s.base+"/desk"); code != http.StatusSeeOther || loc != "/login" {
		t.Errorf("the ended session: got %d to %q, want 303 to /login", code, loc)
	}
	if code, _ := get(t, second, s.base+"/desk"); code != http.StatusOK {
		t.Errorf("the other session: got %d, want 200", code)
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'person.signout' AND actor = 'sec.admin' AND before LIKE '%"sign_in":` + strconv.FormatInt(firstID, 10) + `%'`); n != 1 {
		t.Errorf("person.signout records of the ended session: got %d, want 1", n)
	}
	// Then every sign-in of hers: the console and the command line alike.
	if code, _ := s.post(t, sec, "/signins/revoke", url.Values{"user": {"wang.fang"}}); code != http.StatusSeeOther {
		t.Fatalf("end all of wang.fang's sign-ins: got %d", code)
	}
	if code, _ := getLoc(t, second, s.base+"/desk"); code != http.StatusSeeOther {
		t.Errorf("wang.fang's second session after all were ended: got %d, want 303 to the login", code)
	}
	s.api("wang.fang", "GET", "/api/v1/me", "", 401, nil)
	if n := s.count(`SELECT count(*) FROM tokens t JOIN people p ON p.id = t.person_id WHERE p.username = 'wang.fang'`); n != 0 {
		t.Errorf("wang.fang's sign-ins left: %d, want 0", n)
	}
	if _, body := get(t, sec, s.base+"/signins?ended=2"); !strings.Contains(body, "已强制下线 2 个登录会话") {
		t.Error("the sign-ins page does not say how many were ended")
	}
	// Through the API as well: the security administrator lists and ends.
	s.login("li.ming", "li.ming-password")
	var out struct{ Revoked int }
	s.api("sec.admin", "POST", "/api/v1/people/li.ming/signout", "", 200, &out)
	if out.Revoked < 2 {
		t.Errorf("li.ming's sign-ins ended through the API: got %d, want at least 2", out.Revoked)
	}
	s.api("li.ming", "GET", "/api/v1/me", "", 401, nil)
	s.api("sec.admin", "POST", "/api/v1/signins/999999/revoke", "", 404, nil)
	s.api("sec.admin", "GET", "/api/v1/signins?user=nobody", "", 404, nil)
}

func cookieValue(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "custody_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// getLoc is a GET that returns the status and where a redirect points.
func getLoc(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// signInAs signs c in to the console with a password other than the site's usual one.
func (s *site) signInAs(c *http.Client, user, password string) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/login", strings.NewReader(url.Values{"username": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("console login as %s: got %d, want 303", user, resp.StatusCode)
	}
}
