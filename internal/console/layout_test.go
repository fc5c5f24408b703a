package console_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console on a phone and a desktop (issue 21 point 9): at 390 px no page scrolls sideways
// (the navigation is a strip of its own, wide tables scroll inside their box, the scan box fits),
// at 1366 px neither; the current page is marked in the navigation and a skip link leads to the
// content.
func TestBrowserLayoutAtPhoneAndDesktopWidths(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	s.inventory("r-layout", s.epcs[1])
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	s.api("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, 201, nil) // the desk with its scan box
	s.api("wang.fang", "POST", "/api/v1/approvals", `{"kind":"take_out","items":[`+itoa(s.items[0])+`],"for":"zhang.wei","due":"`+due+`","reason":"外出开会"}`, 201, nil)
	ctx := browser(t)
	s.browse(t, ctx, "wang.fang")
	pages := []string{"/desk", "/desk/D-01", "/cabinets", "/cabinets/C-01", "/alerts", "/register", "/receive", "/receive/next?items=1,2", "/recalls", "/batches", "/losses", "/terms", "/checks", "/transits", "/import", "/policy",
		"/approvals?all=1", "/approvals/new", "/items/1", "/documents/1", "/people/zhang.wei"}
	for _, width := range []int64{390, 1366} {
		opt := []chromedp.EmulateViewportOption{}
		if width < 800 {
			opt = append(opt, chromedp.EmulateMobile)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844, opt...)); err != nil {
			t.Fatal(err)
		}
		for _, path := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
				t.Fatalf("%s at %d px: %v", path, width, err)
			}
			sideways(t, ctx, fmt.Sprintf("%s at %d px", path, width))
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/register"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		if on, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('header nav a[aria-current="page"]') || {}).textContent || ""`)); on != "台账" {
			t.Errorf("the register page at %d px: got %q marked in the navigation, want 台账", width, on)
		}
		if skip, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('a.skip') || {}).getAttribute ? document.querySelector('a.skip').getAttribute('href') : ""`)); skip != "#main" {
			t.Errorf("at %d px: got skip link %q, want one to #main", width, skip)
		}
	}
}
