package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

const countSessions = `SELECT count(*) FROM sessions`

// Transit to another unit (issue 14 point 5), end to end over HTTP: a copy handed to a courier is
// 传递中 with courier, envelope and expected arrival; past the expected arrival the site check
// raises transit_overdue, which the leader sees too; the other unit's receipt, by number and
// name, makes the copy 已移交 and resolves the alert at once. A handover to an outside unit at
// the desk records its receipt at once. Refused, with nothing written and the attempt audited: a
// dispatch without an envelope number, a holder or the administrator dispatching, a copy not in
// its cabinet scanned into a dispatch, a receipt for a transit with no copy in transit.
func TestTransitToAnotherUnitWithItsReceipt(t *testing.T) {
	e, items := lifecycleEnv(t) // three 机密 copies of 国保〔2026〕7号 in C-01
	ctx := context.Background()
	// The expected arrival is a few seconds after the dispatch is opened, so the test can wait for
	// it to pass; it is taken when the dispatch is opened (under CI's load the refusals before it
	// took longer than the few seconds).
	dispatchBy := func(expected time.Time) string {
		return `{"desk":"D-01","purpose":"dispatch","courier":"赵交通","envelope":"JY-2026-0042","destination":"市国资委办公室","expected":"` + expected.Format(time.RFC3339) + `"}`
	}
	dispatch := dispatchBy(time.Now().Add(time.Hour))

	e.refusedAudited("wang.fang", "POST", "/api/v1/sessions", strings.Replace(dispatch, `"envelope":"JY-2026-0042",`, "", 1), 422, countSessions, "信封编号")
	e.refusedAudited("zhang.wei", "POST", "/api/v1/sessions", dispatch, 403, countSessions)
	e.refusedAudited("admin", "POST", "/api/v1/sessions", dispatch, 403, countSessions)

	// A copy out with a reader is not in its cabinet: it cannot go into the envelope.
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	e.handover("borrow", `,"due":"`+due+`"`, items[2].ID)
	var s register.Session
	expected := time.Now().Add(4 * time.Second).Truncate(time.Second)
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", dispatchBy(expected), nil), 201, &s)
	e.refusedAudited("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[2].ID), 422, `SELECT count(*) FROM session_items`, "在 zhang.wei 手中")
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, items[0].ID), 200)
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{}`, nil), 200, &s)
	if s.State != "closed" || s.Transit == 0 || s.Envelope != "JY-2026-0042" {
		t.Fatalf("dispatch: got %+v, want closed with its transit and envelope", s)
	}
	var it register.Item
	e.decode(e.do("li.ming", "GET", fmt.Sprintf("/api/v1/items/%d", items[0].ID), "", nil), 200, &it)
	if it.State != custody.InTransit || it.Place != "市国资委办公室" {
		t.Errorf("the copy after the dispatch: got %s at %q, want in_transit to 市国资委办公室", it.State, it.Place)
	}
	var tr register.Transit
	e.decode(e.do("li.ming", "GET", fmt.Sprintf("/api/v1/transits/%d", s.Transit), "", nil), 200, &tr)
	if tr.Courier != "赵交通" || tr.Envelope != "JY-2026-0042" || tr.Expected == "" || tr.State != register.TransitOpen || len(tr.Items) != 1 {
		t.Errorf("transit: got %+v, want courier, envelope, expected arrival and the copy in transit", tr)
	}
	var hist []register.Event
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d/history", items[0].ID), "", nil), 200, &hist)
	if last := hist[len(hist)-1]; last.Action != string(custody.Dispatch) || !strings.Contains(last.Note, "JY-2026-0042") {
		t.Errorf("history: got %+v, want the dispatch with its envelope", last)
	}

	// The expected arrival passes with no receipt: the site check raises transit_overdue.
	time.Sleep(time.Until(expected) + 200*time.Millisecond)
	book := alert.NewBook(e.api.st, slog.New(slog.DiscardHandler), nil)
	chk := alert.NewChecker(e.api.st, book, nil, reconcile.Policy{}, "", slog.New(slog.DiscardHandler))
	chk.SetTransits(TransitsDue(e.api.reg))
	if err := chk.Site(ctx, reconcile.Hours{Location: time.UTC, Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Hour, time.Hour); err != nil {
		t.Fatal(err)
	}
	var alerts []alert.Alert
	e.decode(e.do("li.ming", "GET", "/api/v1/alerts?kind=transit_overdue", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].State != alert.Open || alerts[0].Subject != fmt.Sprintf("transit/%d", s.Transit) || alerts[0].Cabinet != "C-01" {
		t.Fatalf("transit_overdue: got %+v, want one open alert for transit %d from C-01", alerts, s.Transit)
	}

	// Receipts: refused for the leader, refused without the receiver's name; then recorded.
	receipt := fmt.Sprintf("/api/v1/transits/%d/receipt", s.Transit)
	e.refusedAudited("li.ming", "POST", receipt, `{"receipt":"国资回〔2026〕12号","receiver":"钱收"}`, 403, `SELECT count(*) FROM transits WHERE receipt <> ''`)
	if status, eb := e.errorOf(e.do("wang.fang", "POST", receipt, `{"receipt":"国资回〔2026〕12号"}`, nil)); status != 400 || !strings.Contains(eb.Error.Message, "receiver") {
		t.Errorf("receipt without the receiver: got %d %q, want 400 naming receiver", status, eb.Error.Message)
	}
	e.decode(e.do("wang.fang", "POST", receipt, `{"receipt":"国资回〔2026〕12号","receiver":"钱收"}`, nil), 200, &tr)
	if tr.State != register.TransitReceived || tr.Items[0].State != custody.TransferredOut || tr.Receipt != "国资回〔2026〕12号" || tr.Receiver != "钱收" {
		t.Errorf("after the receipt: got %+v, want received and the copy transferred_out", tr)
	}
	e.decode(e.do("li.ming", "GET", "/api/v1/alerts?kind=transit_overdue", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].State != alert.Resolved {
		t.Errorf("after the receipt: got %+v, want the alert resolved", alerts)
	}
	_, audit := e.body("zhao.lei", "/api/v1/audit")
	for _, want := range []string{"handover.dispatch", "transit.receipt", "国资回〔2026〕12号", "JY-2026-0042"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	if strings.Contains(audit, "关于加强保密管理的通知") {
		t.Error("the audit log carries the title")
	}

	// 上交 to the issuing unit at the desk: no account there, the receipt recorded at once.
	var out register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"transfer","destination":"市委机要局","receiver":"吴收","receipt":"机要回-7"}`, nil), 201, &out)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", out.ID), fmt.Sprintf(`{"data":"%d"}`, items[1].ID), 200)
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", out.ID), `{}`, nil), 200, &out)
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d", items[1].ID), "", nil), 200, &it)
	if it.State != custody.TransferredOut || it.Place != "市委机要局" {
		t.Errorf("after the outside transfer: got %s at %q, want transferred_out to 市委机要局", it.State, it.Place)
	}
	// A receipt for a transit whose copy is not in transit (already handed over with its receipt).
	e.refusedAudited("wang.fang", "POST", fmt.Sprintf("/api/v1/transits/%d/receipt", out.Transit), `{"receipt":"X-1","receiver":"某人"}`, 422, `SELECT count(*) FROM item_events`, "不在途")
}

