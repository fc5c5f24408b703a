package api

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
)

// Issue 13, the last three bypasses over HTTP: titles outside the readership scope, borrowing
// without a ceiling or with overdue copies, and a top-secret carry-out by one person.

// A leader of another unit reads the number and level of a BGS document, never its title: not in
// the documents list, the items list, one item or a handover. (A read that hides is not a
// refusal, so there is nothing to audit here; the title is simply absent from every body.)
func TestBypassLeaderSeesEveryTitle(t *testing.T) {
	e, items := bypassEnv(t)
	const title = "关于加强保密管理的通知"
	e.person("kjc.lead", "KJC", "leader")
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0042"}`, 200)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[0].ID), 200)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"2468"}`, 200)
	paths := []string{"/api/v1/documents", "/api/v1/items", fmt.Sprintf("/api/v1/items/%d", items[1].ID), fmt.Sprintf("/api/v1/sessions/%d", s.ID)}
	body := func(user, path string) (int, string) {
		resp := e.do(user, "GET", path, "", nil)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range paths {
		status, b := body("kjc.lead", p)
		if strings.Contains(b, title) {
			t.Errorf("GET %s as KJC's leader: got %d with the title of a BGS document: %s", p, status, b)
		}
		if p == "/api/v1/documents" && (status != 200 || !strings.Contains(b, "国保〔2026〕7号") || !strings.Contains(b, `"title_visible":false`)) {
			t.Errorf("GET %s as KJC's leader: got %d %s, want the number listed with title_visible false", p, status, b)
		}
	}
	// BGS's own leader and its custodian see it: the hiding is the scope's, not a blanket one.
	for _, u := range []string{"li.ming", "wang.fang"} {
		if status, b := body(u, "/api/v1/documents"); status != 200 || !strings.Contains(b, title) {
			t.Errorf("GET /api/v1/documents as %s: got %d %s, want the title", u, status, b)
		}
	}
}

// The per-level ceiling and the overdue rule hold over HTTP: the scan is refused with the reason,
// the copy stays in its cabinet, and the refusal is audited.
func TestBypassBorrowingWithoutLimits(t *testing.T) {
	e, items := bypassEnv(t)
	scanned := `SELECT count(*) FROM session_items`
	open := func(due time.Duration) register.Session {
		var s register.Session
		e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+time.Now().Add(due).Format(time.RFC3339)+`"}`, nil), 201, &s)
		e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0042"}`, 200)
		return s
	}
	// 机密 for 8 days: over the 7-day ceiling.
	s := open(8 * 24 * time.Hour)
	e.refusedAudited("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[0].ID), 422, scanned, "机密文件借阅期限最长 7 天")
	// Abandoned only with a reason (issue 21 point 7): without one it stays open, the refusal audited.
	e.refusedAudited("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/abandon", s.ID), `{"reason":" "}`, 422, `SELECT count(*) FROM sessions WHERE state = 'abandoned'`, "放弃交接须说明原因")
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/abandon", s.ID), `{"reason":"对方改日再来"}`, 200)

	// zhang.wei borrows one copy; its due time passes (set in the register's own table, as the
	// API has no clock to move); he borrows nothing more until it is back.
	s = open(2 * time.Hour)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[0].ID), 200)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"2468"}`, 200)
	if _, err := e.api.st.DB().Exec(`UPDATE items SET due_at = ? WHERE id = ?`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), items[0].ID); err != nil {
		t.Fatal(err)
	}
	var s2 register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+time.Now().Add(24*time.Hour).Format(time.RFC3339)+`"}`, nil), 201, &s2)
	e.refusedAudited("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s2.ID), `{"data":"B-0042"}`, 422, `SELECT count(*) FROM sessions WHERE counterpart_id IS NOT NULL`, "zhang.wei 有 1 份涉密文件逾期未还", "须先归还机要员")
	if n := e.count(`SELECT count(*) FROM items WHERE state = 'in_cabinet'`); n != 2 {
		t.Errorf("after the refusal: %d copies in the cabinet, want 2", n)
	}
}

// A top-secret carry-out needs two named persons: asked for one, refused; approved for two, the
// handover does not close on one signature.
func TestBypassTopSecretCarryOutByOne(t *testing.T) {
	e, _ := bypassEnv(t)
	e.named("chen.jing", "陈静", "BGS", "holder")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"chen.jing","code":"B-0043"}`, 200)
	e.must("chen.jing", "POST", "/api/v1/me/badge-pin", `{"new":"1357"}`, 200)
	e.person("li.na", "BGS", "custodian")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"li.na","code":"B-0044"}`, 200)
	e.must("li.na", "POST", "/api/v1/me/badge-pin", `{"new":"9753"}`, 200)
	var recv registerResponse
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":{"number":"国保〔2026〕8号","title":"绝密标题","issuing_unit":"BGS","level":"绝密","issued_on":"2026-11-01","secrecy_term":"30年","copies":1},"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &recv)
	top := recv.Items[0].ID
	due := time.Now().Add(6 * time.Hour).Format(time.RFC3339)
	req := fmt.Sprintf(`{"kind":"take_out","for":"zhang.wei","items":[%d],"due":"%s","reason":"赴市委汇报"%%s}`, top, due)

	e.refusedAudited("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(req, ""), 422, countApprovals, "携带绝密文件外出须两人同行", "同行人")
	var ap register.Approval
	e.decode(e.do("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(req, `,"with":"chen.jing"`), nil), 201, &ap)
	e.must("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", ap.ID), `{"approve":true}`, 200)

	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", fmt.Sprintf(`{"desk":"D-01","purpose":"take_out","approval":%d}`, ap.ID), nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0042"}`, 200)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, top), 200)
	out := `SELECT count(*) FROM items WHERE state <> 'in_cabinet'`
	closePath := fmt.Sprintf("/api/v1/sessions/%d/close", s.ID)
	// One person signs: refused.
	e.refusedAudited("wang.fang", "POST", closePath, `{"pin":"2468","second_badge":"B-0044","second_pin":"9753"}`, 422, out, "同行人须刷工作证并输入 PIN")
	// A second person who is not the one approved: refused.
	e.refusedAudited("wang.fang", "POST", closePath, `{"pin":"2468","second_badge":"B-0044","second_pin":"9753","companion_badge":"B-0044","companion_pin":"9753"}`, 403, out, "不是审批")
	// Both named persons sign (and two custodians are present): it goes out.
	var done register.Session
	e.decode(e.do("wang.fang", "POST", closePath, `{"pin":"2468","second_badge":"B-0044","second_pin":"9753","companion_badge":"B-0043","companion_pin":"1357"}`, nil), 200, &done)
	if len(done.Signatures) != 3 {
		t.Errorf("got signatures %+v, want zhang.wei, chen.jing and li.na", done.Signatures)
	}
}
