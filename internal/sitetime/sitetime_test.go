package sitetime

import (
	"testing"
	"time"
)

func TestZeroZoneIsShanghaiNotHost(t *testing.T) {
	old := time.Local
	time.Local = time.FixedZone("EST", -5*3600) // what a host with TZ=America/New_York would give
	defer func() { time.Local = old }()
	var z Zone
	got, err := z.Parse("2006-01-02 15:04", "2026-11-30 18:00")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("18:00 typed at the site = %v, want %v (18:00 Beijing)", got.UTC(), want)
	}
	if s := z.Format(time.Date(2026, 12, 6, 2, 43, 0, 0, time.UTC), "15:04"); s != "10:43" {
		t.Fatalf("02:43 UTC shown as %s, want 10:43", s)
	}
	if z.Label("zh-CN") != "北京时间" || z.Label("en") != "Beijing time" {
		t.Fatalf("labels %q %q", z.Label("zh-CN"), z.Label("en"))
	}
}

func TestLoad(t *testing.T) {
	z, err := Load("Europe/Berlin")
	if err != nil || z.Name() != "Europe/Berlin" {
		t.Fatalf("Load(Europe/Berlin) = %v, %v", z.Name(), err)
	}
	if z.Label("zh-CN") == "北京时间" {
		t.Fatal("Berlin labelled as Beijing time")
	}
	for _, bad := range []string{"Local", "Mars/Olympus", "CST-8x"} {
		if _, err := Load(bad); err == nil {
			t.Errorf("Load(%q) accepted", bad)
		}
	}
	if z, _ := Load(""); z.Name() != DefaultName {
		t.Fatalf("Load(\"\") = %s", z.Name())
	}
	if s := (Zone{}).FormatStored("not a time", "15:04"); s != "not a time" {
		t.Fatal(s)
	}
}

// LabelAt gives the offset in force at the moment named, summer or winter.
func TestLabelAt(t *testing.T) {
	z, err := Load("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	winter, summer := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	if got := z.LabelAt("en", winter); got != "Europe/Berlin (UTC+01:00)" {
		t.Errorf("winter: got %q", got)
	}
	if got := z.LabelAt("en", summer); got != "Europe/Berlin (UTC+02:00)" {
		t.Errorf("summer: got %q", got)
	}
	if got := Default().LabelAt("zh-CN", summer); got != "北京时间" {
		t.Errorf("Shanghai: got %q, want 北京时间", got)
	}
}
