package console_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

// A tamper at C-01 stands out on every page a custodian or leader has open: a count in the
// navigation and a banner, and the cabinet's row in the alarm's severity colour; the live stream
// announces it. When the switch closes the banner says the condition is over but keeps the alarm
// until a person resolves it. A leader's remote unlock from the console is refused, named and
// audited.
func TestConsoleShowsCabinetAlarmsOnEveryPage(t *testing.T) {
	s := startSite(t)
	leader := s.client()
	s.signIn(leader, "li.ming")
	custodian := s.client()
	s.signIn(custodian, "wang.fang")
	if _, body := get(t, leader, s.base+"/alerts"); !strings.Contains(body, `id="alarm-count"`) || !strings.Contains(body, "报警 <b>0</b>") {
		t.Fatalf("no alarm count in the leader's navigation before any alarm:\n%s", body)
	}

	no := false
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Message: "tamper switch of cabinet C-01", Cleared: &no})
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		if _, body = get(t, leader, s.base+"/alarms?part=banner"); strings.Contains(body, "柜体防拆报警") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, `alarm-banner sev-critical`) || !strings.Contains(body, "C-01") {
		t.Fatalf("the leader's banner: got\n%s\nwant the critical tamper of C-01", body)
	}
	for _, path := range []string{"/cabinets", "/register", "/alerts"} {
		_, page := get(t, custodian, s.base+path)
		if !strings.Contains(page, "报警 <b>1</b>") || !strings.Contains(page, "柜体报警 1 项待处理") {
			t.Errorf("%s: the custodian's page lacks the alarm count or banner", path)
		}
	}
	if _, page := get(t, custodian, s.base+"/cabinets"); !strings.Contains(page, `class="st-findings alarm sev-critical" data-cabinet="C-01"`) && !strings.Contains(page, `alarm sev-critical" data-cabinet="C-01"`) {
		t.Errorf("the cabinets page does not set C-01 apart by the alarm's severity:\n%s", page)
	}

	// The switch closes: the condition is over, the alarm stays for a person.
	yes := true
	s.publish(wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Cleared: &yes})
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, body = get(t, leader, s.base+"/alarms?part=banner"); strings.Contains(body, "现场已恢复") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, "现场已恢复，待人工解除") {
		t.Errorf("after the switch closed: got banner\n%s\nwant the alarm kept, its condition over", body)
	}

	// A leader may not unlock; the console says who may.
	req, _ := http.NewRequest("POST", s.base+"/cabinets/C-01/unlock", strings.NewReader(url.Values{"seconds": {"30"}, "reason": {"看看"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := leader.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	resp.Body.Close()
	if !strings.Contains(b.String(), "只有机要员可以远程开锁密码柜") {
		t.Errorf("a leader's unlock: got %d\n%s\nwant the refusal naming the custodian", resp.StatusCode, b)
	}
	s.login("zhao.lei", "zhao.lei-password")
	areq, _ := http.NewRequest("GET", s.base+"/api/v1/audit", nil)
	areq.Header.Set("Authorization", "Bearer "+s.tok["zhao.lei"])
	aresp, err := http.DefaultClient.Do(areq)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := io.ReadAll(aresp.Body)
	aresp.Body.Close()
	found := false
	for _, line := range strings.Split(string(log), "\n") {
		found = found || strings.Contains(line, `"cabinet.unlock.refused"`) && strings.Contains(line, `"li.ming"`)
	}
	if !found {
		t.Errorf("the leader's refused unlock is not in the audit log")
	}
}
