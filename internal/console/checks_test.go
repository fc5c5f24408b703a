package console_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/wire"
)

// The 清查 in the console (issue 14 point 7): the custodian opens the check of BGS from the form;
// the holder sees the copy he holds among those awaiting him and confirms it as himself; the
// custodian scans the copies in the cabinet at the desk; the same custodian signing twice is
// refused on the page; the leader countersigns; the custodian closes and the signed record opens
// as a PDF. The administrator and the auditor have no checks page.
func TestCheckInTheConsole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	for user, code := range map[string]string{"wang.fang": "B-0001", "li.ming": "B-0002"} {
		s.api("admin", "POST", "/api/v1/badges", `{"username":"`+user+`","code":"`+code+`"}`, 200, nil)
	}
	s.api("wang.fang", "POST", "/api/v1/me/badge-pin", `{"new":"8080"}`, 200, nil)
	s.api("li.ming", "POST", "/api/v1/me/badge-pin", `{"new":"9090"}`, 200, nil)
	// zhang.wei borrows the first copy.
	var sess struct{ ID int64 }
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	s.api("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, 201, &sess)
	for _, code := range []string{"B-0042", itoa(s.items[0])} {
		s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", sess.ID), `{"data":"`+code+`"}`, 200, nil)
	}
	s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", sess.ID), `{"pin":"2468"}`, 200, nil)

	ad := s.client()
	if code, _ := s.post(t, ad, "/login", url.Values{"username": {"admin"}, "password": {"admin-password-1"}}); code != http.StatusSeeOther {
		t.Fatalf("admin login: got %d", code)
	}
	au := s.client()
	s.signIn(au, "zhao.lei")
	for user, c := range map[string]*http.Client{"admin": ad, "zhao.lei": au} {
		if code, _ := get(t, c, s.base+"/checks"); code != http.StatusForbidden {
			t.Errorf("%s on /checks: got %d, want 403", user, code)
		}
		if code, _ := s.post(t, c, "/checks", url.Values{"unit": {"BGS"}}); code != http.StatusForbidden {
			t.Errorf("%s opening a check: got %d, want 403", user, code)
		}
	}
	w := s.client()
	s.signIn(w, "wang.fang")
	if code, loc := s.post(t, w, "/checks", url.Values{"unit": {"BGS"}}); code != http.StatusSeeOther || loc != "/checks/1" {
		t.Fatalf("open a check: got %d to %q, want 303 to /checks/1", code, loc)
	}
	z := s.client()
	s.signIn(z, "zhang.wei")
	_, body := get(t, z, s.base+"/checks")
	if !strings.Contains(body, "待我确认的文件") || !strings.Contains(body, "国保〔2026〕7号") {
		t.Fatalf("holder's checks page: want the copy he holds awaiting his confirmation:\n%s", body)
	}
	if code, _ := get(t, z, s.base+"/checks/1"); code != http.StatusForbidden {
		t.Errorf("holder on the unit's check: got %d, want 403", code)
	}
	if code, loc := s.post(t, z, "/checks/1/confirm", url.Values{"item": {itoa(s.items[0])}}); code != http.StatusSeeOther || loc != "/checks" {
		t.Fatalf("holder confirms: got %d to %q", code, loc)
	}
	if _, body := get(t, z, s.base+"/checks"); strings.Contains(body, "待我确认的文件") {
		t.Errorf("after confirming, the holder still has copies awaiting him")
	}
	for _, id := range append(s.items[1:], s.evil) {
		if code, loc := s.post(t, w, "/checks/1/scan", url.Values{"data": {itoa(id)}}); code != http.StatusSeeOther || loc != "/checks/1" {
			t.Fatalf("scan %d: got %d to %q", id, code, loc)
		}
	}
	_, body = get(t, w, s.base+"/checks/1")
	if !strings.Contains(body, "<strong>差异 0</strong>") || !strings.Contains(body, "持有人确认 1") || !strings.Contains(body, "工作台扫描 4") {
		t.Fatalf("check page after scans: want 1 confirmed, 4 scanned, no discrepancy:\n%s", body)
	}
	s.post(t, w, "/checks/1/sign", url.Values{"pin": {"8080"}})
	refusals := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'wang.fang'`)
	s.post(t, w, "/checks/1/sign", url.Values{"pin": {"8080"}})
	if _, body := get(t, w, s.base+"/checks/1"); !strings.Contains(body, "同一人不能签两次") {
		t.Errorf("signing twice: want the refusal on the page")
	}
	if n := s.count(`SELECT count(*) FROM check_signatures`); n != 1 {
		t.Errorf("signing twice: got %d signatures, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'wang.fang'`); n != refusals+1 {
		t.Errorf("signing twice: got %d refusal records, want %d (audited)", n, refusals+1)
	}
	l := s.client()
	s.signIn(l, "li.ming")
	s.post(t, l, "/checks/1/close", nil)
	s.post(t, l, "/checks/1/sign", url.Values{"pin": {"9090"}})
	if code, loc := s.post(t, w, "/checks/1/close", url.Values{}); code != http.StatusSeeOther || loc != "/checks/1" {
		t.Fatalf("close: got %d to %q", code, loc)
	}
	_, body = get(t, l, s.base+"/checks/1")
	if !strings.Contains(body, "已结束") || !strings.Contains(body, "/checks/1/pdf") {
		t.Fatalf("closed check page: want 已结束 and the record's link:\n%s", body)
	}
	resp, err := l.Get(s.base + "/checks/1/pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("record: got %d %q", resp.StatusCode, pdf[:min(len(pdf), 8)])
	}
}

