package console_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A custodian's and a leader's day with approvals and histories in Chromium, on a phone (390 px)
// and a desktop (1366 px), without typing an id (issue 21 points 4 and 5): the custodian asks for
// a copy's take-out from its page (the copy ticked, the reader picked from a list), the page names
// who decides; the leader opens it from the approvals list and approves; the desk offers it in its
// picker and opens the take-out with it; the leader approves a destruction batch from the batches
// page; a lent copy's 流转记录 names the reader, whose holdings page is a click away, and back.
// No page scrolls sideways.
func TestBrowserApprovalsAndHistoriesAtPhoneAndDesktop(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"secrecy_leader","unit":"BGS"}`, 200, nil)
	c := s.client()
	s.signIn(c, "wang.fang")
	for _, id := range s.items[2:4] { // one destruction batch for each width
		s.post(t, c, "/batches", url.Values{"items": {itoa(id)}, "reason": {"到期销毁"}})
	}
	// A copy lent to 张伟 at the desk, for its history.
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	var open struct{ ID int64 }
	s.api("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, 201, &open)
	for _, code := range []string{"B-0042", itoa(s.items[1])} {
		s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", open.ID), `{"data":"`+code+`"}`, 200, nil)
	}
	s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", open.ID), `{"pin":"2468"}`, 200, nil)

	custodian, leader := browser(t), browser(t)
	s.browse(t, custodian, "wang.fang")
	s.browse(t, leader, "li.ming")
	for i, width := range []int64{390, 1366} {
		for _, ctx := range []context.Context{custodian, leader} {
			opt := []chromedp.EmulateViewportOption{}
			if width < 800 {
				opt = append(opt, chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844, opt...)); err != nil {
				t.Fatal(err)
			}
		}
		at := fmt.Sprintf("at %d px", width)
		// The custodian asks from the copy's page.
		dueLocal := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
		if err := chromedp.Do(custodian,
			chromedp.Navigate(fmt.Sprintf("%s/items/%d", s.base, s.items[0])),
			chromedp.WaitVisible(chromedp.CSS("#ask-take-out")),
			chromedp.Click(chromedp.CSS("#ask-take-out")),
			chromedp.WaitVisible(chromedp.CSS("#request")),
		); err != nil {
			t.Fatalf("%s: the copy's page to the request form: %v", at, err)
		}
		sideways(t, custodian, at+", the request form")
		if err := chromedp.Do(custodian,
			chromedp.SetValue(chromedp.CSS("#for"), "zhang.wei"),
			chromedp.SetValue(chromedp.CSS("#due"), dueLocal),
			chromedp.SendKeys(chromedp.CSS("#reason"), "外出参加会议"),
			chromedp.Click(chromedp.CSS("#request")),
			chromedp.WaitVisible(chromedp.CSS("#approval-state")),
		); err != nil {
			t.Fatalf("%s: request: %v (page error %q)", at, err, text(custodian, ".err"))
		}
		if st, who := text(custodian, "#approval-state"), text(custodian, "#approval-decider"); st != "待审批" || who != "BGS 的本单位领导" {
			t.Errorf("%s: the request's page: got %q decided by %q, want 待审批 by BGS 的本单位领导", at, st, who)
		}
		loc, _ := chromedp.Run(custodian, chromedp.Location())
		id := loc[strings.LastIndex(loc, "/")+1:]
		sideways(t, custodian, at+", the approval's page")

		// The leader finds it in the list and approves it.
		if err := chromedp.Do(leader,
			chromedp.Navigate(s.base+"/approvals"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-approval="`+id+`"] a`)),
		); err != nil {
			t.Fatalf("%s: approval %s in the leader's list: %v", at, id, err)
		}
		sideways(t, leader, at+", the approvals list")
		if err := chromedp.Do(leader,
			chromedp.Click(chromedp.CSS(`tr[data-approval="`+id+`"] a`)),
			chromedp.WaitVisible(chromedp.CSS("#approve")),
			chromedp.SendKeys(chromedp.CSS("#decide-note"), "同意"),
			chromedp.Click(chromedp.CSS("#approve")),
			chromedp.WaitVisible(chromedp.CSS("#approval-decided")), // the redirected page, with the decision
		); err != nil {
			t.Fatalf("%s: approve %s: %v", at, id, err)
		}
		if got := text(leader, "#approval-state"); got != "已批准" {
			t.Errorf("%s: approval %s after approving: got %q, want 已批准", at, id, got)
		}

		// The desk offers it; the take-out opens with it.
		if err := chromedp.Do(custodian,
			chromedp.Navigate(s.base+"/desk"),
			chromedp.WaitReady(chromedp.CSS(`#approval option[value="`+id+`"]`)),
			chromedp.SetValue(chromedp.CSS("#purpose"), "take_out"),
			chromedp.SetValue(chromedp.CSS("#approval"), id),
			chromedp.Click(chromedp.CSS("#open-session")),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
		); err != nil {
			t.Fatalf("%s: the desk with the picked approval %s: %v (page error %q)", at, id, err, text(custodian, ".err"))
		}
		s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%s/abandon", s.str(`SELECT id FROM sessions WHERE state = 'open'`)), `{"reason":"改日办理"}`, 200, nil)

		// The leader approves a destruction batch from its row.
		batch := s.str(fmt.Sprintf(`SELECT id FROM destruction_batches ORDER BY id LIMIT 1 OFFSET %d`, i))
		row := `#batch-` + batch
		if err := chromedp.Do(leader,
			chromedp.Navigate(s.base+"/batches"),
			chromedp.WaitVisible(chromedp.CSS(row+" button.approve")),
		); err != nil {
			t.Fatalf("%s: batch %s's approval on the batches page: %v", at, batch, err)
		}
		sideways(t, leader, at+", the batches page")
		if err := chromedp.Do(leader, chromedp.Click(chromedp.CSS(row+" button.approve")), chromedp.WaitVisible(chromedp.CSS("#notice, .flash"))); err != nil {
			t.Fatalf("%s: approve batch %s: %v", at, batch, err)
		}
		if got := text(leader, row); !strings.Contains(got, "已批准") {
			t.Errorf("%s: batch %s's row after approving: got %q, want 已批准", at, batch, got)
		}

		// A copy's history leads to its reader's holdings, and back.
		if err := chromedp.Do(custodian,
			chromedp.Navigate(fmt.Sprintf("%s/items/%d", s.base, s.items[1])),
			chromedp.WaitVisible(chromedp.CSS("#moves")),
		); err != nil {
			t.Fatal(err)
		}
		if got := text(custodian, "#moves"); !strings.Contains(got, "借出") || !strings.Contains(got, "张伟") {
			t.Errorf("%s: copy %d's 流转记录: got %q, want the loan to 张伟 with his signature", at, s.items[1], got)
		}
		sideways(t, custodian, at+", the copy's page")
		if err := chromedp.Do(custodian,
			chromedp.Click(chromedp.CSS(`#moves a[href="/people/zhang.wei"]`)),
			chromedp.WaitVisible(chromedp.CSS("#holdings")),
		); err != nil {
			t.Fatalf("%s: the reader's link: %v", at, err)
		}
		sideways(t, custodian, at+", the holdings page")
		if err := chromedp.Do(custodian,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#holdings a[href="/items/%d"]`, s.items[1]))),
			chromedp.WaitVisible(chromedp.CSS("#item-name")),
			chromedp.Click(chromedp.CSS("#item-document")),
			chromedp.WaitVisible(chromedp.CSS("#document-items")),
		); err != nil {
			t.Fatalf("%s: from the holdings to the copy and its document: %v", at, err)
		}
		sideways(t, custodian, at+", the document's page")
	}
}

// sideways fails the test when the page is wider than the window (outside the wide tables,
// which scroll in their own box, and the navigation strip).
func sideways(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
		var d = document.documentElement, w = d.clientWidth;
		if (d.scrollWidth <= w + 1) { return ""; }
		var worst = "";
		document.querySelectorAll("body *").forEach(function (el) {
			var r = el.getBoundingClientRect();
			if (!worst && r.right > w + 1 && !el.closest("table.grid, header nav")) { worst = el.tagName + (el.id ? "#" + el.id : "") + "." + el.className + " right=" + Math.round(r.right); }
		});
		return "page " + d.scrollWidth + " px wide in a " + w + " px window; first overflow: " + worst;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if over != "" {
		t.Errorf("%s: scrolls sideways: %s", what, over)
	}
}
