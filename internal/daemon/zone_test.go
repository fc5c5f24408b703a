package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadText(t *testing.T, text string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "custodyd.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

// [site] time_zone is the one zone; the old [inventory] time_zone still works alone, and the two
// disagreeing is an error naming both keys.
func TestSiteTimeZone(t *testing.T) {
	if c, _ := Load(""); c.Zone().Name() != "Asia/Shanghai" {
		t.Fatalf("default zone %s", c.Zone().Name())
	}
	c, err := loadText(t, "[site]\ntime_zone = \"Asia/Urumqi\"\n")
	if err != nil || c.Zone().Name() != "Asia/Urumqi" {
		t.Fatalf("[site] time_zone: %v %s", err, c.Zone().Name())
	}
	c, err = loadText(t, "[inventory]\ntime_zone = \"Europe/Berlin\"\n")
	if err != nil || c.Zone().Name() != "Europe/Berlin" {
		t.Fatalf("[inventory] time_zone alias: %v %s", err, c.Zone().Name())
	}
	if _, err := loadText(t, "[site]\ntime_zone = \"Asia/Shanghai\"\n[inventory]\ntime_zone = \"Asia/Shanghai\"\n"); err != nil {
		t.Fatalf("both keys agreeing: %v", err)
	}
	for text, want := range map[string]string{
		"[site]\ntime_zone = \"Asia/Shanghai\"\n[inventory]\ntime_zone = \"UTC\"\n": "inventory.time_zone: \"UTC\" disagrees with site.time_zone",
		"[site]\ntime_zone = \"Mars/Olympus\"\n":                                    "site.time_zone: \"Mars/Olympus\" is not a known time zone",
		"[site]\ntime_zone = \"Local\"\n":                                           "site.time_zone",
		"[site]\ntime_zone = \"\"\n":                                                "site.time_zone",
	} {
		if _, err := loadText(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", text, err, want)
		}
	}
}
