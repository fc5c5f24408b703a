package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/epcis"
	"github.com/custodyhq/custody/internal/epcis/epcistest"
	"github.com/custodyhq/custody/internal/register"
)

// session runs a desk session at D-01: open with the body, scan each datum, close with the body.
func (e *env) session(open string, scans []string, closing string) register.Session {
	e.t.Helper()
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", open, nil), 201, &s)
	for _, d := range scans {
		e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"`+d+`"}`, 200)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), closing, nil), 200, &s)
	return s
}

// The EPCIS export of a copy's whole life (issue 19 point 4): registration, storing, a loan and
// its return, a courier's journey and its receipt back into the cabinet, a check's findings
// (found, not found), destruction by the bureau and a loss. Every document passes the EPCIS schemas (epcistest);
// each step maps as docs/epcis.md says; no title, number, holder or level leaves; the export is
// audited; the administrators are refused, audited.
func TestEPCISExportOfTheLifecycle(t *testing.T) {
	e, items, key := checkEnv(t) // a1..a3 机密 and b1..b3 秘密, all received into C-01 (room R301)
	a1, a2, a3, b1, b2, b3 := items[0], items[1], items[2], items[3], items[4], items[5]
	e.named("li.na", "李娜", "BGS", "custodian")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"li.na","code":"B-0007"}`, 200)
	e.must("li.na", "POST", "/api/v1/me/badge-pin", `{"new":"1357"}`, 200)
	start := time.Now().Add(-time.Minute)

	e.lend("B-0042", "2468", a1.ID)
	e.session(`{"desk":"D-01","purpose":"return","cabinet":"C-01"}`, []string{"B-0042", fmt.Sprint(a1.ID)}, `{"pin":"2468"}`)
	s := e.session(`{"desk":"D-01","purpose":"dispatch","courier":"赵交通","envelope":"JY-2026-0042","destination":"市国资委办公室","expected":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"}`,
		[]string{fmt.Sprint(a2.ID)}, `{}`)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/transits/%d/receipt", s.Transit), `{"receipt":"国资回〔2026〕12号","receiver":"钱收"}`, 200)

	// A check: C-01's inventory reads everything still in it but b3.
	var c register.Check
	e.decode(e.do("wang.fang", "POST", "/api/v1/checks", `{"unit":"BGS"}`, nil), 201, &c)
	e.inventory(key, 1, "C-01", a1, a3, b1, b2)
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/checks/%d/sign", c.ID), `{"pin":"8080","note":"第3份未读到，查找中"}`, nil), 200, &c)

	var b register.Batch
	e.decode(e.do("wang.fang", "POST", "/api/v1/destructions", fmt.Sprintf(`{"items":[%d],"reason":"保密期限届满"}`, b1.ID), nil), 201, &b)
	e.must("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", b.Approval), `{"approve":true,"note":"同意"}`, 200)
	e.session(fmt.Sprintf(`{"desk":"D-01","purpose":"destroy","batch":%d,"courier":"市保密局 周强","receipt":"BMJ-2026-0815","supervisor":"刘强"}`, b.ID),
		[]string{"B-0007", fmt.Sprint(b1.ID)}, `{"pin":"1357"}`)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/destructions/%d/certify", b.ID), `{"certificate":"BMJ-XH-2026-031"}`, 200)
	e.must("wang.fang", "POST", "/api/v1/losses", fmt.Sprintf(`{"items":[%d],"note":"11月20日在会议室遗失"}`, b2.ID), 201)

	exported := e.count(`SELECT count(*) FROM audit WHERE action = 'custody.export'`)
	path := "/api/v1/epcis/events?from=" + start.Format(time.RFC3339)
	code, body := e.body("zhao.lei", path)
	if code != 200 {
		t.Fatalf("auditor's export: got %d %s", code, body)
	}
	epcistest.Validate(t, []byte(body))
	var doc epcis.Document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'custody.export' AND actor = 'zhao.lei' AND after LIKE '%"with_level":false%'`); n != exported+1 {
		t.Errorf("export audited: got %d records, want %d", n, exported+1)
	}
	gdti := map[string]int64{}
	for _, it := range items {
		gdti[e.pure(it.ID)] = it.ID
	}
	got := map[int64][]string{}
	for _, ev := range doc.Body.EventList {
		if len(ev.EPCList) != 1 || gdti[ev.EPCList[0]] == 0 {
			t.Fatalf("event %+v: want one of the copies' GDTIs", ev)
		}
		if ev.EventTimeZoneOffset != "+08:00" || !strings.HasSuffix(ev.EventTime, "+08:00") || !strings.HasPrefix(ev.EventID, "urn:uuid:") {
			t.Errorf("event %+v: want the site zone and a urn:uuid id", ev)
		}
		if ev.ReadPoint == nil || ev.ReadPoint.ID != "https://custody.invalid/epcis/cabinet/C-01" || ev.BizLocation == nil || ev.BizLocation.ID != "https://custody.invalid/epcis/room/R301" {
			t.Errorf("event %+v: want read point C-01 and location R301", ev)
		}
		id := gdti[ev.EPCList[0]]
		got[id] = append(got[id], ev.Action+" "+ev.BizStep+" "+ev.Disposition)
	}
	want := map[int64][]string{
		a1.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE departing in_progress", "OBSERVE arriving available", "OBSERVE inspecting conformant"},
		a2.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE departing in_transit", "DELETE arriving inactive"},
		a3.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE inspecting conformant"},
		b1.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE inspecting conformant", "OBSERVE holding expired", "OBSERVE destroying in_transit", "DELETE destroying destroyed"},
		b2.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE inspecting conformant", "OBSERVE inspecting unknown"},
		b3.ID: {"ADD commissioning active", "OBSERVE storing available", "OBSERVE inspecting non_conformant"},
	}
	for id, w := range want {
		if strings.Join(got[id], " | ") != strings.Join(w, " | ") {
			t.Errorf("item %d: got\n  %s\nwant\n  %s", id, strings.Join(got[id], " | "), strings.Join(w, " | "))
		}
	}
	for _, leak := range []string{"关于加强保密管理的通知", "关于年终清查的通知", "国保〔2026〕", "张伟", "zhang.wei", "wang.fang", "赵交通", "会议室", "机密", "secret", "confidential", "level", "BMJ"} {
		if strings.Contains(body, leak) {
			t.Errorf("the export carries %q:\n%s", leak, body)
		}
	}

	// The same facts exported again have the same ids; with_level adds custody:level, audited.
	_, again := e.body("li.ming", path+"&with_level=1")
	var doc2 epcis.Document
	if err := json.Unmarshal([]byte(again), &doc2); err != nil || len(doc2.Body.EventList) != len(doc.Body.EventList) {
		t.Fatalf("second export: %v %d events", err, len(doc2.Body.EventList))
	}
	epcistest.Validate(t, []byte(again))
	for i := range doc.Body.EventList {
		if doc.Body.EventList[i].EventID != doc2.Body.EventList[i].EventID || doc2.Body.EventList[i].Level == "" {
			t.Fatalf("event %d: ids %s and %s, level %q: want the same id and the level", i, doc.Body.EventList[i].EventID, doc2.Body.EventList[i].EventID, doc2.Body.EventList[i].Level)
		}
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'custody.export' AND actor = 'li.ming' AND after LIKE '%"with_level":true%'`); n != 1 {
		t.Errorf("export with levels audited: got %d, want 1", n)
	}

	// A span before anything happened: a valid, empty document.
	code, empty := e.body("zhao.lei", "/api/v1/epcis/events?to=2020-01-01")
	epcistest.Validate(t, []byte(empty))
	if code != 200 || strings.Contains(empty, "ObjectEvent") {
		t.Errorf("empty span: got %d %s", code, empty)
	}
	// The administrators and holders are refused, audited, and nothing is exported.
	for _, user := range []string{"admin", "sec.admin", "zhang.wei"} {
		e.refusedAudited(user, "GET", path, "", 403, `SELECT count(*) FROM audit WHERE action = 'custody.export'`)
	}
	// Bad times: an operator-worded refusal.
	for _, q := range []string{"from=yesterday", "from=2026-12-02&to=2026-12-01", "with_level=yes"} {
		status, eb := e.errorOf(e.do("zhao.lei", "GET", "/api/v1/epcis/events?"+q, "", nil))
		if status != 400 || eb.Error.Message == "" {
			t.Errorf("%s: got %d %+v, want 400 with a reason", q, status, eb)
		}
	}
}

// pure is the copy's GDTI pure-identity URI as the register reads it.
func (e *env) pure(id int64) string {
	e.t.Helper()
	var it register.Item
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d", id), "", nil), 200, &it)
	if it.EPC == "" {
		e.t.Fatalf("item %d has no EPC", id)
	}
	return epcURI(e.t, it.EPC)
}

func epcURI(t *testing.T, hex string) string {
	t.Helper()
	x, err := epc.DecodeHex(hex)
	if err != nil {
		t.Fatal(err)
	}
	return x.PureIdentityURI()
}
