package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/labels"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// lifecycleEnv is newEnv with a reader (zhang.wei, badge B-0042), cabinet C-01, desk D-01 and the
// goodDoc received into C-01 (3 copies).
func lifecycleEnv(t *testing.T) (*env, []register.Item) {
	t.Helper()
	e := newEnv(t)
	e.named("zhang.wei", "张伟", "BGS", "holder")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"zhang.wei","code":"B-0042"}`, 200)
	e.must("zhang.wei", "POST", "/api/v1/me/badge-pin", `{"new":"2468"}`, 200)
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/desks", `{"code":"D-01","name":"机要室工作台","room":"R301"}`, 201)
	var recv registerResponse
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+goodDoc+`,"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &recv)
	return e, recv.Items
}

// handover runs a desk handover over HTTP with zhang.wei as the counterpart.
func (e *env) handover(purpose, extra string, items ...int64) register.Session {
	e.t.Helper()
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"`+purpose+`"`+extra+`}`, nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0042"}`, 200)
	for _, id := range items {
		e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, id), 200)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"2468"}`, nil), 200, &s)
	return s
}

func (e *env) body(user, path string) (int, string) {
	e.t.Helper()
	resp := e.do(user, "GET", path, "", nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Loss is an alarm (issue 14 point 3): 报失 raises a critical reported_lost alert at once, freezes
// the copy and opens a loss case; a recall counts the lost copy apart and closes over it only
// with a leader's note; the loss case closes only by a leader, and then the alert clears.
func TestLossIsAnAlarm(t *testing.T) {
	e, items := lifecycleEnv(t)
	one := items[0].ID
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	e.handover("borrow", `,"due":"`+due+`"`, one)
	var rc register.Recall
	e.decode(e.do("wang.fang", "POST", "/api/v1/recalls", `{"name":"年终清退","deadline":"`+due+`","documents":["国保〔2026〕7号"]}`, nil), 201, &rc)

	// Reproduction: a holder reports a copy they do not hold — refused, nothing written.
	status, eb := e.errorOf(e.do("zhang.wei", "POST", "/api/v1/losses", fmt.Sprintf(`{"items":[%d],"note":"丢了"}`, items[1].ID), nil))
	if status != 403 || !strings.Contains(eb.Error.Message, "不在您名下") {
		t.Errorf("loss of a copy not held: got %d %q, want 403 不在您名下", status, eb.Error.Message)
	}
	var cases []register.LossCase
	e.decode(e.do("wang.fang", "GET", "/api/v1/losses", "", nil), 200, &cases)
	if len(cases) != 0 {
		t.Fatalf("a refused loss report left %d loss cases", len(cases))
	}

	var lc register.LossCase
	e.decode(e.do("zhang.wei", "POST", "/api/v1/losses", fmt.Sprintf(`{"items":[%d],"note":"11月20日在会议室遗失"}`, one), nil), 201, &lc)
	if lc.State != "open" || len(lc.Items) != 1 || lc.Items[0].State != custody.Lost || len(lc.History) != 1 || lc.History[0].Event != "reported" {
		t.Fatalf("loss case: got %+v, want an open case with the lost copy and its report", lc)
	}
	// The alarm is raised at once, critical, for the loss case.
	var alerts []alert.Alert
	e.decode(e.do("wang.fang", "GET", "/api/v1/alerts?kind=reported_lost", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].Severity != alert.Critical || alerts[0].State != alert.Open || alerts[0].Subject != fmt.Sprintf("losscase/%d", lc.ID) {
		t.Fatalf("reported_lost alerts: got %+v, want one open critical alert for loss case %d", alerts, lc.ID)
	}

	// Frozen: a lost copy cannot be lent, listed for destruction or stored.
	status, eb = e.errorOf(e.do("wang.fang", "POST", "/api/v1/destructions", fmt.Sprintf(`{"items":[%d],"reason":"x"}`, one), nil))
	if status != 422 || !strings.Contains(eb.Error.Message, "丢失") {
		t.Errorf("listing a lost copy for destruction: got %d %q, want 422", status, eb.Error.Message)
	}

	// The recall counts it apart; the custodian cannot close over it, a leader only with a note.
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/recalls/%d?format=json", rc.ID), "", nil), 200, &rc)
	if rc.Lost != 1 || rc.Returned != 2 || rc.Total != 3 {
		t.Errorf("recall: got %d returned, %d lost of %d; want 2 returned, 1 lost of 3", rc.Returned, rc.Lost, rc.Total)
	}
	status, eb = e.errorOf(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/recalls/%d/close", rc.ID), "", nil))
	if status != 422 || !strings.Contains(eb.Error.Message, "已报失") {
		t.Errorf("custodian closing over a lost copy: got %d %q, want 422 已报失", status, eb.Error.Message)
	}
	status, _ = e.errorOf(e.do("li.ming", "POST", fmt.Sprintf("/api/v1/recalls/%d/close", rc.ID), `{"note":""}`, nil))
	if status != 422 {
		t.Errorf("leader closing over a lost copy without a note: got %d, want 422", status)
	}
	code, csv := e.body("wang.fang", fmt.Sprintf("/api/v1/recalls/%d?format=csv", rc.ID))
	if code != 200 || !strings.Contains(csv, "已报失") || strings.Count(csv, "已收回") != 2 {
		t.Errorf("recall CSV: got %d\n%s\nwant the lost copy as 已报失 and two 已收回", code, csv)
	}
	e.decode(e.do("li.ming", "POST", fmt.Sprintf("/api/v1/recalls/%d/close", rc.ID), `{"note":"第1份已报失，另案追查"}`, nil), 200, &rc)
	if rc.State != "closed" || rc.CloseNote == "" || rc.ClosedBy != "li.ming" {
		t.Errorf("recall closed by the leader: got %+v", rc)
	}

	// The case: custodian records progress; only a leader closes it, with a conclusion.
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/losses/%d/notes", lc.ID), `{"note":"已询问与会人员，未找到"}`, 200)
	if status, _ := e.errorOf(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/losses/%d/close", lc.ID), `{"note":"结束"}`, nil)); status != 403 {
		t.Errorf("custodian closing a loss case: got %d, want 403", status)
	}
	e.decode(e.do("li.ming", "POST", fmt.Sprintf("/api/v1/losses/%d/close", lc.ID), `{"note":"确认丢失，已报保密局"}`, nil), 200, &lc)
	if lc.State != "closed" || len(lc.History) != 3 {
		t.Errorf("closed case: got %s with %d events, want closed with 3", lc.State, len(lc.History))
	}
	e.decode(e.do("wang.fang", "GET", "/api/v1/alerts?kind=reported_lost", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].State != alert.Resolved {
		t.Errorf("after the leader closed the case: got %+v, want the alert resolved", alerts)
	}
}

// A confirmed missing alert never turns into 已解除 because the copy was reported lost: it is
// handed to the loss case and stays until a person resolves it (issue 14 point 3, reproduction).
func TestMissingAlertLinkedToLossCase(t *testing.T) {
	e, items := lifecycleEnv(t)
	ctx := context.Background()
	book := alert.NewBook(e.api.st, slog.New(slog.DiscardHandler), nil)
	one := items[0]
	f := reconcile.Finding{Kind: reconcile.Missing, Subject: fmt.Sprintf("item/%d", one.ID), Confidence: reconcile.Confirmed, Cabinet: "C-01",
		ItemID: one.ID, Item: "国保〔2026〕7号/1", Level: custody.Secret, At: time.Now()}
	if err := book.Apply(ctx, alert.Evaluation{Findings: []reconcile.Finding{f}}); err != nil {
		t.Fatal(err)
	}
	var lc register.LossCase
	e.decode(e.do("wang.fang", "POST", "/api/v1/losses", fmt.Sprintf(`{"items":[%d],"note":"清点未见，确认丢失"}`, one.ID), nil), 201, &lc)
	// The next round no longer expects the copy in C-01: the finding clears.
	if err := book.Apply(ctx, alert.Evaluation{Cleared: []reconcile.Key{f.Key()}}); err != nil {
		t.Fatal(err)
	}
	got, err := book.Alerts(ctx, alert.Filter{Kind: reconcile.Missing})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].State == alert.Resolved || got[0].LossCase != lc.ID {
		t.Fatalf("missing alert after the loss report: got %+v, want it open and linked to loss case %d", got, lc.ID)
	}
	// Only a person resolves it.
	if _, err := book.Resolve(ctx, "li.ming", got[0].ID, "已转追查"); err != nil {
		t.Fatal(err)
	}
}

// Numbers as printed (issue 14 point 1): a batch records the 份号 printed on the paper and the
// issuer's total; later batches of the same 发文字号 are received; a 份号 is never registered twice;
// a batch whose paper disagrees with the register is refused; the answer names the label and tag
// step for exactly these copies, and their labels validate (copy 37 of 200).
func TestReceiveNumbersAsPrinted(t *testing.T) {
	e := newEnv(t)
	e.api.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	doc := `{"number":"中办发〔2026〕3号","title":"关于年度保密检查的通知","issuing_unit":"BGS","level":"机密","issued_on":"2026-11-01","secrecy_term":"10年","copies":200}`
	receive := func(first, last int) *http.Response {
		return e.do("wang.fang", "POST", "/api/v1/documents/receive", fmt.Sprintf(`{"document":%s,"cabinet":"C-01","from":"市委机要局","first_copy":%d,"last_copy":%d}`, doc, first, last), nil)
	}
	var res register.ReceiveResult
	e.decode(receive(37, 40), 201, &res)
	if len(res.Items) != 4 || res.Items[0].Copy != 37 || res.Items[3].Copy != 40 || res.Items[0].Copies != 200 || res.Batch != "037–040" {
		t.Fatalf("batch 37–40 of 200: got %d items, first %d/%d, batch %q", len(res.Items), res.Items[0].Copy, res.Items[0].Copies, res.Batch)
	}
	if len(res.Next.Items) != 4 || res.Next.Items[0] != res.Items[0].ID || !strings.Contains(res.Next.Labels, "labels print") {
		t.Errorf("next step: got %+v, want labels for exactly the 4 copies received", res.Next)
	}
	for _, it := range res.Items {
		tag, err := epc.DecodeHex(it.EPC)
		if err != nil {
			t.Fatalf("copy %d: EPC %q: %v", it.Copy, it.EPC, err)
		}
		if err := (labels.Label{Copy: it.Copy, Copies: it.Copies, DocumentNumber: it.Document, Level: it.Level.Text().ZH, EPC: tag}).Validate(); err != nil {
			t.Errorf("label of copy %d of %d: %v", it.Copy, it.Copies, err)
		}
	}
	// A later batch of the same document.
	e.decode(receive(41, 41), 201, &res)
	if len(res.Items) != 1 || res.Items[0].Copy != 41 {
		t.Errorf("later batch: got %+v, want copy 41", res.Items)
	}
	// Reproduction: the same 份号 again is refused, by number as printed, and nothing is written.
	status, eb := e.errorOf(receive(40, 42))
	if status != 409 || !strings.Contains(eb.Error.Message, "第040份 已登记") {
		t.Errorf("copy 40 again: got %d %q, want 409 第040份 已登记", status, eb.Error.Message)
	}
	var items []register.Item
	e.decode(e.do("wang.fang", "GET", "/api/v1/items?document="+url.QueryEscape("中办发〔2026〕3号"), "", nil), 200, &items)
	if len(items) != 5 {
		t.Errorf("after the refused batch: %d copies registered, want 5 (37–41)", len(items))
	}
	// A batch whose paper says another level or total is not silently merged.
	doc = strings.Replace(doc, `"机密"`, `"秘密"`, 1)
	status, eb = e.errorOf(receive(50, 51))
	if status != 409 || !strings.Contains(eb.Error.Message, "密级") {
		t.Errorf("batch with another level: got %d %q, want 409 naming 密级", status, eb.Error.Message)
	}
	doc = strings.Replace(doc, `"秘密"`, `"机密"`, 1)
	status, _ = e.errorOf(receive(199, 201))
	if status != 400 {
		t.Errorf("copy 201 of 200: got %d, want 400", status)
	}
	status, eb = e.errorOf(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":{"number":"X〔2026〕1号","title":"t","issuing_unit":"BGS","level":"秘密","issued_on":"2026-11-01","secrecy_term":"十年","copies":1},"cabinet":"C-01","from":"x"}`, nil))
	if status != 400 || !strings.Contains(eb.Error.Message, "保密期限") {
		t.Errorf("unreadable secrecy term: got %d %q, want 400 naming 保密期限", status, eb.Error.Message)
	}
}

