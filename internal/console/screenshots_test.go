package console_test

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodyhq/custody/internal/wire"
)

var shotDir = flag.String("out", "", "write the console screenshots (PNG) to this directory (make screenshots: docs/screenshots)")

// TestScreenshots walks the main pages of a live site in Chromium and keeps a PNG of each: in
// -out when given (the README's pictures), else in a temporary directory, checking that each is
// a real image.
//
//	go test ./internal/console -run Screenshots -args -out "$PWD/docs/screenshots"
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := *shotDir
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSite(t)
	s.inventory("r-0", "")
	// A missing item, reported until it is an alert.
	var alerts []struct{ ID int64 }
	for i := 1; len(alerts) == 0 && i < 15; i++ {
		s.inventory(fmt.Sprintf("r-%d", i), s.epcs[2])
		time.Sleep(time.Second)
		s.api("li.ming", "GET", "/api/v1/alerts?active=1", "", 200, &alerts)
	}
	if len(alerts) == 0 {
		t.Fatal("no alert to show")
	}
	s.publish(wire.KindDoor, wire.Door{Cabinet: "C-01", State: "open", Badge: "B-0042"})
	s.api("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+time.Now().Add(48*time.Hour).Format(time.RFC3339)+`"}`, 201, nil)
	for _, d := range []string{"B-0042", fmt.Sprint(s.items[0]), fmt.Sprint(s.items[1]), "CUS-2025-000999-01"} {
		s.publish(wire.KindScan, wire.Scan{Desk: "D-01", Scanner: "hs-1", Symbology: "code128", Data: d})
	}
	// The desk's list of refused scans: a label the register does not know, an unreadable read.
	s.publish(wire.KindScan, wire.Scan{Desk: "D-01", Scanner: "hs-1", Symbology: wire.SymbologyUnreadable, Data: "truncated"})
	time.Sleep(time.Second)

	take := func(user string, pages map[string]string, en bool, phone ...bool) {
		ctx := browser(t)
		if len(phone) > 0 && phone[0] { // a phone's window (390 × 844), as the README's phone shots
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
				t.Fatal(err)
			}
		}
		if user == "" {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#username"))); err != nil {
				t.Fatal(err)
			}
		} else {
			s.browse(t, ctx, user)
		}
		if en {
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.lang button`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] main`))); err != nil {
				t.Fatal(err)
			}
		}
		for name, path := range pages {
			if path != "" {
				if err := chromedp.Do(ctx, chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Fatalf("%s: got no PNG: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	take("", map[string]string{"login": ""}, false)
	take("wang.fang", map[string]string{"desk-handover": "/desk/D-01", "register": "/register"}, false)
	take("li.ming", map[string]string{"cabinets": "/cabinets", "cabinet": "/cabinets/C-01", "alerts": "/alerts", "alert": fmt.Sprintf("/alerts/%d", alerts[0].ID)}, false)
	take("li.ming", map[string]string{"cabinets-en": "/cabinets"}, true)
	take("zhao.lei", map[string]string{"audit": "/audit"}, false)
	take("wang.fang", map[string]string{"phone-desk": "/desk/D-01", "phone-register": "/register", "phone-receive-next": "/receive/next?items=1,2,3,4"}, false, true)
	take("li.ming", map[string]string{"phone-cabinets": "/cabinets", "phone-alert": fmt.Sprintf("/alerts/%d", alerts[0].ID)}, false, true)
}
