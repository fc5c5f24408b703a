package api

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
)

func TestAlertRoutes(t *testing.T) {
	e := newEnv(t)
	e.must("wang.fang", "POST", "/api/v1/documents", goodDoc, 201)
	// A confirmed finding as the checker would record it after two rounds.
	book := alert.NewBook(e.api.st, nil, nil)
	f := reconcile.Finding{Kind: reconcile.Missing, Subject: "item/1", Confidence: reconcile.Confirmed, Cabinet: "C-01", Agent: "agent-a", ItemID: 1, Item: "国保〔2026〕7号/1",
		Level: custody.Secret, At: time.Now(), Text: custody.Text{ZH: "缺失", EN: "missing"},
		Evidence: reconcile.Evidence{Misses: 2, PUnread: 0.0001, Rounds: []reconcile.RoundStats{{Round: "n1", Passes: 5, Complete: true, ReadRate: 0.6, PUnread: 0.01}, {Round: "c1", Passes: 5, Complete: true, ReadRate: 0.6, PUnread: 0.01}}}}
	if err := book.Apply(context.Background(), alert.Evaluation{Findings: []reconcile.Finding{f}}); err != nil {
		t.Fatal(err)
	}

	var list []alert.Alert
	e.decode(e.do("zhao.lei", "GET", "/api/v1/alerts?active=1&kind=missing", "", nil), 200, &list)
	if len(list) != 1 || list[0].Count != 1 || list[0].Severity != alert.Critical {
		t.Fatalf("auditor: got alerts %+v, want the one critical missing alert", list)
	}
	id := list[0].ID
	e.must("admin", "GET", "/api/v1/alerts", "", 403)
	e.must("zhao.lei", "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", id), `{"note":"看过了"}`, 403)
	e.must("wang.fang", "GET", "/api/v1/alerts?state=bogus", "", 400)
	e.must("wang.fang", "GET", "/api/v1/findings?kind=bogus", "", 400)
	e.must("wang.fang", "GET", "/api/v1/alerts/999", "", 404)

	var d AlertDetail
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/alerts/%d", id), "", nil), 200, &d)
	if len(d.Findings) != 1 || d.Findings[0].Evidence.Misses != 2 || len(d.Findings[0].Evidence.Rounds) != 2 || len(d.History) != 1 || d.History[0].Event != "opened" {
		t.Errorf("got detail %+v, want the finding with both rounds of evidence and the opening in the history", d)
	}

	resp := e.do("li.ming", "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", id), `{"note":" "}`, map[string]string{"Accept-Language": "zh-CN"})
	if code, body := e.errorOf(resp); code != 400 || body.Error.Message != "请填写处理说明" {
		t.Errorf("got %d %q acknowledging without a note, want 400 请填写处理说明", code, body.Error.Message)
	}
	// custodyd's book: the acknowledgement must wake its escalator, not wait for the next tick.
	woken := make(chan struct{}, 4)
	book.OnChange(func() { woken <- struct{}{} })
	e.api.opt.Alerts = book
	var a alert.Alert
	e.decode(e.do("li.ming", "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", id), `{"note":"已安排核查"}`, nil), 200, &a)
	select {
	case <-woken:
	default:
		t.Errorf("the acknowledgement did not tell custodyd's alert book's listeners (the escalator)")
	}
	if a.State != alert.Acknowledged || a.AckedBy != "li.ming" || a.AckNote != "已安排核查" {
		t.Errorf("got %+v, want acknowledged by li.ming with the note", a)
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", id), `{"note":"文件在阅文室找到，已归还入柜"}`, nil), 200, &a)
	if a.State != alert.Resolved || a.ResolvedBy != "wang.fang" {
		t.Errorf("got %+v, want resolved by wang.fang", a)
	}
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", id), `{"note":"again"}`, 409)

	// Nothing on these routes holds a title.
	for _, p := range []string{"/api/v1/alerts", fmt.Sprintf("/api/v1/alerts/%d", id), "/api/v1/findings", "/api/v1/inventory/runs"} {
		resp := e.do("wang.fang", "GET", p, "", nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), "关于加强保密管理的通知") {
			t.Errorf("GET %s: got %d %s, want 200 without the title", p, resp.StatusCode, b)
		}
	}
}