// Scope widening of a document issued outside the register, over HTTP (issue 14 point 5): the
// issuing unit has no account here; the request goes to a leader of the custodian's unit, who
// cannot approve it without the document number of the issuing unit's consent (refused, nothing
// written, audited); with it the scope widens and the audit names the consent.
func TestScopeWideningRecordsTheConsentOverHTTP(t *testing.T) {
	e, _ := lifecycleEnv(t)
	e.must("admin", "POST", "/api/v1/units", `{"code":"SWJ","name":"市委机要局"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/documents/receive", `{"document":{"number":"市机〔2026〕5号","title":"外来文件","issuing_unit":"SWJ","level":"机密","issued_on":"2026-11-01","secrecy_term":"10年","copies":1},"cabinet":"C-01","from":"市委机要局"}`, 201)
	var ap register.Approval
	e.decode(e.do("wang.fang", "POST", "/api/v1/approvals", `{"kind":"scope","document":"市机〔2026〕5号","scope_units":["BGS"],"reason":"本单位需阅办"}`, nil), 201, &ap)
	if ap.Unit != "BGS" {
		t.Fatalf("got the request addressed to %q, want BGS", ap.Unit)
	}
	decide := fmt.Sprintf("/api/v1/approvals/%d/decide", ap.ID)
	e.refusedAudited("li.ming", "POST", decide, `{"approve":true,"note":"同意"}`, 422, `SELECT count(*) FROM approvals WHERE state <> 'pending'`, "同意的文件文号")
	e.refusedAudited("wang.fang", "POST", "/api/v1/scope-widenings", fmt.Sprintf(`{"approval":%d}`, ap.ID), 422, `SELECT count(*) FROM document_scope`)
	e.must("li.ming", "POST", decide, `{"approve":true,"note":"同意","consent":"市机函〔2026〕3号"}`, 200)
	e.must("wang.fang", "POST", "/api/v1/scope-widenings", fmt.Sprintf(`{"approval":%d}`, ap.ID), 200)
	_, audit := e.body("zhao.lei", "/api/v1/audit")
	if !strings.Contains(audit, "document.scope") || !strings.Contains(audit, "市机函〔2026〕3号") || !strings.Contains(audit, `"consent_of":"SWJ"`) {
		t.Error("the scope widening's audit record lacks the issuing unit or its consent's number")
	}
}
