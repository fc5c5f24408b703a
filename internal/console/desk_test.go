package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/custodyhq/custody/internal/wire"
)

// viewport sets the browser to a phone (390 px, mobile) or a desktop width.
func viewport(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	opt := []chromedp.EmulateViewportOption{}
	if width < 800 {
		opt = append(opt, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844, opt...)); err != nil {
		t.Fatal(err)
	}
}

// shown is whether the element is on the page and not hidden (display none, hidden attribute).
func shown(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var e = document.querySelector(`+jsString(sel)+`); return !!e && e.getClientRects().length > 0; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// The desk (issue 21 point 7), on a phone and a desktop: the opening form shows the fields of the
// chosen purpose only; the confirmation asks for the counterpart's PIN, and for a second
// custodian only once a top-secret copy is scanned; a typed refusal and an unreadable read from
// the desk's scanner stay in the session's list of refused scans, after the next scan and a
// reload; abandoning asks for a reason and a confirmation, and the reason goes to the register
// and its audit record.
func TestBrowserDeskAtPhoneAndDesktopWidths(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	recv := s.receive(`{"number":"国保〔2026〕9号","title":"绝密测试文件","issuing_unit":"BGS","level":"绝密","issued_on":"2026-11-03","secrecy_term":"30年","copies":1}`)
	topSecret := itoa(recv[0].ID)
	for _, width := range []int64{390, 1366} {
		ctx := browser(t) // each width its own browser, and its own minute
		s.browse(t, ctx, "wang.fang")
		viewport(t, ctx, width)
		at := func(what string) string { return what + " at " + itoa(width) + " px" }

		// Fields by purpose, as a person picks one.
		choose := func(purpose string) {
			t.Helper()
			if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#purpose"), purpose)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("purpose").dispatchEvent(new Event("change"))`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/desk"), chromedp.WaitVisible(chromedp.CSS("#open-session"))); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			purpose   string
			show, not []string
		}{
			{"borrow", []string{"due", "note"}, []string{"courier", "envelope", "batch", "cabinet", "supervisor", "expected", "target_unit"}},
			{"reading_room", []string{"due", "place"}, []string{"courier", "envelope", "batch", "cabinet", "receipt"}},
			{"dispatch", []string{"courier", "envelope", "destination", "expected"}, []string{"due", "batch", "supervisor", "target_unit", "cabinet"}},
			{"store", []string{"cabinet", "note"}, []string{"due", "courier", "envelope", "receipt", "batch", "destination"}},
			{"destroy", []string{"batch", "courier", "receipt", "supervisor"}, []string{"due", "envelope", "expected", "cabinet"}},
		} {
			choose(tc.purpose)
			for _, f := range tc.show {
				if !shown(t, ctx, `#open-form [data-field="`+f+`"]`) {
					t.Errorf("%s: field %s hidden, want it shown", at(tc.purpose), f)
				}
			}
			for _, f := range tc.not {
				if shown(t, ctx, `#open-form [data-field="`+f+`"]`) {
					t.Errorf("%s: field %s shown, want it hidden", at(tc.purpose), f)
				}
			}
		}

		// Reading in the reading room (where a top-secret copy may be read): the PIN is asked
		// for, a second custodian not yet.
		choose("reading_room")
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#open-session")),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-live-ready="1"]`)),
		); err != nil {
			t.Fatalf("%s: %v (page error %q)", at("open a reading-room handover"), err, text(ctx, ".err"))
		}
		if !shown(t, ctx, "#pin") || shown(t, ctx, "#second_badge") || shown(t, ctx, "#companion_badge") || shown(t, ctx, "#new_pin") {
			t.Errorf("%s: want the PIN only (pin %v, second %v, companion %v, new PIN %v)", at("confirmation of a reading-room handover"),
				shown(t, ctx, "#pin"), shown(t, ctx, "#second_badge"), shown(t, ctx, "#companion_badge"), shown(t, ctx, "#new_pin"))
		}
		time.Sleep(700 * time.Millisecond) // the live stream takes its first fingerprint

		// A typed label the register does not know: refused on the page and kept in the list.
		// The scan form is sent as a page: wait for the next one, not the box still on this one.
		typed := func(code string) {
			t.Helper()
			stale(t, ctx)
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#scan"), code+kb.Enter)); err != nil {
				t.Fatal(err)
			}
			if path := arrive(ctx, "/desk/D-01"); path != "/desk/D-01" {
				t.Fatalf("%s: the browser is at %q", at("after the scan of "+code), path)
			}
		}
		typed("NO-SUCH-LABEL")
		if e := text(ctx, ".err"); !strings.Contains(e, "未知标签") {
			t.Errorf("%s: got alert %q, want 未知标签", at("typed unknown label"), e)
		}
		typed("B-0042")
		if r := text(ctx, "#rejects"); !strings.Contains(r, "NO-SUCH-LABEL") || !strings.Contains(r, "未知标签") || !strings.Contains(r, "手工录入") {
			t.Errorf("%s: got refused scans %q, want the typed unknown label kept", at("after the next scan"), r)
		}
		// An unreadable read from the desk's scanner: said on the page, live; nothing added.
		s.publish(wire.KindScan, wire.Scan{Desk: "D-01", Scanner: "hs-1", Symbology: wire.SymbologyUnreadable, Data: "truncated"})
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.getElementById("rejects") || {}).textContent !== undefined && document.getElementById("rejects").textContent.indexOf("扫描枪未能读出条码") >= 0`,
			chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("%s: got refused scans %q, want 扫描枪未能读出条码（扫描中断）: %v", at("unreadable read"), text(ctx, "#rejects"), err)
		}
		if r := text(ctx, "#rejects"); !strings.Contains(r, "扫描枪未能读出条码（扫描中断），未记录：请重新扫描") || !strings.Contains(r, "扫描枪") {
			t.Errorf("%s: got %q", at("unreadable read"), r)
		}
		if n := text(ctx, "#count"); n != "0" {
			t.Errorf("%s: got count %q, want 0", at("unreadable read"), n)
		}
		// A top-secret copy: now a second custodian is asked for too, live.
		s.publish(wire.KindScan, wire.Scan{Desk: "D-01", Scanner: "hs-1", Symbology: "code128", Data: topSecret})
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("second_badge").getClientRects().length > 0`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Errorf("%s: the second custodian's badge is not asked for (count %q, refused %q): %v", at("top-secret copy scanned"), text(ctx, "#count"), text(ctx, "#rejects"), err)
		}
		// A reload keeps the list.
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#scan"))); err != nil {
			t.Fatal(err)
		}
		if r := text(ctx, "#rejects"); !strings.Contains(r, "NO-SUCH-LABEL") || !strings.Contains(r, "请重新扫描") {
			t.Errorf("%s: got refused scans %q, want both kept", at("after a reload"), r)
		}

		// Abandoning: without a reason or without the confirmation the browser does not send it.
		open := `SELECT count(*) FROM sessions WHERE state = 'open'`
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#abandon summary")), chromedp.WaitVisible(chromedp.CSS("#abandon-session")),
			chromedp.Click(chromedp.CSS("#abandon-session"))); err != nil {
			t.Fatal(err)
		}
		reason := "对方证件过期，改日再办（" + itoa(width) + "）"
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#abandon-reason"), reason), chromedp.Click(chromedp.CSS("#abandon-session"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if s.count(open) != 1 || !shown(t, ctx, "#scan") {
			t.Fatalf("%s: the handover was abandoned without the confirmation", at("abandon"))
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#abandon-confirm")), chromedp.Click(chromedp.CSS("#abandon-session")),
			chromedp.WaitVisible(chromedp.CSS("#open-session"))); err != nil {
			t.Fatalf("%s: %v (page error %q)", at("abandon with reason and confirmation"), err, text(ctx, ".err"))
		}
		if s.count(open) != 0 || s.count(`SELECT count(*) FROM sessions WHERE state = 'abandoned' AND note = '`+reason+`'`) != 1 ||
			s.count(`SELECT count(*) FROM audit WHERE action = 'handover.abandon' AND after LIKE '%`+reason+`%'`) != 1 {
			t.Errorf("%s: want the handover abandoned with its reason in the register and the audit record", at("abandon"))
		}
	}
}

