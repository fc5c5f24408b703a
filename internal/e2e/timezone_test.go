package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// One time zone (issue 16): custodyd runs on a host whose TZ is New York, custodyctl on one in
// UTC and on one in New York; a deadline typed as 18:00 is 18:00 Beijing time (10:00 UTC) in the
// register and reads 18:00 wherever it is shown. The programs are separate processes with their
// own TZ, so time.Local really differs — the thing that went wrong before.
func TestTimesAreBeijingTimeWhateverTheHostZone(t *testing.T) {
	d := startDaemonEnv(t, t.TempDir(), "[mqtt]\nlisten = \"127.0.0.1:0\"\n", "TZ=America/New_York")
	c := ctl{t: t, server: d.addr, home: t.TempDir(), env: []string{"TZ=UTC"}}
	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	c.ok("", "unit", "add", "BGS", "办公室")
	c.custodian("wang.fang", "王芳", "BGS")
	c.ok("wang.fang-secret\n", "login", "--user", "wang.fang", "--password-stdin")
	c.ok("", "document", "register", "--number", "国保〔2026〕30号", "--title", "时区测试", "--unit", "BGS", "--level", "秘密",
		"--date", "2026-11-20", "--term", "10年", "--copies", "1")
	c.ok("", "recall", "start", "--name", "年底清退", "--deadline", "2027-01-15 18:00", "--document", "国保〔2026〕30号")

	var rcs []struct {
		Deadline string `json:"deadline"`
	}
	if err := json.Unmarshal([]byte(c.ok("", "recall", "list", "--json")), &rcs); err != nil || len(rcs) != 1 {
		t.Fatalf("recall list --json: %v %+v", err, rcs)
	}
	if !strings.HasPrefix(rcs[0].Deadline, "2027-01-15T10:00:00") {
		t.Errorf("deadline typed 2027-01-15 18:00 stored as %s; want 2027-01-15T10:00:00Z (18:00 Beijing time, whatever custodyd's TZ)", rcs[0].Deadline)
	}
	for _, tz := range []string{"TZ=UTC", "TZ=America/New_York"} {
		c.env = []string{tz}
		if out := c.ok("", "recall", "list"); !strings.Contains(out, "2027-01-15 18:00") {
			t.Errorf("custodyctl with %s shows the deadline as:\n%s\nwant 2027-01-15 18:00 (Beijing time)", tz, out)
		}
	}
}
