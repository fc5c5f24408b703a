package console_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// person adds an account in unit with a business role, as the office does (the administrator
// creates it, the security administrator grants the role, the person replaces the password).
func (s *site) person(user, name, unit, role string) {
	s.t.Helper()
	s.api("admin", "POST", "/api/v1/people", `{"username":"`+user+`","name":"`+name+`","unit":"`+unit+`","roles":[],"password":"`+user+`-initial"}`, 201, nil)
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"`+user+`","role":"`+role+`"}`, 200, nil)
	s.login(user, user+"-initial")
	s.api(user, "POST", "/api/v1/me/password", `{"old":"`+user+`-initial","new":"`+user+`-password"}`, 200, nil)
}

// follow posts a form and reads the page it redirects to, as a browser would.
func (s *site) follow(t *testing.T, c *http.Client, path string, form url.Values) (string, string) {
	t.Helper()
	code, loc := s.post(t, c, path, form)
	if code != http.StatusSeeOther {
		t.Fatalf("POST %s: got %d, want 303", path, code)
	}
	_, body := get(t, c, s.base+loc)
	return loc, body
}

// errText is the refusal a page shows (its role="alert" paragraph), "" when none.
func errText(body string) string {
	m := regexp.MustCompile(`(?s)<p class="err" role="alert">(.*?)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(visible(m[1]))
}

