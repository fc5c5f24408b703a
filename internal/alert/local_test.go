package alert

import (
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reconcile"
)

// An alarm's text gives its time as the site reads it even before the working hours (and their
// zone) reach the checker: Beijing time, not UTC.
func TestAlarmTimesAreSiteTimeBeforeHoursAreSet(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 2, 3, 0, time.UTC)
	if got := (&Checker{}).local(at); got != "11-26 02:02:03" {
		t.Errorf("without hours: got %q, want 11-26 02:02:03 (Beijing time)", got)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if got := (&Checker{hours: &reconcile.Hours{Location: berlin}}).local(at); got != "11-25 19:02:03" {
		t.Errorf("with Berlin's hours: got %q, want 11-25 19:02:03", got)
	}
}