// Destruction by the secrecy bureau (issue 14 point 4): an approved batch is 送销 at the desk —
// two custodians sign, the bureau's courier, receipt number and 监销人 are recorded — and its copies
// are 已送销, not 已销毁, until the bureau's certificate number is entered. The receipt says 送销.
func TestDestructionByTheBureau(t *testing.T) {
	e, items := lifecycleEnv(t)
	e.named("li.na", "李娜", "BGS", "custodian")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"li.na","code":"B-0007"}`, 200)
	e.must("li.na", "POST", "/api/v1/me/badge-pin", `{"new":"1357"}`, 200)
	var b register.Batch
	e.decode(e.do("wang.fang", "POST", "/api/v1/destructions", fmt.Sprintf(`{"items":[%d,%d,%d],"reason":"保密期限届满"}`, items[0].ID, items[1].ID, items[2].ID), nil), 201, &b)
	e.must("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", b.Approval), `{"approve":true,"note":"同意送保密局销毁"}`, 200)

	// Without the bureau's receipt number and the 监销人 there is no 送销.
	status, eb := e.errorOf(e.do("wang.fang", "POST", "/api/v1/sessions", fmt.Sprintf(`{"desk":"D-01","purpose":"destroy","batch":%d,"courier":"市保密局 周强"}`, b.ID), nil))
	if status != 400 || !strings.Contains(eb.Error.Message, "回执编号") || !strings.Contains(eb.Error.Message, "监销人") {
		t.Errorf("送销 without receipt and supervisor: got %d %q, want 400 naming both", status, eb.Error.Message)
	}
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", fmt.Sprintf(`{"desk":"D-01","purpose":"destroy","batch":%d,"courier":"市保密局 周强","receipt":"BMJ-2026-0815","supervisor":"刘强"}`, b.ID), nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0007"}`, 200)
	for _, it := range items {
		e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, it.ID), 200)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"1357"}`, nil), 200, &s)
	for _, it := range s.Items {
		if it.State != custody.SentForDestruction {
			t.Errorf("copy %d after 送销: got %s, want sent_for_destruction (已送销), not destroyed", it.Copy, it.State)
		}
	}
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/destructions/%d", b.ID), "", nil), 200, &b)
	if b.State != "sent" || b.BureauReceipt != "BMJ-2026-0815" || b.Supervisor != "刘强" || b.Courier != "市保密局 周强" {
		t.Errorf("batch after 送销: got %+v", b)
	}
	code, csv := e.body("wang.fang", fmt.Sprintf("/api/v1/sessions/%d/receipt?format=csv", s.ID))
	if code != 200 || !strings.Contains(csv, "送销") || !strings.Contains(csv, "监销人") || !strings.HasPrefix(strings.TrimPrefix(csv, "\ufeff"), "机密★10年") {
		t.Errorf("送销 receipt: got %d\n%s\nwant 送销 with the 监销人, marked 机密★10年", code, csv)
	}
	// No certificate of ours before the bureau's; a batch not sent cannot be certified.
	if status, _ := e.errorOf(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/destructions/%d/certificate?format=csv", b.ID), "", nil)); status != 422 {
		t.Errorf("certificate before the bureau's: got %d, want 422", status)
	}
	if status, _ := e.errorOf(e.do("li.ming", "POST", fmt.Sprintf("/api/v1/destructions/%d/certify", b.ID), `{"certificate":"X"}`, nil)); status != 403 {
		t.Errorf("a leader entering the certificate: got %d, want 403", status)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/destructions/%d/certify", b.ID), `{"certificate":"BMJ-XH-2026-031"}`, nil), 200, &b)
	if b.State != "destroyed" || b.CertificateNo != "BMJ-XH-2026-031" {
		t.Errorf("after the certificate: got %+v", b)
	}
	if status, _ := e.errorOf(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/destructions/%d/certify", b.ID), `{"certificate":"again"}`, nil)); status != 422 {
		t.Errorf("certifying twice: got %d, want 422", status)
	}
	var it register.Item
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d", items[0].ID), "", nil), 200, &it)
	if it.State != custody.Destroyed {
		t.Errorf("copy after the certificate: got %s, want destroyed", it.State)
	}
	code, csv = e.body("wang.fang", fmt.Sprintf("/api/v1/destructions/%d/certificate?format=csv", b.ID))
	for _, want := range []string{"BMJ-XH-2026-031", "BMJ-2026-0815", "刘强", "保密局"} {
		if code != 200 || !strings.Contains(csv, want) {
			t.Errorf("certificate: got %d, lacks %q\n%s", code, want, csv)
		}
	}
}

// Secrecy term, level change, declassification (issue 14 point 6): the term is structured and
// custodyd knows when it ends; the expiring list and the site check's reminder name the document
// whose term ends within 30 days; a 密级变更 needs the deciding authority and its document number,
// is audited and shows in the marks; a declassified document leaves the ledger and only its copies
// can be released from custody.
func TestSecrecyTermsAndDeclassification(t *testing.T) {
	e, items := lifecycleEnv(t) // goodDoc: 机密, 10年 from 2026-11-01
	ctx := context.Background()
	issued := time.Now().In(e.api.reg.Zone().Location()).AddDate(-1, 0, 10).Format(time.DateOnly)
	var res register.ReceiveResult
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":{"number":"京保〔2025〕9号","title":"年度工作要点","issuing_unit":"BGS","level":"机密","issued_on":"`+issued+`","secrecy_term":"1年","copies":2},"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &res)
	wantEnd := time.Now().In(e.api.reg.Zone().Location()).AddDate(0, 0, 10).Format(time.DateOnly)
	if res.Document.TermEnd != wantEnd {
		t.Errorf("term end of 1年 from %s: got %q, want %s", issued, res.Document.TermEnd, wantEnd)
	}
	e.must("wang.fang", "POST", "/api/v1/documents/receive", `{"document":{"number":"京保〔2026〕1号","title":"长期文件","issuing_unit":"BGS","level":"绝密","issued_on":"2026-01-05","secrecy_term":"长期","copies":1},"cabinet":"C-01","from":"市委机要局"}`, 201)

	var expiring []register.Document
	e.decode(e.do("li.ming", "GET", "/api/v1/documents/expiring", "", nil), 200, &expiring)
	if len(expiring) != 1 || expiring[0].Number != "京保〔2025〕9号" {
		t.Fatalf("expiring within 30 days: got %+v, want only 京保〔2025〕9号", expiring)
	}
	// The site check reminds: a term_expiring alert for that document (custodian and security
	// administrator; content-free outside as every alert).
	book := alert.NewBook(e.api.st, slog.New(slog.DiscardHandler), nil)
	chk := alert.NewChecker(e.api.st, book, nil, reconcile.Policy{}, "", slog.New(slog.DiscardHandler))
	chk.SetTerms(TermsDue(e.api.reg))
	if err := chk.Site(ctx, reconcile.Hours{Location: time.UTC, Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Hour, time.Hour); err != nil {
		t.Fatal(err)
	}
	var alerts []alert.Alert
	e.decode(e.do("wang.fang", "GET", "/api/v1/alerts?kind=term_expiring", "", nil), 200, &alerts)
	if len(alerts) != 1 || alerts[0].Subject != fmt.Sprintf("document/%d", res.Document.ID) {
		t.Fatalf("term reminder: got %+v, want one for document %d", alerts, res.Document.ID)
	}

	// 密级变更: refused without the deciding authority's document number; recorded with it.
	status, eb := e.errorOf(e.do("wang.fang", "POST", "/api/v1/level-changes", `{"number":"国保〔2026〕7号","level":"秘密","authority":"市委办公室"}`, nil))
	if status != 422 || !strings.Contains(eb.Error.Message, "决定文号") {
		t.Errorf("level change without decision_no: got %d %q", status, eb.Error.Message)
	}
	if status, _ := e.errorOf(e.do("li.ming", "POST", "/api/v1/level-changes", `{"number":"国保〔2026〕7号","level":"秘密","authority":"x","decision_no":"y"}`, nil)); status != 403 {
		t.Errorf("a leader recording a level change: got %d, want 403", status)
	}
	var d register.Document
	e.decode(e.do("wang.fang", "POST", "/api/v1/level-changes", `{"number":"国保〔2026〕7号","level":"秘密","term":"5年","authority":"市委办公室","decision_no":"市委办〔2026〕41号"}`, nil), 200, &d)
	if d.Level != custody.Confidential || d.SecrecyTerm != "5年" {
		t.Errorf("after the level change: got %s %s, want confidential 5年", d.Level, d.SecrecyTerm)
	}
	code, csv := e.body("li.ming", "/api/v1/reports/ledger?format=csv&level=秘密")
	if code != 200 || !strings.HasPrefix(strings.TrimPrefix(csv, "\ufeff"), "秘密★5年") || strings.Count(csv, "国保〔2026〕7号") != 3 {
		t.Errorf("ledger of 秘密 after the change: got %d\n%s\nwant the 3 copies marked 秘密★5年", code, csv)
	}
	_, audit := e.body("zhao.lei", "/api/v1/audit")
	if !strings.Contains(audit, "document.level_change") || !strings.Contains(audit, "市委办〔2026〕41号") {
		t.Error("the level change is not in the audit log with its decision number")
	}

	// 解密: copies of a classified document cannot be released; a declassified one leaves the
	// register and its copies can.
	status, _ = e.errorOf(e.do("wang.fang", "POST", "/api/v1/releases", fmt.Sprintf(`{"items":[%d]}`, items[0].ID), nil))
	if status != 422 {
		t.Errorf("release of a classified copy: got %d, want 422", status)
	}
	e.decode(e.do("wang.fang", "POST", "/api/v1/declassifications", `{"number":"京保〔2025〕9号","authority":"市委机要局","decision_no":"机要〔2026〕12号"}`, nil), 200, &d)
	if d.Declassified == "" {
		t.Fatalf("declassified: got %+v", d)
	}
	if status, _ := e.errorOf(e.do("wang.fang", "POST", "/api/v1/declassifications", `{"number":"京保〔2025〕9号","authority":"a","decision_no":"b"}`, nil)); status != 409 {
		t.Errorf("declassifying twice: got %d, want 409", status)
	}
	var rows []register.LedgerRow
	e.decode(e.do("li.ming", "GET", "/api/v1/reports/ledger", "", nil), 200, &rows)
	for _, r := range rows {
		if r.Document == "京保〔2025〕9号" {
			t.Errorf("the declassified document is still in the classified register: %+v", r)
		}
	}
	var released []register.Item
	e.decode(e.do("wang.fang", "POST", "/api/v1/releases", fmt.Sprintf(`{"items":[%d,%d],"note":"解密后解除管理"}`, res.Items[0].ID, res.Items[1].ID), nil), 200, &released)
	if len(released) != 2 || released[0].State != custody.Released {
		t.Errorf("released: got %+v", released)
	}
	e.decode(e.do("li.ming", "GET", "/api/v1/documents/expiring", "", nil), 200, &expiring)
	if len(expiring) != 0 {
		t.Errorf("expiring after declassification: got %+v, want none", expiring)
	}
}

// Copies (复制件, issue 14 point 2): only from an original in its cabinet; numbered within it
// (第1份之复制件1), with 复制单位 and date; registered until scanned in at the desk; its label
// validates and says 复制件 (reproductions of the issue: 第3份/共2份, a copy of a lent original,
// 在柜 without a scan, `copy 3 of 2` on the label).
func TestReproductionsAsCopies(t *testing.T) {
	e, items := lifecycleEnv(t)
	ctx := context.Background()
	e.api.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	one, two := items[0].ID, items[1].ID
	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	e.handover("borrow", `,"due":"`+due+`"`, two)
	approve := func(item int64) int64 {
		var ap register.Approval
		e.decode(e.do("wang.fang", "POST", "/api/v1/approvals", fmt.Sprintf(`{"kind":"reproduce","items":[%d],"copies":1,"reason":"分送研究室"}`, item), nil), 201, &ap)
		e.must("li.ming", "POST", fmt.Sprintf("/api/v1/approvals/%d/decide", ap.ID), `{"approve":true,"note":"同意复制"}`, 200)
		return ap.ID
	}
	// From a copy lent out: refused, even with an approval.
	ap := approve(two)
	status, eb := e.errorOf(e.do("wang.fang", "POST", "/api/v1/reproductions", fmt.Sprintf(`{"approval":%d,"cabinet":"C-01","unit":"文印室"}`, ap), nil))
	if status != 422 || !strings.Contains(eb.Error.Message, "只能从在柜的原件复制") {
		t.Errorf("reproducing a lent copy: got %d %q, want 422", status, eb.Error.Message)
	}
	ap = approve(one)
	status, eb = e.errorOf(e.do("wang.fang", "POST", "/api/v1/reproductions", fmt.Sprintf(`{"approval":%d,"cabinet":"C-01"}`, ap), nil))
	if status != 400 || !strings.Contains(eb.Error.Message, "复制单位") {
		t.Errorf("reproduction without 复制单位: got %d %q, want 400", status, eb.Error.Message)
	}
	var copies []register.Item
	e.decode(e.do("wang.fang", "POST", "/api/v1/reproductions", fmt.Sprintf(`{"approval":%d,"cabinet":"C-01","unit":"办公室文印室","date":"2026-11-20"}`, ap), nil), 201, &copies)
	c := copies[0]
	if c.Copy != 1 || c.Copies != 3 || c.Reproduction != 1 || c.ReproUnit != "办公室文印室" || c.ReproOn != "2026-11-20" || c.State != custody.Registered {
		t.Fatalf("copy: got %+v, want 第1份之复制件1 of 3 by 办公室文印室, registered", c)
	}
	// Not 在柜 by a typed store: only scanned in at the desk.
	status, _ = e.errorOf(e.do("wang.fang", "POST", "/api/v1/items/store", fmt.Sprintf(`{"cabinet":"C-01","items":[%d]}`, c.ID), nil))
	if status != 422 {
		t.Errorf("typed store of a copy: got %d, want 422", status)
	}
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"store","cabinet":"C-01"}`, nil), 201, &s)
	if _, err := e.api.reg.DeskScan(ctx, "D-01", c.Barcode, "agent:desk-1"); err != nil {
		t.Fatalf("the desk scanner reads the copy's label: %v", err)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{}`, nil), 200, &s)
	var it register.Item
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d", c.ID), "", nil), 200, &it)
	if it.State != custody.InCabinet || it.Cabinet != "C-01" {
		t.Errorf("copy after scanning in: got %s in %q", it.State, it.Cabinet)
	}
	// A copy of a copy: refused.
	ap2 := approve(c.ID)
	if status, _ := e.errorOf(e.do("wang.fang", "POST", "/api/v1/reproductions", fmt.Sprintf(`{"approval":%d,"cabinet":"C-01","unit":"x"}`, ap2), nil)); status != 422 {
		t.Errorf("reproducing a reproduction: got %d, want 422", status)
	}
	// Its label validates and is marked as a copy.
	tag, err := epc.DecodeHex(it.EPC)
	if err != nil {
		t.Fatal(err)
	}
	l := labels.Label{Copy: it.Copy, Copies: it.Copies, Reproduction: it.Reproduction, DocumentNumber: it.Document, Level: it.Level.Text().ZH, EPC: tag}
	if err := l.Validate(); err != nil {
		t.Fatalf("label of the copy: %v", err)
	}
	tpl := labels.Template{CopyFormat: "第{copy}份/共{copies}份"}
	if got := tpl.CopyText(l); got != "第1份之复制件1/共3份" {
		t.Errorf("label copy line: got %q, want 第1份之复制件1/共3份", got)
	}
}
