package api

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/audit"
)

// Issue 14 point 9: the printed alert list (告警清单) is marked like every paper — the highest
// level it names with that level's term on the PDF and alone on the CSV's first line. A reader,
// the administrator and the security administrator cannot have it: refused, audited.
func TestAlertListIsMarked(t *testing.T) {
	e, items := lifecycleEnv(t)
	e.must("wang.fang", "POST", "/api/v1/losses", fmt.Sprintf(`{"items":[%d],"note":"11月20日在会议室遗失"}`, items[0].ID), 201)
	for _, user := range []string{"wang.fang", "zhao.lei"} {
		code, csv := e.body(user, "/api/v1/alerts?format=csv&kind=reported_lost")
		lines := strings.Split(strings.TrimPrefix(csv, "\ufeff"), "\n")
		if code != 200 || strings.TrimSpace(lines[0]) != "机密★10年" || !strings.Contains(csv, "告警清单") || !strings.Contains(csv, "报失") {
			t.Errorf("alert list CSV as %s: got %d\n%s\nwant 机密★10年 alone on the first line, then the reported_lost alert", user, code, csv)
		}
		code, pdf := e.body(user, "/api/v1/alerts?format=pdf")
		if code != 200 || !bytes.HasPrefix([]byte(pdf), []byte("%PDF-")) {
			t.Errorf("alert list PDF as %s: got %d, want a PDF", user, code)
		}
	}
	// JSON stays as it was.
	if code, js := e.body("wang.fang", "/api/v1/alerts?kind=reported_lost"); code != 200 || !strings.HasPrefix(js, "[") {
		t.Errorf("alerts as JSON: got %d %.80s", code, js)
	}
	if code, _ := e.body("wang.fang", "/api/v1/alerts?format=xls"); code != 400 {
		t.Errorf("alerts as xls: got %d, want 400", code)
	}
	for _, user := range []string{"zhang.wei", "admin", "sec.admin"} {
		audited := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user)
		if code, body := e.body(user, "/api/v1/alerts?format=csv"); code != 403 || strings.Contains(body, "国保") {
			t.Errorf("alert list as %s: got %d, want 403 with nothing of the list", user, code)
		}
		if n := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user); n != audited+1 {
			t.Errorf("alert list as %s: %d refusal records, want %d", user, n, audited+1)
		}
	}
}

// The audit export names documents by number and level: it bears the mark of what the register
// still holds classified on its first line, and custodyctl audit verify still proves the chain.
func TestAuditExportIsMarked(t *testing.T) {
	e, _ := lifecycleEnv(t)
	code, body := e.body("zhao.lei", "/api/v1/audit")
	if first, _, _ := strings.Cut(body, "\n"); code != 200 || first != `{"mark":"机密★10年"}` {
		t.Fatalf("audit export: got %d, first line %q; want the mark 机密★10年", code, first)
	}
	res, err := audit.Verify(strings.NewReader(body), audit.VerifyOptions{})
	if err != nil || res.Mark != "机密★10年" || res.Records < 5 {
		t.Errorf("verify the marked export: got %+v, %v", res, err)
	}
}

// The destruction list (销毁清册) prints in any state, marked, and says where the batch stands:
// awaiting the leader, then approved by whom. A reader cannot have it: refused, audited.
func TestDestructionListIsMarked(t *testing.T) {
	e, items := lifecycleEnv(t)
	var b struct {
		ID       int64 `json:"id"`
		Approval int64 `json:"approval"`
	}
	e.decode(e.do("wang.fang", "POST", "/api/v1/destructions", fmt.Sprintf(`{"items":[%d,%d],"reason":"保密期限届满"}`, items[0].ID, items[1].ID), nil), 201, &b)
	path := fmt.Sprintf("/api/v1/destructions/%d/list", b.ID)
	code, csv := e.body("wang.fang", path+"?format=csv")
	if code != 200 || !strings.HasPrefix(csv, "\ufeff机密★10年\n") || !strings.Contains(csv, "涉密载体销毁清册") || !strings.Contains(csv, "待领导审批") || strings.Count(csv, "国保〔2026〕7号") != 2 {
		t.Errorf("destruction list before approval: got %d\n%s\nwant 2 copies under 机密★10年, awaiting the leader", code, csv)
	}
	e.must("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", b.Approval), `{"approve":true,"note":"同意"}`, 200)
	if code, csv := e.body("li.ming", path+"?format=csv"); code != 200 || !strings.Contains(csv, "已批准（li.ming") {
		t.Errorf("destruction list after approval: got %d\n%s\nwant it approved by li.ming", code, csv)
	}
	if code, pdf := e.body("wang.fang", path+"?format=pdf"); code != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Errorf("destruction list PDF: got %d", code)
	}
	audited := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`)
	if code, body := e.body("zhang.wei", path+"?format=csv"); code != 403 || strings.Contains(body, "国保") {
		t.Errorf("destruction list as a reader: got %d, want 403", code)
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`); n != audited+1 {
		t.Errorf("destruction list as a reader: %d refusal records, want %d", n, audited+1)
	}
}
