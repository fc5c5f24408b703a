package console

import (
	"testing"
	"time"
)

// The console shows times in the site's zone, not the host's: an alert at 02:43 UTC reads 10:43
// (Beijing time) and the footer names the zone. `make test` runs this package under
// TZ=America/New_York too, where time.Local would have said 21:43 the day before.
func TestTimesShownInTheSiteZone(t *testing.T) {
	p := &page{ui: &ui{}, Lang: "zh-CN"}
	at := time.Date(2026, 12, 6, 2, 43, 0, 0, time.UTC)
	if got := p.Time(at); got != "2026-12-06 10:43:00" {
		t.Errorf("Time(02:43Z) = %q, want 2026-12-06 10:43:00", got)
	}
	if got := p.Time("2026-12-06T02:43:00Z"); got != "2026-12-06 10:43:00" {
		t.Errorf("Time(stored 02:43Z) = %q", got)
	}
	if p.Zone() != "北京时间" {
		t.Errorf("footer zone %q", p.Zone())
	}
}