// Approvals in the console (issue 21 point 4), tried as each role. A custodian requests a take-out
// from a copy's page without typing an id; the page names who decides as the register's policy
// says. Every refused decision — a reader, the administrator, the auditor, a leader of another
// unit, a leader deciding what concerns himself, a second decision — shows the register's words
// in Chinese, changes nothing and is audited. The leader decides; the desk then offers that
// approval to pick, and only approvals that can be used. A destruction batch marked 已造册 is
// approved by the leader from the batches page.
func TestApprovalsThroughTheConsoleAsEachRole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	s.api("admin", "POST", "/api/v1/units", `{"code":"KJC","name":"科技处"}`, 201, nil)
	s.person("zhou.min", "周敏", "BGS", "leader") // a second leader of 办公室
	s.person("sun.li", "孙丽", "KJC", "leader")   // a leader of another unit
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"secrecy_leader","unit":"BGS"}`, 200, nil)

	custodian := s.client()
	s.signIn(custodian, "wang.fang")
	// The copy's page leads to the request with the copy ticked.
	_, item := get(t, custodian, fmt.Sprintf("%s/items/%d", s.base, s.items[0]))
	ask := regexp.MustCompile(`href="(/approvals/new\?kind=take_out&amp;item=\d+)"`).FindStringSubmatch(item)
	if ask == nil {
		t.Fatalf("the copy's page: no link to request its take-out")
	}
	_, form := get(t, custodian, s.base+strings.ReplaceAll(ask[1], "&amp;", "&"))
	if !strings.Contains(form, fmt.Sprintf(`name="item" value="%d" checked`, s.items[0])) {
		t.Fatalf("the request form from the copy's page: want copy %d ticked", s.items[0])
	}
	due := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
	loc, page := s.follow(t, custodian, "/approvals", url.Values{"kind": {"take_out"}, "item": {itoa(s.items[0])}, "for": {"zhang.wei"}, "due": {due}, "reason": {"外出参加会议"}})
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/approvals/"), 10, 64)
	if err != nil {
		t.Fatalf("request: redirected to %q, want the approval's page", loc)
	}
	if !strings.Contains(page, "BGS 的本单位领导") || !strings.Contains(page, "待审批") {
		t.Errorf("approval %d: want it pending and decided by BGS 的本单位领导 (the policy's decider)", id)
	}
	// A second take-out the desk must not offer while it waits.
	_, waiting := s.follow(t, custodian, "/approvals", url.Values{"kind": {"take_out"}, "item": {itoa(s.items[1])}, "for": {"zhang.wei"}, "due": {due}, "reason": {"外出参加会议"}})
	pendingID := regexp.MustCompile(`审批单 (\d+)`).FindStringSubmatch(waiting)
	if pendingID == nil {
		t.Fatal("the second request's page names no approval")
	}

	// li.ming asks to take a copy out himself: it goes to the other leader of 办公室.
	leader := s.client()
	s.signIn(leader, "li.ming")
	ownLoc, _ := s.follow(t, leader, "/approvals", url.Values{"kind": {"take_out"}, "item": {itoa(s.items[3])}, "due": {due}, "reason": {"带回家中阅读"}})
	own := strings.TrimPrefix(ownLoc, "/approvals/")
	if _, err := strconv.Atoi(own); err != nil {
		t.Fatalf("li.ming's own request: redirected to %q", ownLoc)
	}

	decide := func(user string, approval string, want string) {
		t.Helper()
		c := s.client()
		if user == "admin" {
			s.signInAs(c, "admin", "admin-password-1")
		} else {
			s.signIn(c, user)
		}
		state := fmt.Sprintf(`SELECT state || coalesce(decided_by, 0) FROM approvals WHERE id = %s`, approval)
		before, decisions := s.str(state), s.count(`SELECT count(*) FROM audit WHERE action LIKE 'approval.%'`)
		refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`)
		_, body := s.follow(t, c, "/approvals/"+approval+"/decide", url.Values{"decision": {"approve"}, "note": {"同意"}})
		if got := errText(body); !strings.Contains(got, want) {
			t.Errorf("%s deciding approval %s: got refusal %q, want one saying %q", user, approval, got, want)
		} else if w := word.FindAllString(got, -1); len(w) > 0 && !allData(w) {
			t.Errorf("%s deciding approval %s: English words %q in the refusal %q", user, approval, w, got)
		}
		if s.str(state) != before || s.count(`SELECT count(*) FROM audit WHERE action LIKE 'approval.%'`) != decisions {
			t.Errorf("%s deciding approval %s: the refusal wrote something", user, approval)
		}
		if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); n != refused+1 {
			t.Errorf("%s deciding approval %s: %d refusal records, want %d (audited)", user, approval, n, refused+1)
		}
	}
	// The 三员 request nothing: refused in words, nothing written, audited.
	for _, user := range []string{"admin", "zhao.lei"} {
		c := s.client()
		if user == "admin" {
			s.signInAs(c, "admin", "admin-password-1")
		} else {
			s.signIn(c, user)
		}
		approvals, refused := s.count(`SELECT count(*) FROM approvals`), s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '`+user+`'`)
		_, body := s.follow(t, c, "/approvals", url.Values{"kind": {"take_out"}, "item": {itoa(s.items[1])}, "due": {due}, "reason": {"外出"}})
		if got := errText(body); !strings.Contains(got, "只有机要员、阅文人、领导可以申请审批") {
			t.Errorf("%s requesting a take-out: got refusal %q, want 只有机要员、阅文人、领导可以申请审批", user, got)
		}
		if s.count(`SELECT count(*) FROM approvals`) != approvals {
			t.Errorf("%s requesting a take-out: an approval was written", user)
		}
		if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); n != refused+1 {
			t.Errorf("%s requesting a take-out: %d refusal records, want %d", user, n, refused+1)
		}
	}
	a := strconv.FormatInt(id, 10)
	decide("zhang.wei", a, "您没有这项审批权限")     // a reader
	decide("admin", a, "您没有这项审批权限")         // the system administrator (三员)
	decide("zhao.lei", a, "您没有这项审批权限")      // the auditor (三员), who may not even read it
	decide("sun.li", a, "须由 BGS 的本单位领导决定")  // a leader of another unit
	decide("li.ming", own, "您不能审批与本人有关的申请") // the requester deciding his own
	decide("wang.fang", a, "您没有这项审批权限")     // the custodian who asked
	_, body := s.follow(t, leader, "/approvals/"+a+"/decide", url.Values{"decision": {"approve"}, "note": {"同意"}})
	if !strings.Contains(body, "已批准，已记入审计") || !strings.Contains(body, `<span id="approval-state">已批准</span>`) {
		t.Fatalf("li.ming approving %s: want the notice and the state 已批准 (page error %q)", a, errText(body))
	}
	decide("zhou.min", a, "已处理（已批准），不能再次决定") // a decided approval

	// The desk offers the approved take-out and not the one still waiting; it opens with it.
	_, desk := get(t, custodian, s.base+"/desk")
	if !strings.Contains(desk, `<option value="`+a+`">审批 `+a+` · 张伟 · 1 份`) {
		t.Errorf("the desk's approval picker: want approval %s offered as 审批 %s · 张伟 · 1 份 …", a, a)
	}
	if strings.Contains(desk, `<option value="`+pendingID[1]+`">`) {
		t.Errorf("the desk's approval picker offers approval %s, which is still pending", pendingID[1])
	}
	if strings.Contains(desk, `name="approval" inputmode`) {
		t.Error("the desk still asks for a typed approval number")
	}
	if code, loc := s.post(t, custodian, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"take_out"}, "approval": {a}}); code != http.StatusSeeOther || loc != "/desk/D-01" {
		t.Errorf("open a take-out with the picked approval: got %d to %q, want the desk", code, loc)
	}
	s.post(t, custodian, "/desk/D-01/abandon", url.Values{"reason": {"改日办理"}})

	// A destruction batch waiting for the leader is approved from the batches page.
	if code, _ := s.post(t, custodian, "/batches", url.Values{"items": {itoa(s.items[2])}, "reason": {"到期销毁"}}); code != http.StatusSeeOther {
		t.Fatalf("list a batch: got %d", code)
	}
	batchApproval := s.str(`SELECT approval_id FROM destruction_batches ORDER BY id DESC LIMIT 1`)
	_, batches := get(t, leader, s.base+"/batches")
	if !strings.Contains(batches, `action="/approvals/`+batchApproval+`/decide"`) {
		t.Fatalf("the batches page shows li.ming no decision for the listed batch")
	}
	other := s.client()
	s.signIn(other, "sun.li")
	_, refusedPage := s.follow(t, other, "/approvals/"+batchApproval+"/decide", url.Values{"decision": {"approve"}, "back": {"/batches"}})
	if got := errText(refusedPage); !strings.Contains(got, "须由 BGS 的分管保密工作的领导决定") {
		t.Errorf("sun.li approving the batch from its page: got %q, want the refusal naming BGS's leader in charge of secrecy work", got)
	}
	loc, approved := s.follow(t, leader, "/approvals/"+batchApproval+"/decide", url.Values{"decision": {"approve"}, "note": {"同意销毁"}, "back": {"/batches"}})
	if loc != "/batches" || !strings.Contains(approved, "已批准，已记入审计") || s.str(`SELECT state FROM destruction_batches ORDER BY id DESC LIMIT 1`) != "approved" {
		t.Errorf("li.ming approving the batch from its page: got %q, want back on /batches with the batch approved", loc)
	}
	_, desk = get(t, custodian, s.base+"/desk")
	if !strings.Contains(desk, `<option value="`+s.str(`SELECT id FROM destruction_batches ORDER BY id DESC LIMIT 1`)+`">第 `) {
		t.Error("the desk's batch picker does not offer the approved batch")
	}
}

// allData: words of a refusal that are data (unit codes, usernames), not the code's.
func allData(ws []string) bool {
	for _, w := range ws {
		if !idOrCode(w) {
			return false
		}
	}
	return true
}

// str runs a query returning one text value on custodyd's database, read-only.
func (s *site) str(q string) string {
	s.t.Helper()
	db := s.db()
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRow(q).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return v.String
}
