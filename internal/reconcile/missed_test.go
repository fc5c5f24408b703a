package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/sitetime"
)

// TestMissedNamesTheSiteZone: the inventory_missed notice gives the deadline in the site's zone,
// named as the rest of the app names it, whatever zone the deadline was handed over in (a night
// read back from the store holds it in UTC) — not "CST", which also means US Central time.
func TestMissedNamesTheSiteZone(t *testing.T) {
	start := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // 02:00 Beijing time
	deadline := start.Add(time.Hour)
	cabs := []Expectation{{Cabinet: "C-03", Agent: "agent-b"}}
	f := Missed(cabs, start, deadline, deadline, nil, sitetime.Default())
	if len(f) != 1 || f[0].Text.ZH != "柜 C-03 在 2026-11-26 03:00（北京时间）前没有完成清点" || f[0].Text.EN != "cabinet C-03 sent no complete inventory by 2026-11-26 03:00 Beijing time" {
		t.Fatalf("got %+v, want the deadline as 2026-11-26 03:00 Beijing time", f)
	}
	berlin, err := sitetime.Load("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f = Missed(cabs, start, deadline.In(time.FixedZone("CST", 8*3600)), deadline, nil, berlin)
	if !strings.HasSuffix(f[0].Text.EN, "by 2026-11-25 20:00 Europe/Berlin (UTC+01:00)") || strings.Contains(f[0].Text.ZH+f[0].Text.EN, "CST") {
		t.Errorf("got %q / %q, want the deadline in Berlin time", f[0].Text.ZH, f[0].Text.EN)
	}
}
