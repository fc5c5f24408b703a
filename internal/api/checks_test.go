package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// checkEnv is an office ready for a 清查 of BGS: cabinet C-01 bound to agent agent-301, two
// holders with badges (zhang.wei B-0042 PIN 2468, chen.jing B-0043 PIN 1357), badges for the
// custodian and the leader, and two documents in C-01 with EPCs: 国保〔2026〕7号 (机密, 3 copies)
// and 国保〔2026〕8号 (秘密, 3 copies). It returns the six copies and the agent's key.
func checkEnv(t *testing.T) (*env, []register.Item, []byte) {
	t.Helper()
	e := newEnv(t)
	e.api.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	e.must("admin", "POST", "/api/v1/units", `{"code":"KJC","name":"科技处"}`, 201)
	e.person("kjc.cust", "KJC", "custodian")
	e.named("zhang.wei", "张伟", "BGS", "holder")
	e.named("chen.jing", "陈静", "BGS", "holder")
	for user, badge := range map[string]string{"zhang.wei": "B-0042", "chen.jing": "B-0043", "wang.fang": "B-0001", "li.ming": "B-0002", "kjc.cust": "B-0100"} {
		e.must("admin", "POST", "/api/v1/badges", `{"username":"`+user+`","code":"`+badge+`"}`, 200)
	}
	for user, pin := range map[string]string{"zhang.wei": "2468", "chen.jing": "1357", "wang.fang": "8080", "li.ming": "9090", "kjc.cust": "7070"} {
		e.must(user, "POST", "/api/v1/me/badge-pin", `{"new":"`+pin+`"}`, 200)
	}
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/desks", `{"code":"D-01","name":"机要室工作台","room":"R301"}`, 201)
	var enrolled enrollResponse
	e.decode(e.do("admin", "POST", "/api/v1/agents", `{"id":"agent-301"}`, nil), 201, &enrolled)
	e.must("admin", "POST", "/api/v1/cabinets/C-01/bind", `{"agent":"agent-301"}`, 200)
	key, err := base64.StdEncoding.DecodeString(enrolled.Key)
	if err != nil {
		t.Fatal(err)
	}
	var items []register.Item
	for _, doc := range []string{goodDoc, `{"number":"国保〔2026〕8号","title":"关于年终清查的通知","issuing_unit":"BGS","level":"秘密","issued_on":"2026-11-02","secrecy_term":"5年","copies":3}`} {
		var recv registerResponse
		e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+doc+`,"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &recv)
		items = append(items, recv.Items...)
	}
	return e, items, key
}

// lend runs a borrowing handover at D-01 to the holder with the badge and PIN.
func (e *env) lend(badge, pin string, items ...int64) {
	e.t.Helper()
	var s register.Session
	due := time.Now().Add(72 * time.Hour).Format(time.RFC3339)
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"`+badge+`"}`, 200)
	for _, id := range items {
		e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, id), 200)
	}
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"`+pin+`"}`, 200)
}

// inventory stores a complete inventory report of the cabinet reading the given copies' tags,
// sealed with the agent's key and stored as ingest stores what it verified (the MQTT hop is
// ingest's own tests' business).
func (e *env) inventory(key []byte, seq uint64, cabinet string, read ...register.Item) {
	e.t.Helper()
	yes := true
	end := time.Now().UTC()
	inv := wire.Inventory{Cabinet: cabinet, Round: fmt.Sprintf("r-%d", seq), Started: end.Add(-20 * time.Second).Format(time.RFC3339Nano), Ended: end.Format(time.RFC3339Nano),
		Rounds: 4, Antennas: []wire.AntennaHealth{{Antenna: 1, OK: &yes}}, Complete: &yes, Tags: []wire.TagRead{}}
	for _, it := range read {
		inv.Tags = append(inv.Tags, wire.TagRead{EPC: it.EPC, Antenna: 1, RSSI: -52, Reads: 4, Passes: 4, FirstSeen: end.Add(-19 * time.Second).Format(time.RFC3339Nano), LastSeen: end.Format(time.RFC3339Nano)})
	}
	env, err := wire.Seal(wire.DirObs, key, "agent-301", "boot-1", seq, fmt.Sprintf("obs-%d", seq), end, wire.KindInventory, inv)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.api.st.StoreObservations(context.Background(), []store.Observation{{Agent: env.Agent, Seq: env.Seq, ID: env.ID, Boot: env.Boot, V: env.V, At: env.At, Kind: env.Kind, Body: env.Body, MAC: env.MAC}}); err != nil {
		e.t.Fatal(err)
	}
}

func outcomes(c register.Check) map[int64]string {
	out := map[int64]string{}
	for _, it := range c.Items {
		out[it.ID] = it.Outcome
	}
	return out
}

// The 清查 of a unit end to end (issue 14 point 7): the custodian opens it; the cabinet's
// inventory after the opening finds all copies but one; one holder confirms a copy as himself
// and another at the desk with his badge and PIN; a third copy out stays unconfirmed — the two
// discrepancies are listed by copy. Signing over them needs a note; closing needs two different
// signers; the signed 清查记录 is stored and served as a PDF with the counts, the discrepancies by
// 份号 and both signatures. Each role's attempt around the rules is refused, writes nothing and is
// audited.
func TestCheckScenario(t *testing.T) {
	e, items, key := checkEnv(t)
	a1, a2, a3, b1, b2, b3 := items[0], items[1], items[2], items[3], items[4], items[5]
	e.lend("B-0042", "2468", a1.ID, b1.ID) // zhang.wei
	e.lend("B-0043", "1357", a2.ID)        // chen.jing
	// An inventory before the opening proves nothing about the check.
	e.inventory(key, 1, "C-01", a3, b2, b3)

	const countChecks = `SELECT count(*) FROM checks`
	const countSigs = `SELECT count(*) FROM check_signatures`
	const countConf = `SELECT count(*) FROM check_confirmations`
	// Who may not open a check: the 三员, a leader, a holder, another unit's custodian.
	for _, u := range []string{"admin", "sec.admin", "zhao.lei", "li.ming", "zhang.wei"} {
		e.refusedAudited(u, "POST", "/api/v1/checks", `{"unit":"BGS"}`, 403, countChecks)
	}
	e.refusedAudited("kjc.cust", "POST", "/api/v1/checks", `{"unit":"BGS"}`, 403, countChecks, "不是该单位的机要员")

	var c register.Check
	e.decode(e.do("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, nil), 201, &c)
	if c.State != "open" || c.Counts.Total != 6 || c.Counts.Unchecked != 3 || c.Counts.Unconfirmed != 3 || !strings.HasSuffix(c.PeriodText, "季度") {
		t.Fatalf("opened check: got %+v counts %+v, want 6 copies, 3 unchecked in C-01 and 3 unconfirmed out, quarterly", c, c.Counts)
	}
	e.refusedAudited("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, 422, countChecks, "已有进行中的清查")
	path := fmt.Sprintf("/api/v1/checks/%d", c.ID)

	// The cabinet's inventory after the opening reads all its copies but b2.
	e.inventory(key, 2, "C-01", a3, b3)
	e.decode(e.do("wang.fang", "GET", path, "", nil), 200, &c)
	if o := outcomes(c); o[a3.ID] != register.CheckFound || o[b3.ID] != register.CheckFound || o[b2.ID] != register.CheckNotFound {
		t.Errorf("after the inventory: got %v, want a3 and b3 found, b2 not_found", o)
	}
	if len(c.Cabinets) != 1 || c.Cabinets[0].Round != "r-2" || c.Cabinets[0].Tags != 2 {
		t.Errorf("cabinets: got %+v, want C-01 judged by round r-2 with 2 tags", c.Cabinets)
	}

	// Holders: zhang.wei confirms a1 as himself; he cannot confirm chen.jing's a2; nor can the
	// custodian confirm for a holder without the holder's badge and PIN, nor with a wrong PIN.
	e.refusedAudited("zhang.wei", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d}`, a2.ID), 403, countConf, "持有人本人")
	e.refusedAudited("wang.fang", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d}`, a2.ID), 403, countConf, "持有人本人")
	e.refusedAudited("wang.fang", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d,"badge":"B-0042","pin":"2468"}`, a2.ID), 403, countConf, "不是")
	e.refusedAudited("admin", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d}`, a1.ID), 403, countConf)
	var seen register.Check
	e.decode(e.do("zhang.wei", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d}`, a1.ID), nil), 200, &seen)
	if len(seen.Items) != 0 {
		t.Errorf("a holder's confirmation answered with the unit's %d copies, want totals only", len(seen.Items))
	}
	e.decode(e.do("wang.fang", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d,"badge":"B-0042","pin":"2468"}`, b1.ID), nil), 200, &c)
	o := outcomes(c)
	if o[a1.ID] != register.CheckConfirmed || o[b1.ID] != register.CheckConfirmed || o[a2.ID] != register.CheckUnconfirmed {
		t.Fatalf("after the confirmations: got %v, want a1 and b1 confirmed, a2 unconfirmed", o)
	}
	if n := c.Counts; n.Total != 6 || n.Found != 2 || n.Confirmed != 2 || n.Discrepancies != 2 || n.NotFound != 1 || n.Unconfirmed != 1 {
		t.Fatalf("counts: got %+v, want 6 = 2 found + 2 confirmed + 2 discrepancies (b2 not found, a2 unconfirmed)", n)
	}
	// The holder and the 三员's auditor see no check; another unit's custodian neither.
	for _, u := range []string{"zhang.wei", "zhao.lei", "admin"} {
		e.refusedAudited(u, "GET", path, "", 403, countChecks)
	}
	e.refusedAudited("kjc.cust", "GET", path, "", 403, countChecks, "不是您的单位")
	// The security administrator (保密办) reads it.
	e.must("sec.admin", "GET", path, "", 200)

	// Signing: not by the 三员 or a holder; over discrepancies only with a note; only with the
	// signer's own PIN. A refused signature fixes nothing.
	for _, u := range []string{"admin", "sec.admin", "zhao.lei", "zhang.wei"} {
		e.refusedAudited(u, "POST", path+"/sign", `{"pin":"2468","note":"x"}`, 403, countSigs)
	}
	e.refusedAudited("kjc.cust", "POST", path+"/sign", `{"pin":"7070","note":"x"}`, 403, countSigs)
	e.refusedAudited("wang.fang", "POST", path+"/sign", `{"pin":"8080"}`, 422, countSigs, "2 处差异", "说明")
	e.refusedAudited("wang.fang", "POST", path+"/sign", `{"pin":"9090","note":"差异已报告领导"}`, 403, countSigs, "PIN 不正确")
	e.decode(e.do("wang.fang", "GET", path, "", nil), 200, &c)
	if c.State != "open" || c.Fixed != "" {
		t.Fatalf("refused signatures changed the check: state %s fixed %q", c.State, c.Fixed)
	}
	// Closing before any signature, then after one, is refused.
	e.refusedAudited("wang.fang", "POST", path+"/close", "", 422, countSigs, "两人签字", "现有 0 人")
	const note1 = "第2份（国保〔2026〕8号）柜内未读到，已报告领导并组织查找；陈静借阅的第2份未确认，已电话催还"
	e.decode(e.do("wang.fang", "POST", path+"/sign", `{"pin":"8080","note":"`+note1+`"}`, nil), 200, &c)
	if c.State != "signing" || c.Fixed == "" || len(c.Signatures) != 1 {
		t.Fatalf("first signature: got state %s, %d signatures, want signing with the outcomes fixed", c.State, len(c.Signatures))
	}
	e.refusedAudited("wang.fang", "POST", path+"/close", "", 422, countSigs, "现有 1 人")
	e.refusedAudited("wang.fang", "POST", path+"/sign", `{"pin":"8080","note":"再签一次"}`, 422, countSigs, "同一人不能签两次")
	// The outcomes are fixed: a late confirmation or inventory changes nothing.
	e.refusedAudited("chen.jing", "POST", path+"/confirmations", fmt.Sprintf(`{"item":%d}`, a2.ID), 422, countConf, "结果已固定")
	e.inventory(key, 3, "C-01", a3, b2, b3)
	e.decode(e.do("wang.fang", "GET", path, "", nil), 200, &c)
	if o := outcomes(c); o[b2.ID] != register.CheckNotFound || c.Counts.Discrepancies != 2 {
		t.Errorf("after the first signature a new inventory changed the result: %v", o)
	}
	// The leader countersigns; the administrator and another unit's custodian cannot close it.
	e.decode(e.do("li.ming", "POST", path+"/sign", `{"pin":"9090","note":"同意，限期查明第2份下落"}`, nil), 200, &c)
	if len(c.Signatures) != 2 || c.Signatures[1].Username != "li.ming" || c.Signatures[1].Role != "leader" {
		t.Fatalf("second signature: got %+v", c.Signatures)
	}
	e.refusedAudited("li.ming", "POST", path+"/sign", `{"pin":"9090","note":"x"}`, 422, countSigs, "同一人不能签两次")
	e.refusedAudited("admin", "POST", path+"/close", "", 403, `SELECT count(*) FROM checks WHERE state = 'closed'`)
	e.refusedAudited("li.ming", "POST", path+"/close", "", 403, `SELECT count(*) FROM checks WHERE state = 'closed'`)
	e.refusedAudited("kjc.cust", "POST", path+"/close", "", 403, `SELECT count(*) FROM checks WHERE state = 'closed'`, "不是您的单位")
	e.refusedAudited("wang.fang", "GET", path+"/report", "", 422, countChecks, "尚未结束")

	e.decode(e.do("wang.fang", "POST", path+"/close", "", nil), 200, &c)
	if c.State != "closed" || c.ClosedBy != "wang.fang" || len(c.ReportSHA256) != 64 {
		t.Fatalf("closed check: got state %s by %q, report digest %q", c.State, c.ClosedBy, c.ReportSHA256)
	}
	e.refusedAudited("wang.fang", "POST", path+"/close", "", 422, `SELECT count(*) FROM audit WHERE action = 'check.close'`, "已结束")
	e.refusedAudited("wang.fang", "POST", path+"/sign", `{"pin":"8080","note":"x"}`, 422, countSigs, "已结束")

	// The stored record: a PDF with the counts, the discrepancies by 份号 and both signatures,
	// the same for the leader and the security administrator.
	resp := e.do("li.ming", "GET", path+"/report", "", nil)
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("report: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e.must("sec.admin", "GET", path+"/report", "", 200)
	e.refusedAudited("admin", "GET", path+"/report", "", 403, countChecks)
	text := pdfToText(t, pdf)
	for _, want := range []string{"涉密载体清查记录", "机密★10年", "应查份数：6", "盘点在柜：2", "持有人确认：2", "差异：2",
		"国保〔2026〕8号 第2份：未找到", "国保〔2026〕7号 第2份：持有人未确认", "chen.jing",
		"签字人1：wang.fang（wang.fang），机要员", "签字人2：li.ming（li.ming），领导", "同意，限期查明第2份下落", "北京时间"} {
		// A long note wraps: read it as one line.
		if !strings.Contains(text, want) && !strings.Contains(strings.ReplaceAll(text, "\n", ""), want) {
			t.Errorf("清查记录 lacks %q; got:\n%s", want, text)
		}
	}
	var audit int
	e.api.st.DB().QueryRow(`SELECT count(*) FROM audit WHERE action IN ('check.open','check.confirm','check.sign','check.close') AND subject = ?`, fmt.Sprintf("check:%d", c.ID)).Scan(&audit)
	if audit != 6 {
		t.Errorf("audit: got %d check records, want 6 (open, 2 confirmations, 2 signatures, close)", audit)
	}
	// The list shows it closed, with its counts.
	var list []register.Check
	e.decode(e.do("li.ming", "GET", "/api/v1/checks?unit=BGS", "", nil), 200, &list)
	if len(list) != 1 || list[0].State != "closed" || list[0].Counts.Discrepancies != 2 || len(list[0].Items) != 0 {
		t.Errorf("checks list: got %+v", list)
	}
}

// pdfToText extracts a PDF's text with poppler's pdftotext, as a person copying it would.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	return string(out)
}

// A unit that kept copies through a whole period without opening a check is reminded by the site
// check (check_due, warning, to the custodian and the security administrator); opening the
// check ends the reminder.
func TestCheckDueReminder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+goodDoc+`,"cabinet":"C-01","from":"市委机要局"}`, 201)
	// Seven months on, the quarter before ended without a check.
	later := time.Now().AddDate(0, 7, 0)
	e.api.reg.SetClock(func() time.Time { return later })
	book := alert.NewBook(e.api.st, slog.New(slog.DiscardHandler), nil)
	chk := alert.NewChecker(e.api.st, book, nil, reconcile.Policy{}, "", slog.New(slog.DiscardHandler))
	chk.SetChecks(ChecksDue(e.api.reg))
	site := func() {
		t.Helper()
		if err := chk.Site(ctx, reconcile.Hours{Location: time.UTC, Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Hour, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	site()
	var alerts []alert.Alert
	e.decode(e.do("wang.fang", "GET", "/api/v1/alerts?kind=check_due", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].Subject != "unit/BGS" || alerts[0].Severity != alert.Warning || alerts[0].State != alert.Open {
		t.Fatalf("check_due: got %+v, want one open warning for unit/BGS", alerts)
	}
	if a := alerts[0]; a.Level != "" || a.Cabinet != "" {
		t.Errorf("check_due is about a unit, not a copy or cabinet: %+v", a)
	}
	e.must("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, 201)
	site()
	e.decode(e.do("wang.fang", "GET", "/api/v1/alerts?kind=check_due", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].State != alert.Resolved {
		t.Errorf("after opening the check: got %+v, want the reminder resolved", alerts)
	}
}

// A copy read in another cabinet than the register says, and a borrowed copy read in a cabinet,
// are each 在他处发现 with the cabinet that read them — not 未找到, not 持有人未确认.
func TestCheckFoundElsewhere(t *testing.T) {
	e, items, key := checkEnv(t)
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-02","name":"二号柜","room":"R301","unit":"BGS"}`, 201)
	e.must("admin", "POST", "/api/v1/cabinets/C-02/bind", `{"agent":"agent-301"}`, 200)
	a1, a2, a3, b1, b2, b3 := items[0], items[1], items[2], items[3], items[4], items[5]
	e.lend("B-0042", "2468", a1.ID)
	var c register.Check
	e.decode(e.do("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, nil), 201, &c)
	e.inventory(key, 1, "C-01", a2, a3, b1, b2)
	e.inventory(key, 2, "C-02", b3, a1)
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/checks/%d", c.ID), "", nil), 200, &c)
	for _, it := range c.Items {
		want, seen := register.CheckFound, ""
		if it.ID == b3.ID || it.ID == a1.ID {
			want, seen = register.CheckElsewhere, "C-02"
		}
		if it.Outcome != want || it.SeenIn != seen {
			t.Errorf("%s: got %s %q, want %s %q", it.Name().ZH, it.Outcome, it.SeenIn, want, seen)
		}
	}
	if n := c.Counts; n.Elsewhere != 2 || n.Discrepancies != 2 || n.Found != 4 {
		t.Errorf("counts: got %+v, want 4 found and 2 found elsewhere", n)
	}
	if len(c.Cabinets) != 2 {
		t.Errorf("cabinets judged: got %+v, want C-01 and C-02", c.Cabinets)
	}
}
