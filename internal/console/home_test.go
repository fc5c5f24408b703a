package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/wire"
)

// homeSite is a site with a day's work on it: a critical alarm, a borrowing closed today with
// its copy due back today when the day leaves room (else tomorrow), a handover still open, a
// reproduction waiting for a leader's approval.
type homeSite struct {
	*site
	lent    int64  // the copy lent to zhang.wei
	dueDate string // its due date in the site's zone
}

func startHomeSite(t *testing.T) homeSite {
	t.Helper()
	s := startSite(t)
	no := false
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Message: "tamper switch of cabinet C-01", Cleared: &no})
	waitFor(t, "the tamper alert", func() bool { return s.count(`SELECT count(*) FROM alerts`) > 0 })
	zone := sitetime.Default()
	now := time.Now()
	due := now.Add(30 * time.Minute)
	if zone.Format(due, time.DateOnly) != zone.Format(now, time.DateOnly) {
		due = now.Add(3 * time.Hour) // near midnight: due tomorrow, and the test expects so
	}
	c := s.client()
	s.signIn(c, "wang.fang")
	if code, _ := s.post(t, c, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {zone.Format(due, "2006-01-02T15:04")}}); code != http.StatusSeeOther {
		t.Fatalf("open a borrowing: got %d", code)
	}
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {"B-0042"}})
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[0])}})
	if code, loc := s.post(t, c, "/desk/D-01/close", url.Values{"pin": {"2468"}}); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/receipts/") {
		t.Fatalf("close the borrowing: got %d to %q", code, loc)
	}
	s.post(t, c, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {zone.Format(due, "2006-01-02T15:04")}})
	s.api("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(`{"kind":"reproduce","items":[%d],"copies":1,"reason":"会议需要"}`, s.items[1]), 201, nil)
	return homeSite{site: s, lent: s.items[0], dueDate: zone.Format(due, "2006-01-02T15:04")[:10]}
}

// figure reads the number of a home page's figure (its link's id).
func figure(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"[^>]*>[^<]*<b>(\d+)</b>`).FindStringSubmatch(body)
	if m == nil {
		t.Errorf("no figure %s on the page", id)
		return ""
	}
	return m[1]
}