// Abandoning through the console without the confirmation does nothing; without a reason the
// register refuses it, shows why and audits the attempt; the handover stays open either way.
func TestDeskAbandonNeedsReasonAndConfirmation(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	s.openBorrowing(t, c)
	open := `SELECT count(*) FROM sessions WHERE state = 'open'`
	refusals := `SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'wang.fang'`
	if code, loc := s.post(t, c, "/desk/D-01/abandon", url.Values{"reason": {"对方未到"}}); code != http.StatusSeeOther || loc != "/desk/D-01" {
		t.Errorf("abandon without the confirmation: got %d to %q, want back to the desk", code, loc)
	}
	if _, body := get(t, c, s.base+"/desk/D-01"); !strings.Contains(body, "放弃交接须先勾选") || s.count(open) != 1 {
		t.Errorf("abandon without the confirmation: want the handover open and 放弃交接须先勾选 on the page")
	}
	before := s.count(refusals)
	s.post(t, c, "/desk/D-01/abandon", url.Values{"reason": {"  "}, "confirm": {"1"}})
	if _, body := get(t, c, s.base+"/desk/D-01"); !strings.Contains(body, "放弃交接须说明原因") || s.count(open) != 1 {
		t.Errorf("abandon without a reason: want the handover open and the register's 放弃交接须说明原因 on the page")
	}
	if n := s.count(refusals); n != before+1 {
		t.Errorf("abandon without a reason: %d refusal records, want %d", n, before+1)
	}
	if code, loc := s.post(t, c, "/desk/D-01/abandon", url.Values{"reason": {"对方未到"}, "confirm": {"1"}}); code != http.StatusSeeOther || loc != "/desk" || s.count(open) != 0 {
		t.Errorf("abandon with reason and confirmation: got %d to %q with %d open, want 303 to /desk and none open", code, loc, s.count(open))
	}
}