// The check's "inventory now" goes to the cabinet's agent over MQTT as a signed command, and the
// agent's report that comes back through ingest is what the check judges by: all of C-01's
// copies read but one, which is 未找到.
func TestCheckInventoryThroughTheAgent(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	cmds := make(chan []byte, 16)
	if tok := s.agent.Subscribe(wire.Topics{}.Cmd("room-301"), 1, func(_ mqtt.Client, m mqtt.Message) { cmds <- m.Payload() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	var ch struct{ ID int64 }
	s.api("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, 201, &ch)
	s.api("li.ming", "POST", fmt.Sprintf("/api/v1/checks/%d/inventory", ch.ID), "", 403, nil)
	var sent []struct {
		Cabinet string
		Sent    bool
	}
	s.api("wang.fang", "POST", fmt.Sprintf("/api/v1/checks/%d/inventory", ch.ID), "", 200, &sent)
	if len(sent) != 1 || sent[0].Cabinet != "C-01" || !sent[0].Sent {
		t.Fatalf("inventory commands: got %+v, want C-01 sent", sent)
	}
	// Other commands (a resync after the agent's login) may come first.
	timeout := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case p := <-cmds:
			env, err := wire.Parse(p, wire.DirCmd)
			if err != nil {
				t.Fatal(err)
			}
			if env.Kind != wire.KindInventory {
				continue
			}
			body, err := env.DecodeBody(wire.DirCmd)
			if cmd, ok := body.(*wire.InventoryCmd); err != nil || !ok || cmd.Cabinet != "C-01" || cmd.Mode != "now" {
				t.Fatalf("command: got %+v %v, want an inventory of C-01 now", body, err)
			}
			if err := env.Verify(wire.DirCmd, s.key); err != nil {
				t.Errorf("command not signed with the agent's key: %v", err)
			}
			got = true
		case <-timeout:
			t.Fatal("no inventory command reached the agent")
		}
	}
	s.inventory("r-check", s.epcs[1])
	deadline := time.Now().Add(15 * time.Second)
	for {
		var c struct {
			Counts struct {
				Found    int `json:"found"`
				NotFound int `json:"not_found"`
			} `json:"counts"`
		}
		s.api("wang.fang", "GET", fmt.Sprintf("/api/v1/checks/%d", ch.ID), "", 200, &c)
		if c.Counts.Found == 4 && c.Counts.NotFound == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the agent's report: got %+v, want 4 found and 1 not found", c.Counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