// The home page of each role (issue 21 point 3): a person sees a section for each role they
// hold, every figure links to the page that lists it and every id to its own page.
func TestHomePerRole(t *testing.T) {
	t.Parallel()
	s := startHomeSite(t)
	custodian := s.client()
	s.signIn(custodian, "wang.fang")
	code, body := get(t, custodian, s.base+"/")
	if code != http.StatusOK {
		t.Fatalf("the custodian's home: got %d", code)
	}
	today := sitetime.Default().Format(time.Now(), time.DateOnly)
	wantDue := "0"
	if s.dueDate == today {
		wantDue = "1"
	}
	for id, want := range map[string]string{"fig-handovers": "1", "fig-open": "1", "fig-alerts": "1", "fig-due-today": wantDue, "fig-overdue": "0", "fig-expiring": "0"} {
		if got := figure(t, body, id); got != want {
			t.Errorf("the custodian's %s: got %s, want %s", id, got, want)
		}
	}
	for _, link := range []string{`href="/receipts/1"`, `href="/desk/D-01"`, `href="/alerts/1"`, `href="/register?view=overdue"`, `href="/terms"`, `href="/cabinets/C-01"`} {
		if !strings.Contains(body, link) {
			t.Errorf("the custodian's home has no link %s", link)
		}
	}
	if wantDue == "1" && !strings.Contains(body, `href="/items/`+itoa(s.lent)+`"`) {
		t.Errorf("the copy due today is not linked to its page")
	}
	if strings.Contains(body, `id="home-leader"`) || strings.Contains(body, `id="home-auditor"`) {
		t.Error("the custodian sees another role's section")
	}

	leader := s.client()
	s.signIn(leader, "li.ming")
	_, body = get(t, leader, s.base+"/")
	for id, want := range map[string]string{"fig-leader-alerts": "1", "fig-waiting": "1", "fig-leader-overdue": "0"} {
		if got := figure(t, body, id); got != want {
			t.Errorf("the leader's %s: got %s, want %s", id, got, want)
		}
	}
	for _, link := range []string{`href="/alerts/1"`, `href="/approvals/1"`, `href="/cabinets/C-01"`} {
		if !strings.Contains(body, link) {
			t.Errorf("the leader's home has no link %s", link)
		}
	}
	if strings.Contains(body, `id="home-custodian"`) {
		t.Error("the leader sees the custodian's section")
	}

	// A person with two roles sees both sections.
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","role":"custodian"}`, 200, nil)
	if _, body = get(t, leader, s.base+"/"); !strings.Contains(body, `id="home-custodian"`) || !strings.Contains(body, `id="home-leader"`) {
		t.Error("a leader who is also a custodian does not see both sections")
	}

	auditor := s.client()
	s.signIn(auditor, "zhao.lei")
	get(t, auditor, s.base+"/desk") // a refusal: a sensitive record
	_, body = get(t, auditor, s.base+"/")
	if !strings.Contains(body, "审计链完整") || !strings.Contains(body, `href="/audit"`) {
		t.Error("the auditor's home does not say the chain is intact, linked to the audit page")
	}
	if !strings.Contains(body, "（全链校验于 ") {
		t.Error("the auditor's home does not say when the whole chain was last verified")
	}
	// The audit page verifies the whole chain when asked, and says when it last did.
	if code, page := get(t, auditor, s.base+"/audit?full=1"); code != http.StatusOK || !strings.Contains(page, "审计链完整") ||
		!strings.Contains(page, "全链逐条校验于 ") || !strings.Contains(page, `href="/audit?full=1"`) {
		t.Errorf("the audit page asked for a full verification: got %d, want the chain intact and when it was verified whole", code)
	}
	if !strings.Contains(body, "<code>refused</code>") || !regexp.MustCompile(`href="/audit\?from=\d+"`).MatchString(body) {
		t.Error("the auditor's home does not list the refusal among the recent sensitive records, linked")
	}

	// The security administrator: who holds which role, locked accounts, live sign-ins.
	sec := s.client()
	s.signIn(sec, "sec.admin")
	s.lockOut(t, "zhang.wei")
	_, body = get(t, sec, s.base+"/")
	if !strings.Contains(body, `id="home-secadmin"`) || figure(t, body, "fig-lockouts") != "1" || !strings.Contains(body, `<a href="/signins?user=zhang.wei">张伟</a>`) {
		t.Error("the security administrator's home does not list 张伟's locked account")
	}
	if n := figure(t, body, "fig-signins"); n == "" || n == "0" {
		t.Errorf("live sign-ins on the security administrator's home: got %q", n)
	}
	i := strings.Index(body, `data-role="custodian"`)
	if i < 0 || !strings.Contains(body[i:i+strings.Index(body[i:], "</tr>")], "王芳") {
		t.Error("the roles table does not name 王芳 as a custodian")
	}
}

// The custodian's and the leader's home on a phone and a desktop (issue 21 points 3 and 9): no
// page scrolls sideways, and the alert count and the banner of the urgent alert stand on it.
func TestBrowserHomeAtPhoneAndDesktopWidths(t *testing.T) {
	t.Parallel()
	s := startHomeSite(t)
	for _, user := range []string{"wang.fang", "li.ming"} {
		ctx := browser(t)
		s.browse(t, ctx, user)
		for _, width := range []int64{390, 1366} {
			opt := []chromedp.EmulateViewportOption{}
			if width < 800 {
				opt = append(opt, chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844, opt...), chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("main section.home"))); err != nil {
				t.Fatalf("%s's home at %d px: %v", user, width, err)
			}
			sideways(t, ctx, fmt.Sprintf("%s's home at %d px", user, width))
			if n := text(ctx, "#alarm-count b"); n != "1" {
				t.Errorf("%s's home at %d px: alert count %q, want 1", user, width, n)
			}
			if b := text(ctx, "#alarm-banner strong"); !strings.Contains(b, "1") {
				t.Errorf("%s's home at %d px: banner %q, want the one urgent alert", user, width, b)
			}
			if on, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('header nav a[aria-current="page"]') || {}).textContent || ""`)); on != "首页" {
				t.Errorf("%s's home at %d px: got %q marked in the navigation, want 首页", user, width, on)
			}
		}
	}
}

// lockOut locks user's account: ten wrong passwords through the API.
func (s *site) lockOut(t *testing.T, user string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("POST", s.base+"/api/v1/login", strings.NewReader(`{"username":"`+user+`","password":"wrong-password"}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	if s.count(`SELECT count(*) FROM people WHERE username = '`+user+`' AND locked_at IS NOT NULL`) != 1 {
		t.Fatalf("%s's account did not lock after ten wrong passwords", user)
	}
}

