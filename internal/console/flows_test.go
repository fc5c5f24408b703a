package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/wire"
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
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/receive/next?items=") {
		t.Fatalf("receive: got %d to %q, want 303 to the next step", code, loc)
	}
	// Receiving goes on to printing the labels and writing the tags of exactly these copies
	// (issue 21 point 7).
	_, body := get(t, c, s.base+loc)
	if n := strings.Count(body, "关于年终检查的通知"); n != 2 {
		t.Errorf("next step after receiving: got %d rows with the title, want 2", n)
	}
	for _, want := range []string{"打印标签", "写入电子标签", "custodyctl labels print", `action="/items/`, "已登记入柜"} {
		if !strings.Contains(body, want) {
			t.Errorf("next step after receiving: want %q on the page", want)
		}
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
	s.openBorrowing(t, c)
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
	// Loaded again: the refusal is no longer the page's alert, and it stays in the session's list
	// of refused scans (issue 21 point 7: it vanished at the next scan before).
	_, again := get(t, c, s.base+"/desk/D-01")
	if strings.Contains(again, `role="alert"`) && strings.Contains(again[strings.Index(again, `role="alert"`):], "已扫描过</p>") {
		t.Errorf("desk page loaded again: the refusal is still the page's alert, want it once")
	}
	if i := strings.Index(again, `id="rejects"`); i < 0 || !strings.Contains(again[i:], "已扫描过") || !strings.Contains(again[i:], "手工录入") {
		t.Errorf("desk page loaded again: want the typed refusal in the list of refused scans")
	}
}

// A link cannot put words on a console page (issue 21 point 10): no query parameter a page
// could be suspected of echoing as a message (err, msg, notice, …), nor a path segment, shows its
// text on any page of any role — "系统升级，请将密码发送至xx" would be a phishing aid on a trusted
// page. The one page that takes a message from the URL (an alert's refused step) takes a
// catalogue key and shows the catalogue's text for a known one and nothing for another.
func TestTextInTheURLIsNeverShown(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	const bait = "系统升级，请将密码发送至xx"
	var q []string
	for _, k := range []string{"err", "error", "msg", "message", "notice", "flash", "info", "ok", "state", "part", "all", "view", "days"} {
		q = append(q, k+"="+url.QueryEscape(bait))
	}
	query := "?" + strings.Join(q, "&")
	pages := []string{"/desk", "/desk/D-01", "/receive", "/import", "/recalls", "/batches", "/transits", "/alerts", "/alerts?all=1", "/alerts/1",
		"/cabinets", "/cabinets/C-01", "/register", "/losses", "/terms", "/checks", "/audit", "/password", "/policy", "/alarms"}
	paths := []string{"/desk/" + url.PathEscape(bait), "/cabinets/" + url.PathEscape(bait), "/alerts/" + url.PathEscape(bait),
		"/alerts/AL-" + url.PathEscape(bait), "/losses/" + url.PathEscape(bait), "/checks/" + url.PathEscape(bait), "/receipts/" + url.PathEscape(bait)}
	no := false // a tamper alarm, so /alerts/1 exists and the banner is up
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Cleared: &no})
	waitFor(t, "the tamper alert", func() bool { return s.count(`SELECT count(*) FROM alerts`) > 0 })
	for _, user := range []string{"wang.fang", "li.ming", "zhao.lei", "sec.admin", "zhang.wei"} {
		c := s.client()
		s.signIn(c, user)
		for _, path := range pages {
			sep := query
			if strings.Contains(path, "?") {
				sep = "&" + query[1:]
			}
			if code, body := get(t, c, s.base+path+sep); strings.Contains(body, bait) {
				t.Errorf("%s GET %s?err=…: got %d with the URL's text on the page, want it never shown", user, path, code)
			}
		}
		for _, path := range paths {
			if code, body := get(t, c, s.base+path); strings.Contains(body, bait) {
				t.Errorf("%s GET %s: got %d with the path's text on the page, want it never shown", user, path, code)
			}
		}
	}
	c := s.client()
	s.signIn(c, "li.ming")
	if _, body := get(t, c, s.base+"/alerts/1?err=alert.note_required"); !strings.Contains(body, "请填写处理说明") {
		t.Errorf("an alert's page with a known key: want the catalogue's text in the error banner")
	}
	if _, body := get(t, c, s.base+"/alerts/1?err=login.bad"); strings.Contains(body, `class="err"`) {
		t.Errorf("an alert's page with a key outside its list: want no error banner")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// 机要交通 in the console: the desk opens a dispatch with courier, envelope, receiving unit and
// expected arrival (datetime-local, the site's zone), the copy scanned at the desk is 传递中 and
// the transit page shows it with its courier and envelope; the receipt form makes it 已签收 and
// the copy 已移交. A reader cannot open the page (refused and audited).
func TestDispatchAndReceiptInTheConsole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	expected := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
	form := url.Values{"desk": {"D-01"}, "purpose": {"dispatch"}, "courier": {"赵交通"}, "destination": {"市国资委办公室"}, "expected": {expected}}
	if code, loc := s.post(t, c, "/desk/open", form); code != http.StatusSeeOther || loc != "/desk" {
		t.Fatalf("dispatch without an envelope: got %d to %q, want 303 back to /desk with the refusal", code, loc)
	}
	if _, body := get(t, c, s.base+"/desk"); !strings.Contains(body, "信封编号") {
		t.Errorf("desk page after the refused dispatch: want the refusal naming 信封编号")
	}
	form.Set("envelope", "JY-2026-0042")
	if code, loc := s.post(t, c, "/desk/open", form); code != http.StatusSeeOther || loc != "/desk/D-01" {
		t.Fatalf("dispatch: got %d to %q, want 303 to /desk/D-01", code, loc)
	}
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[0])}})
	if code, _ := s.post(t, c, "/desk/D-01/close", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("close the dispatch: got %d", code)
	}
	_, body := get(t, c, s.base+"/transits")
	for _, want := range []string{"赵交通", "JY-2026-0042", "市国资委办公室", "在途", strings.Replace(expected, "T", " ", 1), `action="/transits/`} {
		if !strings.Contains(body, want) {
			t.Errorf("transits page: want %q", want)
		}
	}
	if _, reg := get(t, c, s.base+"/register"); !strings.Contains(reg, "传递中") || !strings.Contains(reg, "→ 市国资委办公室") {
		t.Errorf("register page: want the copy 传递中 to 市国资委办公室")
	}
	var id int64
	if n := s.count(`SELECT count(*) FROM transits`); n != 1 {
		t.Fatalf("got %d transits, want 1", n)
	}
	id = int64(s.count(`SELECT max(id) FROM transits`))
	if code, loc := s.post(t, c, "/transits/"+itoa(id)+"/receipt", url.Values{"receipt": {"国资回〔2026〕12号"}, "receiver": {"钱收"}}); code != http.StatusSeeOther || loc != "/transits" {
		t.Fatalf("receipt: got %d to %q", code, loc)
	}
	_, body = get(t, c, s.base+"/transits")
	if !strings.Contains(body, "已签收") || !strings.Contains(body, "国资回〔2026〕12号") || !strings.Contains(body, "已移交") {
		t.Errorf("transits page after the receipt: want 已签收 with the receipt and the copy 已移交")
	}

	r := s.client()
	s.signIn(r, "zhang.wei")
	before := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`)
	if code, _ := get(t, r, s.base+"/transits"); code != http.StatusForbidden {
		t.Errorf("transits page for a reader: got %d, want 403", code)
	}
	if after := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`); after != before+1 {
		t.Errorf("the refused page: %d refusal records, want %d", after, before+1)
	}
}
