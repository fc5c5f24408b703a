package reconcile

import (
	"testing"
	"time"
)

// Working hours follow the office's calendar, not only the weekday: the National Day week is off
// and the Sunday before it is worked (调休), so a door opened then is, or is not, after hours.
func TestWorkingHoursFollowTheHolidayCalendar(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	h := Hours{Location: loc, Start: 8*time.Hour + 30*time.Minute, End: 18 * time.Hour,
		Holidays: []string{"2026-10-01", "2026-10-02"}, Workdays: []string{"2026-09-27"}}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for when, want := range map[string]bool{
		"2026-09-30 10:00": true,  // Wednesday
		"2026-09-30 08:29": false, // before hours
		"2026-09-30 18:00": false, // at the end: after hours
		"2026-10-01 10:00": false, // Thursday, National Day
		"2026-10-02 10:00": false, // Friday, holiday
		"2026-09-27 10:00": true,  // Sunday, worked instead
		"2026-09-27 19:00": false, // …but only in hours
		"2026-10-04 10:00": false, // Sunday
	} {
		if got := h.Within(at(when)); got != want {
			t.Errorf("%s: within hours %v, want %v", when, got, want)
		}
	}
	// Times from elsewhere are taken in the office's zone: 02:00 UTC is 10:00 in Shanghai.
	if h.Within(time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("10:00 on National Day (02:00 UTC) counted as working hours")
	}
	if !h.Within(time.Date(2026, 9, 30, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("10:00 on a Wednesday (02:00 UTC) not counted as working hours")
	}
}
