package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Issue 14 in the console: a loss case is traced by custodians and leaders and closed only by a
// leader's conclusion, which ends its reported_lost alert; a recall over a lost copy closes only
// with the leader's note; the documents whose term ends soon are listed; 密级变更, 解密 and 解除管理
// are recorded from their forms. Each rule is tried by the wrong role, the administrator and the
// 三员 included: refused on the page, nothing written, the attempt audited.
func TestLifecycleInTheConsole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	lost := s.items[0]
	s.api("wang.fang", "POST", "/api/v1/losses", `{"items":[`+itoa(lost)+`],"note":"11月20日在会议室遗失"}`, 201, nil)
	if n := s.count(`SELECT count(*) FROM alerts WHERE kind = 'reported_lost' AND state = 'open'`); n != 1 {
		t.Fatalf("after the 报失: %d open reported_lost alerts, want 1", n)
	}
	issued := time.Now().AddDate(-1, 0, 7).Format("2006-01-02")
	recv := s.receive(`{"number":"京办〔2025〕3号","title":"关于会议安排的通知","issuing_unit":"BGS","level":"秘密","issued_on":"` + issued + `","secrecy_term":"1年","copies":1}`)
	soon := recv[0].ID

	// 收文 from the form ends with the label and tag step for exactly the copies received.
	rc := s.client()
	s.signIn(rc, "wang.fang")
	code, loc := s.post(t, rc, "/receive", url.Values{"number": {"办〔2026〕9号"}, "title": {"关于年终检查的通知"}, "issuing_unit": {"BGS"}, "level": {"secret"},
		"issued_on": {"2026-11-20"}, "secrecy_term": {"5年"}, "copies": {"200"}, "first_copy": {"37"}, "last_copy": {"40"}, "cabinet": {"C-01"}, "from": {"市委机要局"}})
	if code != http.StatusSeeOther {
		t.Fatalf("receive copies 37–40 of 200: got %d", code)
	}
	if _, body := get(t, rc, s.base+loc); !strings.Contains(body, "本批第037–040份已登记入柜（共 4 份）") || !strings.Contains(body, "custodyctl labels print") {
		t.Errorf("the register after receiving 37–40: want the next step (labels and tags) for those 4 copies")
	}

	clients := map[string]*http.Client{}
	for _, u := range []string{"admin", "sec.admin", "zhao.lei", "wang.fang", "li.ming", "zhang.wei"} {
		clients[u] = s.client()
		if u == "admin" {
			if code, _ := s.post(t, clients[u], "/login", url.Values{"username": {"admin"}, "password": {"admin-password-1"}}); code != http.StatusSeeOther {
				t.Fatalf("console login as admin: got %d", code)
			}
			continue
		}
		s.signIn(clients[u], u)
	}
	refusals := func(u string) int {
		return s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + u + `'`)
	}
	// refusedPost posts a form that must be refused: nothing written to table, one more refusal
	// audited, and the refusal shown on the page the person comes back to (if they may see it).
	refusedPost := func(u, path string, form url.Values, table, zh string) {
		t.Helper()
		before, audited := s.count(table), refusals(u)
		code, loc := s.post(t, clients[u], path, form)
		if code != http.StatusSeeOther && code != http.StatusForbidden {
			t.Errorf("POST %s as %s: got %d, want a refusal", path, u, code)
		}
		if after := s.count(table); after != before {
			t.Errorf("POST %s as %s: %q went from %d to %d, want nothing written", path, u, table, before, after)
		}
		if n := refusals(u); n != audited+1 {
			t.Errorf("POST %s as %s: %d refusal records, want %d", path, u, n, audited+1)
		}
		if zh != "" && code == http.StatusSeeOther {
			if _, body := get(t, clients[u], s.base+loc); !strings.Contains(body, zh) {
				t.Errorf("POST %s as %s: the page after it lacks %q", path, u, zh)
			}
		}
	}
	refusedGet := func(u, path string) {
		t.Helper()
		audited := refusals(u)
		if code, body := get(t, clients[u], s.base+path); code != http.StatusForbidden || strings.Contains(body, "国保〔2026〕7号") {
			t.Errorf("GET %s as %s: got %d, want 403 showing nothing of the register", path, u, code)
		}
		if n := refusals(u); n != audited+1 {
			t.Errorf("GET %s as %s: %d refusal records, want %d", path, u, n, audited+1)
		}
	}

	// 追查: only custodians and leaders read the cases.
	for _, u := range []string{"admin", "sec.admin", "zhao.lei", "zhang.wei"} {
		refusedGet(u, "/losses")
		refusedGet(u, "/losses/1")
	}
	if code, body := get(t, clients["li.ming"], s.base+"/losses?state=open"); code != http.StatusOK || !strings.Contains(body, "国保〔2026〕7号 第1份") || !strings.Contains(body, "追查中") {
		t.Errorf("losses as the leader: got %d, want the open case naming 国保〔2026〕7号 第1份", code)
	}
	events := `SELECT count(*) FROM loss_case_events`
	refusedPost("zhang.wei", "/losses/1/notes", url.Values{"note": {"我找过了"}}, events, "")
	refusedPost("admin", "/losses/1/notes", url.Values{"note": {"管理员插话"}}, events, "")
	if code, _ := s.post(t, clients["wang.fang"], "/losses/1/notes", url.Values{"note": {"已询问与会人员"}}); code != http.StatusSeeOther {
		t.Errorf("progress note by the custodian: got %d, want 303", code)
	}
	closed := `SELECT count(*) FROM loss_cases WHERE state = 'closed'`
	refusedPost("wang.fang", "/losses/1/close", url.Values{"note": {"结案"}}, closed, "只有领导可以结束追查")
	refusedPost("li.ming", "/losses/1/close", url.Values{"note": {""}}, closed, "须由领导填写结论")

	// 清退 over the lost copy: not by the custodian, not by the leader without a note.
	s.api("wang.fang", "POST", "/api/v1/recalls", `{"name":"年终清退","deadline":"`+time.Now().Add(48*time.Hour).Format("2006-01-02 15:04")+`","documents":["国保〔2026〕7号"]}`, 201, nil)
	if _, body := get(t, clients["wang.fang"], s.base+"/recalls"); !strings.Contains(body, "已报失 1 份") {
		t.Errorf("recalls page: want the lost copy counted apart")
	}
	recallClosed := `SELECT count(*) FROM recalls WHERE state = 'closed'`
	refusedPost("wang.fang", "/recalls/1/close", nil, recallClosed, "已报失")
	refusedPost("li.ming", "/recalls/1/close", url.Values{"note": {""}}, recallClosed, "已报失")
	refusedPost("admin", "/recalls/1/close", url.Values{"note": {"管理员结束"}}, recallClosed, "")
	if code, _ := s.post(t, clients["li.ming"], "/recalls/1/close", url.Values{"note": {"第1份已报失，另案追查"}}); code != http.StatusSeeOther || s.count(recallClosed) != 1 {
		t.Errorf("recall close by the leader with a note: got %d, %d closed, want it closed", code, s.count(recallClosed))
	}

	// The leader's conclusion closes the case and ends its alert.
	if code, _ := s.post(t, clients["li.ming"], "/losses/1/close", url.Values{"note": {"未找到，已报告保密局"}}); code != http.StatusSeeOther {
		t.Errorf("close by the leader: got %d, want 303", code)
	}
	if _, body := get(t, clients["wang.fang"], s.base+"/losses/1"); !strings.Contains(body, "已结案") || !strings.Contains(body, "未找到，已报告保密局") || !strings.Contains(body, "已询问与会人员") {
		t.Errorf("closed case: want its conclusion and history on the page")
	}
	if n := s.count(`SELECT count(*) FROM alerts WHERE kind = 'reported_lost' AND state = 'resolved'`); n != 1 {
		t.Errorf("after the leader closed the case: %d resolved reported_lost alerts, want 1", n)
	}

	// 保密期限: the list, for the custodian, the leader and the security administrator.
	refusedGet("zhang.wei", "/terms")
	refusedGet("zhao.lei", "/terms")
	if code, body := get(t, clients["sec.admin"], s.base+"/terms"); code != http.StatusOK || !strings.Contains(body, "京办〔2025〕3号") || strings.Contains(body, "关于会议安排的通知") || strings.Contains(body, "国保〔2026〕7号") {
		t.Errorf("terms as the security administrator: got %d, want the number ending soon without its title, not the 10-year one", code)
	}
	decisions := `SELECT count(*) FROM document_decisions`
	change := url.Values{"number": {"国保〔2026〕7号"}, "level": {"confidential"}, "term": {"5年"}, "authority": {"市委办公厅"}, "decision_no": {"京办密〔2026〕2号"}}
	for _, u := range []string{"li.ming", "admin", "sec.admin", "zhang.wei"} {
		refusedPost(u, "/terms/level", change, decisions, "")
		refusedPost(u, "/terms/declassify", url.Values{"number": {"京办〔2025〕3号"}, "authority": {"市委办公厅"}, "decision_no": {"京办密〔2026〕3号"}}, decisions, "")
	}
	refusedPost("wang.fang", "/terms/level", url.Values{"number": {"国保〔2026〕7号"}, "level": {"confidential"}, "authority": {"市委办公厅"}}, decisions, "决定文号")
	if code, _ := s.post(t, clients["wang.fang"], "/terms/level", change); code != http.StatusSeeOther || s.count(`SELECT count(*) FROM documents WHERE level = 'confidential' AND secrecy_term = '5年'`) != 2 {
		t.Errorf("level change by the custodian: got %d, want 国保〔2026〕7号 now 秘密★5年", code)
	}
	released := `SELECT count(*) FROM items WHERE state = 'released'`
	refusedPost("wang.fang", "/terms/release", url.Values{"items": {itoa(soon)}}, released, "尚未解密")
	if code, _ := s.post(t, clients["wang.fang"], "/terms/declassify", url.Values{"number": {"京办〔2025〕3号"}, "authority": {"市委办公厅"}, "decision_no": {"京办密〔2026〕3号"}}); code != http.StatusSeeOther {
		t.Errorf("declassify by the custodian: got %d, want 303", code)
	}
	refusedPost("admin", "/terms/release", url.Values{"items": {itoa(soon)}}, released, "")
	refusedPost("li.ming", "/terms/release", url.Values{"items": {itoa(soon)}}, released, "")
	if code, _ := s.post(t, clients["wang.fang"], "/terms/release", url.Values{"items": {itoa(soon)}}); code != http.StatusSeeOther || s.count(released) != 1 {
		t.Errorf("release by the custodian: got %d, %d released, want 1", code, s.count(released))
	}
	if _, body := get(t, clients["wang.fang"], s.base+"/terms"); strings.Contains(body, "京办〔2025〕3号") {
		t.Errorf("terms after the 解密: want the declassified document gone from the list")
	}

	// The destruction list prints from the batches page.
	s.api("sec.admin", "POST", "/api/v1/grants", `{"username":"li.ming","grant":"secrecy_leader","unit":"BGS"}`, 200, nil)
	s.api("wang.fang", "POST", "/api/v1/destructions", `{"items":[`+itoa(s.items[1])+`],"reason":"保密期限届满"}`, 201, nil)
	if _, body := get(t, clients["li.ming"], s.base+"/batches"); !strings.Contains(body, `href="/batches/1/pdf"`) {
		t.Errorf("batches page: want a link to the destruction list")
	}
	if code, body := get(t, clients["li.ming"], s.base+"/batches/1/pdf"); code != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("destruction list PDF as the leader: got %d", code)
	}
	refusedGet("zhang.wei", "/batches/1/pdf")
	refusedGet("admin", "/batches/1/pdf")
}