// The security administrator unlocks a locked account from the home page's list; nobody else
// can, through the console or the API — each attempt refused, the account still locked, and one
// refusal record per attempt. Unlocking an account that is not locked is refused and said, and
// writes nothing.
func TestUnlockALockedAccountFromHome(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	// Everyone signs in first: the ten wrong passwords empty this address's bucket of attempts.
	users := []string{"admin", "wang.fang", "li.ming", "zhao.lei", "sec.admin"}
	clients := map[string]*http.Client{}
	for _, user := range users {
		c := s.client()
		if user == "admin" {
			s.signInAs(c, "admin", "admin-password-1")
		} else {
			s.signIn(c, user)
		}
		clients[user] = c
	}
	s.lockOut(t, "zhang.wei")
	locked := func() int {
		return s.count(`SELECT count(*) FROM people WHERE username = 'zhang.wei' AND locked_at IS NOT NULL`)
	}

	for _, user := range users[:4] {
		c := clients[user]
		if _, body := get(t, c, s.base+"/"); strings.Contains(body, `id="unlock-zhang.wei"`) {
			t.Errorf("%s's home offers to unlock zhang.wei", user)
		}
		refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`)
		if code, _ := s.post(t, c, "/people/zhang.wei/unlock", nil); code != http.StatusForbidden {
			t.Errorf("%s unlocking an account in the console: got %d, want 403", user, code)
		}
		s.api(user, "POST", "/api/v1/people/zhang.wei/unlock", "", 403, nil)
		if locked() != 1 {
			t.Fatalf("%s's refused attempts unlocked the account", user)
		}
		if after := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); after != refused+2 {
			t.Errorf("%s's two refused unlocks: %d refusal records, want 2", user, after-refused)
		}
	}

	sec := clients["sec.admin"]
	if _, body := get(t, sec, s.base+"/"); !strings.Contains(body, `action="/people/zhang.wei/unlock"`) || !strings.Contains(body, "解除锁定") {
		t.Fatal("the security administrator's home has no unlock button for zhang.wei's locked account")
	}
	if code, loc := s.post(t, sec, "/people/zhang.wei/unlock", nil); code != http.StatusSeeOther || loc != "/#lockouts" {
		t.Fatalf("unlock from home: got %d to %q", code, loc)
	}
	if locked() != 0 {
		t.Fatal("the account is still locked after the security administrator unlocked it")
	}
	if _, body := get(t, sec, s.base+"/"); !strings.Contains(body, "已解除该账户的锁定") || figure(t, body, "fig-lockouts") != "0" {
		t.Error("the home page does not say the account was unlocked, or still counts it")
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'person.unlock' AND actor = 'sec.admin'`); n != 1 {
		t.Errorf("person.unlock records: got %d, want 1", n)
	}
	time.Sleep(register.AddrEvery)             // one attempt back in this address's bucket
	s.login("zhang.wei", "zhang.wei-password") // signs in again

	// Again: it is not locked any more — refused and said on the home page; nothing is written
	// (a conflict with the register's state, not a rule refused: not a refusal record).
	if code, _ := s.post(t, sec, "/people/zhang.wei/unlock", nil); code != http.StatusSeeOther {
		t.Fatalf("a second unlock: got %d, want 303 back to the home page", code)
	}
	if _, body := get(t, sec, s.base+"/"); !strings.Contains(body, "未被锁定") {
		t.Error("the home page does not say the account is not locked")
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'person.unlock'`); n != 1 {
		t.Errorf("person.unlock records after the second unlock: got %d, want 1", n)
	}
}
