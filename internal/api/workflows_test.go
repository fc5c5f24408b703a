package api

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// A borrowing at the desk over HTTP: receive, open, scan (typed), close with the reader's PIN,
// print the receipt; refusals arrive with their code in the caller's language; the 三员 are kept
// out of the desk.
func TestDeskHandoverOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.named("zhang.wei", "张伟", "BGS", "holder")
	e.must("admin", "POST", "/api/v1/badges", `{"username":"zhang.wei","code":"B-0042"}`, 200)
	e.must("zhang.wei", "POST", "/api/v1/me/badge-pin", `{"new":"2468"}`, 200)
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	e.must("wang.fang", "POST", "/api/v1/desks", `{"code":"D-01","name":"机要室工作台","room":"R301"}`, 201)
	var recv registerResponse
	e.decode(e.do("wang.fang", "POST", "/api/v1/documents/receive", `{"document":`+goodDoc+`,"cabinet":"C-01","from":"市委机要局"}`, nil), 201, &recv)
	if len(recv.Items) != 3 || recv.Items[0].State != custody.InCabinet {
		t.Fatalf("receive: got %+v, want 3 copies in the cabinet", recv.Items)
	}

	due := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	var s register.Session
	e.decode(e.do("wang.fang", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow","due":"`+due+`"}`, nil), 201, &s)
	e.must("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"B-0042"}`, 200)
	var res register.ScanResult
	for _, id := range []int64{recv.Items[0].ID, recv.Items[1].ID} {
		e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, id), nil), 200, &res)
	}
	if res.Session.Count != 2 {
		t.Errorf("running count: got %d, want 2", res.Session.Count)
	}
	status, eb := e.errorOf(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), fmt.Sprintf(`{"data":"%d"}`, recv.Items[1].ID), map[string]string{"Accept-Language": "en"}))
	if status != 409 || !strings.Contains(eb.Error.Message, "already scanned") {
		t.Errorf("second scan of a label: got %d %q, want 409 already scanned", status, eb.Error.Message)
	}
	status, eb = e.errorOf(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"1111"}`, nil))
	if status != 403 || !strings.Contains(eb.Error.Message, "PIN 不正确") {
		t.Errorf("wrong PIN: got %d %q, want 403 PIN 不正确", status, eb.Error.Message)
	}
	// The 三员 never run a handover, a leader cannot scan.
	for _, c := range []struct{ user, method, path, body string }{
		{"zhao.lei", "POST", "/api/v1/sessions", `{"desk":"D-01","purpose":"borrow"}`},
		{"li.ming", "POST", fmt.Sprintf("/api/v1/sessions/%d/scans", s.ID), `{"data":"1"}`},
		{"zhao.lei", "GET", "/api/v1/reports/ledger", ""},
	} {
		if status, _ := e.errorOf(e.do(c.user, c.method, c.path, c.body, nil)); status != 403 {
			t.Errorf("%s %s by %s: got %d, want 403", c.method, c.path, c.user, status)
		}
	}
	e.decode(e.do("wang.fang", "POST", fmt.Sprintf("/api/v1/sessions/%d/close", s.ID), `{"pin":"2468"}`, nil), 200, &s)
	if s.State != "closed" || s.Items[0].State != custody.CheckedOut || s.Items[0].Holder != "zhang.wei" {
		t.Fatalf("closed: got %s, item %s with %q; want closed, checked out to zhang.wei", s.State, s.Items[0].State, s.Items[0].Holder)
	}

	resp := e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/sessions/%d/receipt", s.ID), "", nil)
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("receipt: got %d %s, want a PDF", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	text, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"涉密文件交接单", "国保〔2026〕7号", "张伟", "借阅", "关于加强保密管理的通知"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("receipt lacks %q", want)
		}
	}

	// Holdings of one person as CSV; the admin (one of the 三员) gets the register without titles.
	resp = e.do("li.ming", "GET", "/api/v1/reports/ledger?holder=zhang.wei&format=csv", "", nil)
	csvBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Count(csvBody, []byte("国保〔2026〕7号")) != 2 || !bytes.Contains(csvBody, []byte("个人持有涉密文件清单")) {
		t.Errorf("holdings CSV: got %d\n%s\nwant the 2 copies zhang.wei holds", resp.StatusCode, csvBody)
	}
	var rows []register.LedgerRow
	e.decode(e.do("admin", "GET", "/api/v1/reports/ledger", "", nil), 200, &rows)
	if len(rows) != 3 || rows[0].Title != "" {
		t.Errorf("ledger for the admin: got %d rows, title %q; want 3 without titles", len(rows), rows[0].Title)
	}
	// Closing the account of someone holding items is refused with the reason.
	status, eb = e.errorOf(e.do("admin", "POST", "/api/v1/people/zhang.wei/close", "", nil))
	if status != 422 || !strings.Contains(eb.Error.Message, "仍持有 2 份") {
		t.Errorf("close account while holding: got %d %q, want 422 仍持有 2 份", status, eb.Error.Message)
	}
}
