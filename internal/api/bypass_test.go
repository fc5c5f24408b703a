package api

import (
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// Issue 13: each bypass a secrecy officer found is tried over HTTP and refused with a clear
// zh-CN message, nothing is written, and the refusal is in the audit chain.

// bypassEnv is newEnv with a second unit KJC and its custodian, a BGS reader with a badge whose
// PIN he chose, cabinet C-01 and desk D-01 of BGS, and the goodDoc (机密, 3 copies) in C-01.
func bypassEnv(t *testing.T) (*env, []register.Item) {
	t.Helper()
	e := newEnv(t)
	e.must("admin", "POST", "/api/v1/units", `{"code":"KJC","name":"科技处"}`, 201)
	e.person("kjc.cust", "KJC", "custodian")
	e.named("zhang.wei", "张伟", "BGS", "holder")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"zhang.wei","code":"B-0042"}`, 200)
	e.must("zhang.wei", "POST", "/api/v1/me/badge-pin", `{"new":"2468"}`, 200)
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/desks", `{"code":"D-01","name":"机要室工作台","room":"R301"}`, 201)
	var recv registerResponse
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+goodDoc+`,"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &recv)
	return e, recv.Items
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.api.st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// refusedAudited sends the request and checks the refusal: its status, its zh-CN message
// containing each of zh, the table (a count query) unchanged, and one more "refused" audit
// record by the user.
func (e *env) refusedAudited(user, method, path, body string, status int, table string, zh ...string) {
	e.t.Helper()
	before := e.count(table)
	audited := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user)
	got, b := e.errorOf(e.do(user, method, path, body, nil))
	if got != status {
		e.t.Errorf("%s %s %s as %s: got %d %q, want %d", method, path, body, user, got, b.Error.Message, status)
	}
	for _, s := range zh {
		if !strings.Contains(b.Error.Message, s) {
			e.t.Errorf("%s %s as %s: message %q lacks %q", method, path, user, b.Error.Message, s)
		}
	}
	if after := e.count(table); after != before {
		e.t.Errorf("%s %s as %s: %q went from %d to %d, want nothing written", method, path, user, table, before, after)
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, user); n != audited+1 {
		e.t.Errorf("%s %s as %s: %d refusal records, want %d (the refusal audited)", method, path, user, n, audited+1)
	}
}

const countApprovals = `SELECT count(*) FROM approvals`

