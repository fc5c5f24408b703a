package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func (s *site) post(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// A new account with a one-time password sees nothing but the password page until it changes it.
func TestForcedPasswordChange(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	var created struct {
		Password string `json:"one_time_password"`
	}
	s.api("admin", "POST", "/api/v1/people", `{"username":"sun.li","name":"孙丽","unit":"BGS"}`, 201, &created)
	if created.Password == "" {
		t.Fatal("no one-time password")
	}
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"sun.li","role":"leader"}`, 200, nil)
	c := s.client()
	code, loc := s.post(t, c, "/login", url.Values{"username": {"sun.li"}, "password": {created.Password}})
	if code != http.StatusSeeOther || loc != "/password" {
		t.Fatalf("login with a one-time password: got %d to %q, want 303 to /password", code, loc)
	}
	resp, err := c.Get(s.base + "/cabinets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/password" {
		t.Fatalf("cabinets before the change: got %d to %q, want 303 to /password", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := s.post(t, c, "/password", url.Values{"old": {created.Password}, "new": {"sun.li-new-password"}, "again": {"sun.li-new-password"}}); code != http.StatusOK {
		t.Fatalf("change: got %d, want 200", code)
	}
	if code, body := get(t, c, s.base+"/cabinets"); code != http.StatusOK || !strings.Contains(body, "C-01") {
		t.Fatalf("cabinets after the change: got %d, want 200 with C-01", code)
	}
}

// Receiving a document from the form registers its copies in the cabinet; a leader cannot.
func TestReceiveFromTheForm(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	form := url.Values{"number": {"办〔2026〕9号"}, "title": {"关于年终检查的通知"}, "issuing_unit": {"BGS"}, "level": {"secret"},
		"issued_on": {"2026-11-20"}, "secrecy_term": {"5年"}, "copies": {"2"}, "cabinet": {"C-01"}, "from": {"市委机要局"}}
	code, loc := s.post(t, c, "/receive", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/register?q=") {
		t.Fatalf("receive: got %d to %q, want 303 to the register", code, loc)
	}
	_, body := get(t, c, s.base+loc)
	if n := strings.Count(body, "关于年终检查的通知"); n != 2 {
		t.Errorf("register after receiving: got %d rows with the title, want 2", n)
	}
	l := s.client()
	s.signIn(l, "li.ming")
	if code, _ := s.post(t, l, "/receive", form); code != http.StatusForbidden {
		t.Errorf("leader receiving: got %d, want 403", code)
	}
}

// A scanner acting as a keyboard types into the scan box: the badge and a label are taken, a
// label scanned twice is refused on the page, the count says 1.
func TestTypedScansAtTheDesk(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	due := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
	if code, loc := s.post(t, c, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {due}}); code != http.StatusSeeOther || loc != "/desk/D-01" {
		t.Fatalf("open: got %d to %q, want 303 to /desk/D-01", code, loc)
	}
	for _, code := range []string{"B-0042", itoa(s.items[0])} {
		if status, loc := s.post(t, c, "/desk/D-01/scan", url.Values{"code": {code}}); status != http.StatusSeeOther || loc != "/desk/D-01" {
			t.Fatalf("scan %s: got %d to %q, want 303 back to the desk", code, status, loc)
		}
	}
	_, loc := s.post(t, c, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[0])}})
	if loc != "/desk/D-01" {
		t.Errorf("second scan of a label: got a redirect to %q, want /desk/D-01 with no text in the URL", loc)
	}
	_, body := get(t, c, s.base+"/desk/D-01")
	if !strings.Contains(body, `<span id="count">1</span>`) || !strings.Contains(body, "张伟") {
		t.Errorf("desk page: want count 1 and the counterpart 张伟")
	}
	if !strings.Contains(body, "已扫描过") {
		t.Errorf("desk page after the second scan: want the refusal 已扫描过 on the page")
	}
	if _, again := get(t, c, s.base+"/desk/D-01"); strings.Contains(again, "已扫描过") {
		t.Errorf("desk page loaded again: the refusal is still shown, want it once")
	}
}

// A link cannot put words on a console page: ?err= carries no message to any page (issue 21's
// "系统升级，请将密码发送至xx" phishing aid).
func TestTextInTheURLIsNeverShown(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	const bait = "系统升级，请将密码发送至xx"
	for _, path := range []string{"/desk", "/desk/D-01", "/receive", "/recalls", "/batches", "/alerts"} {
		code, body := get(t, c, s.base+path+"?err="+url.QueryEscape(bait))
		if strings.Contains(body, bait) {
			t.Errorf("GET %s?err=…: got %d with the URL's text on the page, want it never shown", path, code)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
