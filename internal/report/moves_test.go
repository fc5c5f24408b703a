package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// Issue 14 point 8: a paper says how the copy moved. A circulated copy is 传阅中 on its receipt
// and in the ledger, not 借出; a 送销 receipt is signed by the two custodians, the bureau's
// courier and the supervisor, and does not claim the courier signed with a badge; a scan-in has
// no counterpart to sign.
func TestPapersUseTheWordForTheMove(t *testing.T) {
	csvOf := func(tb Table) string {
		t.Helper()
		var buf bytes.Buffer
		if err := CSV(&buf, tb); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	s := closedSession()
	s.Purpose = register.PurposeCirculate
	for i := range s.Items {
		s.Items[i].Purpose = register.PurposeCirculate
	}
	if got := csvOf(Receipt(s, sitetime.Zone{})); !strings.Contains(got, "传阅中") || strings.Contains(got, "借出") || !strings.Contains(got, "传阅") {
		t.Errorf("receipt of a 传阅: got\n%s\nwant the copies 传阅中, never 借出", got)
	}
	rows := []register.LedgerRow{
		{Item: register.Item{ID: 1, Document: "京办发〔2026〕7号", Copy: 1, Copies: 3, Level: custody.Secret, State: custody.CheckedOut, Holder: "zhang.wei", Purpose: register.PurposeCirculate}},
		{Item: register.Item{ID: 2, Document: "京办发〔2026〕7号", Copy: 2, Copies: 3, Level: custody.Secret, State: custody.CheckedOut, Holder: "chen.jing", Purpose: register.PurposeBorrow}},
		{Item: register.Item{ID: 3, Document: "京办发〔2026〕7号", Copy: 3, Copies: 3, Level: custody.Secret, State: custody.CheckedOut, Holder: "li.na", Purpose: register.PurposeReadingRoom}},
	}
	got := csvOf(Ledger("涉密文件台账", nil, rows, sitetime.Zone{}))
	for _, want := range []string{"传阅中", "借出", "在阅文室阅读"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("ledger: got\n%s\nwant %q once", got, want)
		}
	}

	s = closedSession()
	s.Purpose, s.Courier, s.Supervisor, s.Receipt, s.Second, s.SecondName = register.PurposeDestroy, "市保密局 周强", "刘强", "BMJ-2026-0815", "li.na", "李娜"
	for i := range s.Items {
		s.Items[i].State = custody.SentForDestruction
	}
	tb := Receipt(s, sitetime.Zone{})
	if tb.Title != "涉密载体送销交接单" || strings.Join(tb.Signatures, " ") != "送销机要员（签字） 监交机要员（签字） 保密局交接人员（签字） 监销人（签字）" {
		t.Errorf("送销 receipt: got %q signed by %q, want the 送销 receipt signed by both custodians, the courier and the supervisor", tb.Title, tb.Signatures)
	}
	if got := csvOf(tb); strings.Contains(got, "交付人与接收人已刷工作证") || !strings.Contains(got, "已送销") {
		t.Errorf("送销 receipt: got\n%s\nwant no claim the courier badged, the copies 已送销", got)
	}
	s.Purpose = register.PurposeStore
	if tb := Receipt(s, sitetime.Zone{}); strings.Join(tb.Signatures, " ") != "机要员（签字）" {
		t.Errorf("scan-in receipt: got signatures %q, want the custodian's only", tb.Signatures)
	}
}