func TestBypassApprovalPicksItsOwnApprover(t *testing.T) {
	e, items := bypassEnv(t)
	due := time.Now().Add(8 * time.Hour).Format(time.RFC3339)
	take := func(extra string) string {
		return fmt.Sprintf(`{"kind":"take_out","for":"zhang.wei","items":[%d],"due":"%s","reason":"外出开会"%s}`, items[0].ID, due, extra)
	}
	// Naming the approver role or the unit is refused: who decides comes from the policy.
	e.refusedAudited("wang.fang", "POST", "/api/v1/approvals", take(`,"approver_role":"custodian"`), 422, countApprovals, "审批人由审批规则确定", "不能指定审批人角色或审批单位")
	e.refusedAudited("wang.fang", "POST", "/api/v1/approvals", take(`,"unit":"KJC"`), 422, countApprovals, "不能指定审批人角色或审批单位")
	e.refusedAudited("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(`{"kind":"reproduce","items":[%d],"copies":1,"reason":"备份","approver_role":"custodian"}`, items[0].ID), 422, countApprovals, "审批人由审批规则确定")

	// The register fills in the decider; a second custodian cannot decide.
	var ap register.Approval
	e.decode(e.do("wang.fang", "POST", "/api/v1/approvals", take(""), nil), 201, &ap)
	if ap.Unit != "BGS" || ap.Decider != register.DecideLeader {
		t.Fatalf("got decider %s of %s, want a leader of BGS from the policy", ap.Decider, ap.Unit)
	}
	e.person("li.na", "BGS", "custodian")
	decided := `SELECT count(*) FROM approvals WHERE state <> 'pending'`
	e.refusedAudited("li.na", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", ap.ID), `{"approve":true}`, 403, decided, "无权访问")

	// A leader cannot approve a carry-out made out for himself: li.ming is BGS's only leader and
	// BGS has no unit above, so nobody may decide it and the request is refused at once.
	e.refusedAudited("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(`{"kind":"take_out","for":"li.ming","items":[%d],"due":"%s","reason":"外出开会"}`, items[1].ID, due), 422, countApprovals,
		"不能审批本人相关的申请", "请安全保密管理员授予审批权限")
	// With a second leader in BGS the request goes to him, and li.ming still cannot decide it.
	e.person("ma.li", "BGS", "leader")
	var own register.Approval
	e.decode(e.do("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(`{"kind":"take_out","for":"li.ming","items":[%d],"due":"%s","reason":"外出开会"}`, items[1].ID, due), nil), 201, &own)
	e.refusedAudited("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", own.ID), `{"approve":true}`, 403, decided, "您不能审批与本人有关的申请")
	e.must("ma.li", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", own.ID), `{"approve":true}`, 200)
}

func TestBypassAdminBecomesAnyone(t *testing.T) {
	e, _ := bypassEnv(t)
	people := `SELECT count(*) FROM people`
	// The administrator grants no business role, alone or at creation.
	e.refusedAudited("admin", "POST", "/api/v1/people", `{"username":"fake.leader","name":"假领导","unit":"BGS","roles":["leader"],"password":"chosen-by-admin"}`, 403, people,
		"系统管理员不能授予角色", "由安全保密管理员授予")
	e.must("admin", "POST", "/api/v1/people", `{"username":"fake.leader","name":"假领导","unit":"BGS","password":"chosen-by-admin"}`, 201)
	roles := `SELECT count(*) FROM person_roles`
	e.refusedAudited("admin", "POST", "/api/v1/grants", `{"username":"fake.leader","role":"leader"}`, 403, roles, "无权访问")
	// A second security administrator is granted by the security administrator, not created by the admin.
	e.refusedAudited("admin", "POST", "/api/v1/people", `{"username":"sec2","name":"二号","unit":"BGS","roles":["secadmin"]}`, 403, people, "已有安全保密管理员")
	// The security administrator does not grant herself anything.
	e.refusedAudited("sec.admin", "POST", "/api/v1/grants", `{"username":"sec.admin","role":"leader"}`, 403, roles, "不能给本人授予")
	// The password the admin chose works only to choose a new one.
	e.login("fake.leader", "chosen-by-admin")
	if status, b := e.errorOf(e.do("fake.leader", "GET", "/api/v1/documents", "", nil)); status != 403 || b.Error.Code != "password_change_required" {
		t.Errorf("with the admin's password: got %d %+v, want password_change_required", status, b)
	}

	// The admin never sets a PIN: not with the badge, not afterwards.
	pins := `SELECT count(*) FROM badges WHERE pin_hash <> ''`
	e.refusedAudited("admin", "POST", "/api/v1/badges", `{"username":"fake.leader","code":"B-FAKE","pin":"1234"}`, 403, pins, "工作证 PIN 只能由持证人本人设置")
	if n := e.count(`SELECT count(*) FROM badges WHERE code = 'B-FAKE'`); n != 0 {
		t.Errorf("the refused badge was written")
	}
	// A reset clears zhang.wei's PIN: the badge signs nothing until he chooses a new one, and the
	// admin cannot choose it for him (the PIN route sets the caller's own badge only).
	e.must("admin", "POST", "/api/v1/badges/zhang.wei/reset", "", 200)
	if n := e.count(`SELECT count(*) FROM badges b JOIN people p ON p.id = b.person_id WHERE p.username = 'zhang.wei' AND b.pin_hash = ''`); n != 1 {
		t.Errorf("after a reset: zhang.wei's PIN still set")
	}
	if status, _ := e.errorOf(e.do("admin", "POST", "/api/v1/me/badge-pin", `{"new":"1234"}`, nil)); status != 404 || e.count(pins) != 0 {
		t.Errorf("admin setting a PIN: got %d with %d PINs set, want 404 and no PIN set", status, e.count(pins))
	}
}

func TestBypassCustodianOfAnotherUnit(t *testing.T) {
	e, items := bypassEnv(t)
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	sessions := `SELECT count(*) FROM sessions`
	e.refusedAudited("kjc.cust", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, 403, sessions,
		"工作台 D-01属于 BGS", "只能由 BGS 的机要员办理")
	// Nor in a cabinet of BGS, nor a desk of its own for BGS.
	items0 := fmt.Sprintf(`SELECT count(*) FROM items WHERE id = %d AND state = 'in_cabinet'`, items[0].ID)
	e.refusedAudited("kjc.cust", "POST", "/api/v1/cabinets", `{"code":"C-K","name":"柜","unit":"BGS"}`, 403, `SELECT count(*) FROM cabinets`, "您不是该单位的机要员")
	// At a desk of its own unit, a BGS copy is still not KJC's to lend.
	e.must("kjc.cust", "POST", "/api/v1/desks", `{"code":"D-K","name":"科技处工作台"}`, 201)
	var s register.Session
	e.decode(e.do("kjc.cust", "POST", "/api/v1/sessions", `{"desk":"D-K","purpose":"borrow","due":"`+due+`"}`, nil), 201, &s)
	e.refusedAudited("kjc.cust", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[0].ID), 403, `SELECT count(*) FROM session_items`, "只能由 BGS 的机要员办理")
	if e.count(items0) != 1 {
		t.Error("the BGS copy moved")
	}
}

func TestBypassBackupTakesEverythingHome(t *testing.T) {
	e, _ := bypassEnv(t)
	e.must("admin", "POST", "/api/v1/agents", `{"id":"room-301"}`, 201)
	e.refusedAudited("admin", "POST", "/api/v1/backup", "", 403, `SELECT count(*) FROM audit WHERE action = 'backup.take'`, "您没有备份权限", "由安全保密管理员授予")
	// A custodian cannot be given the right: it is the system administrator's task.
	e.refusedAudited("sec.admin", "POST", "/api/v1/grants", `{"username":"wang.fang","grant":"backup"}`, 422, `SELECT count(*) FROM person_grants`, "备份权限只能授予系统管理员")
	e.must("sec.admin", "POST", "/api/v1/grants", `{"username":"admin","grant":"backup"}`, 200)
	resp := e.do("admin", "POST", "/api/v1/backup", "", nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e.api.st.Dialect() == store.Postgres {
		// A register in PostgreSQL is backed up with pg_dump: the right holder is told so, in
		// words, and nothing is taken or recorded as taken.
		var n int
		e.api.st.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'backup.take'`).Scan(&n)
		if resp.StatusCode != 501 || !strings.Contains(string(b), "pg_dump") || n != 0 {
			t.Errorf("backup on PostgreSQL: got %d %s and %d backup.take records, want 501 naming pg_dump and none", resp.StatusCode, b, n)
		}
		return
	}
	if resp.StatusCode != 200 {
		t.Fatalf("backup with the right: got %d %s", resp.StatusCode, b)
	}
	var after string
	e.api.st.DB().QueryRow(`SELECT after FROM audit WHERE action = 'backup.take' AND actor = 'admin'`).Scan(&after)
	if !strings.Contains(after, `"sha256":"`) {
		t.Errorf("backup audit: got %q, want the file's SHA-256", after)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	os.WriteFile(path, b, 0o600)
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys, revoked int
	db.QueryRow(`SELECT count(*), count(revoked_at) FROM agents WHERE length(key) > 0 OR revoked_at IS NOT NULL`).Scan(&keys, &revoked)
	var withKey int
	db.QueryRow(`SELECT count(*) FROM agents WHERE length(key) > 0`).Scan(&withKey)
	if withKey != 0 || revoked != 1 {
		t.Errorf("backup: %d agents with a key, %d revoked; want no key and the agent revoked (enrols again)", withKey, revoked)
	}
	var live []byte
	e.api.st.DB().QueryRow(`SELECT key FROM agents WHERE id = 'room-301'`).Scan(&live)
	if len(live) == 0 || strings.Contains(string(b), string(live)) {
		t.Error("the agent's key is in the backup file")
	}
}
