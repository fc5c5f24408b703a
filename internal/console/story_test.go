package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/daemon"
	"github.com/custodyhq/custody/internal/wire"
)

// An alert's page tells the story and offers what to do next (issue 21 point 2): a copy gone
// from C-01 after 张伟's badge opened it names that opening (time, badge, whose it is), lists the
// next steps for its kind (the catalogue's, or the office's own from [alerts.steps]), and offers the custodian to record the checkout at the desk (the desk
// opens with 借出 chosen) or to report the copy lost — which opens a loss case. A leader may report
// but not record at the desk; the auditor is offered neither, and a report posted anyway by the
// auditor, the administrator, the security administrator or a reader is refused by the register,
// audited, and opens no case.
func TestAlertPageTellsTheStory(t *testing.T) {
	t.Parallel()
	s := startSiteWith(t, func(c *daemon.Config) {
		c.Reconcile.RemovalGrace.Duration = time.Second // a checkout not recorded within 1 s of the door closing
		c.Alerts.Steps = map[string][]string{"forced_door": {"封锁机要室", "电话报告分管领导（分机 8001）"}}
	})
	s.inventory("r-0", "") // everything in place
	s.publish(wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open", Badge: "B-0042"})
	s.publish(wire.KindDoor, wire.Door{Cabinet: "C-01", State: "closed"})
	type alertRow struct {
		ID   int64
		Kind string
	}
	var al alertRow // the copy's alert (the opening may be one too, outside working hours)
	for i, deadline := 1, time.Now().Add(30*time.Second); al.ID == 0 && time.Now().Before(deadline); i++ {
		if i%10 == 1 { // a round every 2 s, as the confirming inventories come
			s.inventory(fmt.Sprintf("r-%d", i), s.epcs[0])
		}
		time.Sleep(200 * time.Millisecond)
		var alerts []alertRow
		s.api("wang.fang", "GET", "/api/v1/alerts?active=1", "", 200, &alerts)
		for _, a := range alerts {
			if a.Kind == "missing" || a.Kind == "unrecorded_removal" {
				al = a
			}
		}
	}
	if al.ID == 0 {
		t.Fatal("no alert for the copy gone from C-01")
	}
	page := fmt.Sprintf("%s/alerts/%d", s.base, al.ID)

	custodian := s.client()
	s.signIn(custodian, "wang.fang")
	// The cabinet's page shows its latest report: 4 rounds, every tag but the gone copy's.
	if _, cab := get(t, custodian, s.base+"/cabinets/C-01"); !strings.Contains(cab, fmt.Sprintf("最近一次盘点：4 轮，读到 %d 个标签", len(s.epcs)-1)) {
		t.Errorf("the cabinet's page does not show its latest report (4 rounds, %d tags)", len(s.epcs)-1)
	}
	_, body := get(t, custodian, page)
	for _, want := range []string{
		`id="alert-door"`, "刷工作证 B-0042", `href="/people/zhang.wei">张伟</a>`, // who opened the door
		`id="alert-steps"`, "处置步骤", // the next steps for its kind
		`href="/desk?purpose=borrow" id="alert-checkout"`, "到工作台补登记借出",
		`action="/alerts/` + itoa(al.ID) + `/loss"`, `name="item" value="` + itoa(s.items[0]) + `" checked`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the custodian's alert page (kind %s): want %q on it", al.Kind, want)
		}
	}
	if !strings.Contains(body, "查看本页“最近一次开柜”") && !strings.Contains(body, "查看“最近一次开柜”") {
		t.Errorf("the %s alert's steps are not the catalogue's for its kind", al.Kind)
	}
	// The desk the checkout link leads to opens with 借出 chosen; an unknown purpose chooses none
	// and shows nothing of the URL.
	if _, desk := get(t, custodian, s.base+"/desk?purpose=borrow"); !regexp.MustCompile(`value="borrow" data-fields="[^"]*" selected>`).MatchString(desk) {
		t.Error("the desk reached from the alert does not open with 借出 chosen")
	}
	if _, desk := get(t, custodian, s.base+"/desk?purpose=%3Cb%3E%E7%B3%BB%E7%BB%9F"); strings.Contains(desk, " selected>") || strings.Contains(desk, "<b>系统") {
		t.Error("the desk with an unknown purpose in its URL chose one or showed the URL's text")
	}

	leader := s.client()
	s.signIn(leader, "li.ming")
	if _, body := get(t, leader, page); !strings.Contains(body, `id="alert-loss"`) || strings.Contains(body, `id="alert-checkout"`) {
		t.Error("the leader's alert page: want the loss report and not the desk's checkout")
	}
	auditor := s.client()
	s.signIn(auditor, "zhao.lei")
	if _, body := get(t, auditor, page); strings.Contains(body, `id="alert-loss"`) || strings.Contains(body, `id="alert-checkout"`) || !strings.Contains(body, `id="alert-steps"`) {
		t.Error("the auditor's alert page: want the steps and neither action")
	}
	// The 三员 posting a report anyway — the auditor, the administrator, the security
	// administrator — and a reader: each refused by the register, nothing written, audited.
	admin := s.client()
	s.signInAs(admin, "admin", "admin-password-1")
	secadmin := s.client()
	s.signIn(secadmin, "sec.admin")
	reader := s.client()
	s.signIn(reader, "zhang.wei")
	for _, who := range []struct {
		user string
		c    *http.Client
	}{{"zhao.lei", auditor}, {"admin", admin}, {"sec.admin", secadmin}, {"zhang.wei", reader}} {
		refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + who.user + `'`)
		if code, loc := s.post(t, who.c, "/alerts/"+itoa(al.ID)+"/loss", url.Values{"item": {itoa(s.items[0])}, "note": {"试图报失"}}); code != http.StatusSeeOther || strings.HasPrefix(loc, "/losses/") {
			t.Errorf("%s reporting the copy lost: got %d to %q, want refused", who.user, code, loc)
		}
		if n := s.count(`SELECT count(*) FROM loss_cases`); n != 0 {
			t.Errorf("loss cases after %s's attempt: got %d, want 0", who.user, n)
		}
		if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + who.user + `'`); n != refused+1 {
			t.Errorf("refusal records of %s's attempt: got %d, want one more than %d", who.user, n, refused)
		}
	}

	// The custodian reports it: a loss case with the copy, the alert's page sends there.
	code, loc := s.post(t, custodian, "/alerts/"+itoa(al.ID)+"/loss", url.Values{"item": {itoa(s.items[0]), "999999"}, "note": {"柜内清点未见，询问开柜人未果"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/losses/") {
		t.Fatalf("the custodian reporting the copy lost: got %d to %q, want the loss case", code, loc)
	}
	if n := s.count(`SELECT count(*) FROM loss_case_items WHERE item_id = ` + itoa(s.items[0])); n != 1 {
		t.Errorf("the loss case's copies: got %d rows of the reported copy, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM loss_case_items`); n != 1 {
		t.Errorf("the loss case's copies: got %d, want only the alert's copy (an id not of the alert is ignored)", n)
	}

	// A kind the office wrote its own steps for shows those, marked as the office's.
	no := false
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "forced_door", Message: "door of C-01 opened while locked", Cleared: &no})
	var forced int64
	waitFor(t, "the forced door's alert", func() bool {
		var alerts []alertRow
		s.api("wang.fang", "GET", "/api/v1/alerts?active=1", "", 200, &alerts)
		for _, a := range alerts {
			if a.Kind == "forced_door" {
				forced = a.ID
			}
		}
		return forced != 0
	})
	_, body = get(t, custodian, s.base+"/alerts/"+itoa(forced))
	if !strings.Contains(body, "<li>封锁机要室</li><li>电话报告分管领导（分机 8001）</li>") || !strings.Contains(body, "（本单位规定）") {
		t.Error("the forced door's alert page does not list the office's own steps, marked as such")
	}
}
