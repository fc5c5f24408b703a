package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

// No internal value on a zh-CN page (issue 21 point 8): every page of every role, with an alarm,
// a finding, an acknowledged alert, a desk handover with a typed scan and a closed receipt on
// it, is read as a person reads it (text, placeholders, titles) and any ASCII word that is not an
// id, a code or a number fails: "typed", "open", "closed", "listed", "system", "agent:room-301",
// "1m0s" and round ids are words of the code, not of the office (docs/glossary.md).
func TestZhCNPagesShowNoInternalWords(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	no := false
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Message: "tamper switch of cabinet C-01", Cleared: &no})
	s.inventory("r-words-1", s.epcs[1])
	waitFor(t, "the tamper alert and the finding", func() bool {
		return s.count(`SELECT count(*) FROM alerts`) > 0 && s.count(`SELECT count(*) FROM findings`) > 1
	})
	custodian := s.client()
	s.signIn(custodian, "wang.fang")
	s.post(t, custodian, "/alerts/1/ack", url.Values{"note": {"已派人查看"}})
	due := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
	if code, _ := s.post(t, custodian, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {due}}); code != http.StatusSeeOther {
		t.Fatalf("open a handover: got %d", code)
	}
	s.post(t, custodian, "/desk/D-01/scan", url.Values{"code": {"B-0042"}})
	s.post(t, custodian, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[0])}})
	if code, loc := s.post(t, custodian, "/desk/D-01/close", url.Values{"pin": {"2468"}}); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/receipts/") {
		t.Fatalf("close the handover: got %d to %q, want its receipt", code, loc)
	}
	s.post(t, custodian, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {due}})
	s.post(t, custodian, "/desk/D-01/scan", url.Values{"code": {"B-0042"}})
	s.post(t, custodian, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[1])}})
	s.post(t, custodian, "/desk/D-01/scan", url.Values{"code": {"NOT-A-LABEL"}})
	if code, _ := s.post(t, custodian, "/batches", url.Values{"items": {itoa(s.items[2])}, "reason": {"到期销毁"}}); code != http.StatusSeeOther {
		t.Errorf("list a destruction batch: got %d", code)
	}
	s.api("wang.fang", "POST", "/api/v1/losses", `{"items":[`+itoa(s.items[3])+`],"note":"在会议室遗失"}`, 201, nil) // a loss case, /losses/1
	var check struct{ ID int64 }
	s.api("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, 201, &check) // a 清查, /checks/1
	// Wherever a copy appears, the cabinet's word stands beside the register's (issue 21 point 1):
	// the copy not read in the last round is 在柜 by the register and 一次清点未读到 by its cabinet.
	for _, path := range []string{"/register", "/cabinets/C-01"} {
		_, body := get(t, custodian, s.base+path)
		for id, want := range map[int64]string{s.items[1]: "一次清点未读到", s.items[2]: "最近清点无异常"} {
			i := strings.Index(body, `<tr data-item="`+itoa(id)+`"`)
			if i < 0 {
				t.Errorf("%s: no row for item %d", path, id)
				continue
			}
			row := body[i : i+strings.Index(body[i:], "</tr>")]
			if !strings.Contains(row, "在柜") || !strings.Contains(row, want) {
				t.Errorf("%s, item %d: got row %s, want 在柜 by the register and %s by the cabinet", path, id, row, want)
			}
		}
	}
	// An approval decided and one waiting (issue 21 point 4): /approvals/1 and /approvals/2; a
	// destruction batch of the HTML-titled copy waits for li.ming, who leads secrecy work in
	// 办公室 (/approvals/3, with its decision on /batches).
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"secrecy_leader","unit":"BGS"}`, 200, nil)
	for range 2 {
		s.post(t, custodian, "/approvals", url.Values{"kind": {"take_out"}, "item": {itoa(s.items[3])}, "for": {"zhang.wei"}, "due": {due}, "reason": {"外出开会"}})
	}
	s.api("li.ming", "POST", "/api/v1/approvals/1/decide", `{"approve":true,"note":"同意"}`, 200, nil)
	s.post(t, custodian, "/batches", url.Values{"items": {itoa(s.evil)}, "reason": {"到期销毁"}})
	pages := []string{"/receipts/1", "/losses/1", "/checks/1", "/losses?state=open", "/desk", "/desk/D-01", "/receive", "/receive/next?items=1,2", "/import", "/recalls", "/batches", "/transits", "/alerts", "/alerts?all=1", "/alerts/1",
		"/cabinets", "/cabinets/C-01", "/register", "/register?view=held", "/losses", "/terms", "/checks", "/audit", "/password", "/policy",
		"/approvals", "/approvals?all=1", "/approvals/1", "/approvals/2", "/approvals/3", "/approvals/new", "/approvals/new?kind=reproduce", "/approvals/new?kind=scope",
		"/items/" + itoa(s.items[0]), "/items/" + itoa(s.items[1]), "/items/" + itoa(s.evil), "/documents/1", "/documents/2", "/people/zhang.wei", "/people/wang.fang", "/", "/signins"}
	// Words that are data, not the code's: the usernames (ids people sign in with), the test's
	// hostile document title (typed by a person), the language switch naming English in English,
	// the ledger template's file format.
	data := map[string]bool{"English": true, "xlsx": true}
	for _, u := range []string{"admin", "sec.admin", "wang.fang", "li.ming", "zhao.lei", "zhang.wei"} {
		data[u] = true
	}
	for _, w := range word.FindAllString(evilTitle, -1) {
		data[w] = true
	}
	for _, user := range []string{"wang.fang", "li.ming", "zhao.lei", "sec.admin", "zhang.wei"} {
		c := s.client()
		s.signIn(c, user)
		for _, path := range pages {
			code, body := get(t, c, s.base+path)
			if code == http.StatusForbidden || code == http.StatusNotFound {
				continue
			}
			var bad []string
			for _, w := range word.FindAllString(visible(body), -1) {
				if !data[w] && !idOrCode(w) && !slices.Contains(bad, w) {
					bad = append(bad, w)
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s %s (%d): English words on the zh-CN page: %q", user, path, code, bad)
			}
		}
	}
}

var (
	word    = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_.:\-]*[A-Za-z0-9]|[A-Za-z]`)
	hidden  = regexp.MustCompile(`(?s)<(script|style|head|code)\b.*?</(script|style|head|code)>`)
	attr    = regexp.MustCompile(`\s(?:placeholder|title|aria-label|alt)="([^"]*)"`)
	tag     = regexp.MustCompile(`(?s)<[^>]*>`)
	acronym = regexp.MustCompile(`^[A-Z]{2,6}$|^[A-Z0-9]+(-[A-Z0-9]+)+$`)
)

// visible is what a person reads on the page: its text, and the placeholders and titles —
// except <code>, which marks a value shown verbatim as an id (an EPC, a scanned code, an audit
// record's action as the chain holds it).
func visible(page string) string {
	page = hidden.ReplaceAllString(page, " ")
	var extra []string
	for _, m := range attr.FindAllStringSubmatch(page, -1) {
		extra = append(extra, m[1])
	}
	return html.UnescapeString(tag.ReplaceAllString(page, " ") + " " + strings.Join(extra, " "))
}

// idOrCode: an id, a code or a number carries a digit (C-01, R301, B-0042, AL-…, EPCs, hashes);
// an acronym people use as a word in Chinese too (EPC, PDF, CSV, PIN, BGS, the unit's code); a
// code in capitals and dashes (an alert's reference AL-…).
func idOrCode(w string) bool {
	return strings.ContainsAny(w, "0123456789") || acronym.MatchString(w)
}
