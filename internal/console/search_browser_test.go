package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Search in the browser, on a phone and a desktop (issue 21 point 6): the register's search box
// finds each of the five examples that found nothing before — a part of the number (45号, 京保),
// a word of the title, the number with ASCII brackets, the holder's name — and the scan box in
// the navigation takes a label's barcode from any page, as a scanner types it (the text, then
// Enter), to that copy's page; words naming several copies go to the register's search.
func TestBrowserSearchAndScanFromAnyPage(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	recv := s.receive(`{"number":"京保〔2026〕45号","title":"关于做好年终保密检查工作的通知","issuing_unit":"BGS","level":"秘密","issued_on":"2026-11-20","secrecy_term":"5年","copies":2}`)
	a, b := itoa(recv[0].ID), itoa(recv[1].ID)
	if recv[0].Barcode == "" {
		t.Fatal("the received copy has no barcode")
	}
	var ss struct {
		ID int64 `json:"id"`
	}
	s.api("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"circulate"}`, 201, &ss)
	for _, code := range []string{"B-0042", a} {
		s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", ss.ID), `{"data":"`+code+`"}`, 200, nil)
	}
	s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", ss.ID), `{"pin":"2468"}`, 200, nil)

	rows := func(ctx context.Context) string {
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#ledger tr[data-item]")).map(function (r) { return r.getAttribute("data-item"); })`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, ",")
	}
	for _, width := range []int64{390, 1366} {
		ctx := browser(t) // each width its own browser, and its own minute
		s.browse(t, ctx, "wang.fang")
		viewport(t, ctx, width)
		for _, tc := range []struct{ q, want string }{
			{"45号", a + "," + b},
			{"京保", a + "," + b},
			{"年终保密检查", a + "," + b},
			{"京保[2026]45号", a + "," + b},
			{"张伟", a},
		} {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/register"), chromedp.WaitVisible(chromedp.CSS("#q"))); err != nil {
				t.Fatal(err)
			}
			stale(t, ctx)
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#q"), tc.q+kb.Enter)); err != nil {
				t.Fatal(err)
			}
			if loc := arrive(ctx, "/register"); loc != "/register" {
				t.Fatalf("search %q at %d px: got %q", tc.q, width, loc)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#ledger"))); err != nil {
				t.Fatal(err)
			}
			if got := rows(ctx); got != tc.want {
				t.Errorf("search %q at %d px: got items %q, want %q", tc.q, width, got, tc.want)
			}
		}
		// The scanner types the label's barcode into the navigation's box on the alerts page.
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("#find"))); err != nil {
			t.Fatal(err)
		}
		stale(t, ctx)
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#find"), recv[1].Barcode+kb.Enter)); err != nil {
			t.Fatalf("scan box at %d px: %v", width, err)
		}
		if loc := arrive(ctx, "/items/"+b); loc != "/items/"+b {
			t.Errorf("scanned barcode at %d px: got %q, want /items/%s", width, loc, b)
		}
		// Words naming both copies, typed on the cabinets page: the register's search for them.
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/cabinets"), chromedp.WaitVisible(chromedp.CSS("#find"))); err != nil {
			t.Fatal(err)
		}
		stale(t, ctx)
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#find"), "京保[2026]45号"+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		if loc := arrive(ctx, "/register"); loc != "/register" {
			t.Fatalf("words in the scan box at %d px: got %q, want /register", width, loc)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#ledger"))); err != nil {
			t.Fatal(err)
		}
		if got := rows(ctx); got != a+","+b {
			t.Errorf("words in the scan box at %d px: got items %q, want %q", width, got, a+","+b)
		}
	}
}

// stale marks the page a form is about to leave, so arrive knows the next one.
func stale(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stale = true`)); err != nil {
		t.Fatal(err)
	}
}

// arrive waits for the page at path to have loaded after a form was sent (a navigation the test
// did not start, so it is polled from here: a script cannot wait across it), and returns the
// path the browser is at.
func arrive(ctx context.Context, path string) string {
	var at string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`!window.stale && document.readyState === "complete" ? location.pathname : ""`))
		if err == nil && v != "" {
			if at = v; at == path {
				return at
			}
		}
	}
	return at
}
