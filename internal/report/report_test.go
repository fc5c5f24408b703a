package report

import (
	"bytes"
	"encoding/csv"
	"os/exec"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// pdfText extracts the text of a PDF with poppler's pdftotext, as a person copying it would.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	return string(out)
}

func closedSession() register.Session {
	s := register.Session{ID: 12, Desk: "D-01", Purpose: register.PurposeBorrow, State: "closed", Custodian: "wang.fang", CustodianName: "王芳",
		Counterpart: "zhang.wei", CounterpartName: "张伟", Due: "2026-11-30T10:00:00Z", Closed: "2026-11-26T09:30:00Z", Count: 2}
	for i := 1; i <= 2; i++ {
		s.Items = append(s.Items, register.SessionItem{Item: register.Item{ID: int64(i), Document: "京办发〔2026〕7号", Copy: i, Copies: 2, Level: custody.Secret, State: custody.CheckedOut, Term: "10年"},
			Title: "关于加强涉密载体管理的通知"})
	}
	return s
}

func TestReceiptRendersInChinese(t *testing.T) {
	var buf bytes.Buffer
	if err := PDF(&buf, Receipt(closedSession(), sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"涉密文件交接单", "机密★10年", "京办发〔2026〕7号", "关于加强涉密载体管理的通知", "王芳（wang.fang）", "张伟（zhang.wei）", "借阅", "共 2 份",
		// Stored 10:00Z and 09:30Z: shown as Beijing time whatever the host's zone, and named.
		"2026-11-30 18:00", "2026-11-26 17:30", "北京时间", "交付人（签字）", "接收人（签字）", "第 1 页 共 1 页"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt text lacks %q; got:\n%s", want, text)
		}
	}
}

func TestLedgerPagesAndCSV(t *testing.T) {
	var rows []register.LedgerRow
	for i := 1; i <= 60; i++ {
		rows = append(rows, register.LedgerRow{Item: register.Item{ID: int64(i), Document: "国保〔2026〕1号", Copy: i, Copies: 60, Level: custody.TopSecret, State: custody.InCabinet, Cabinet: "C-01"},
			IssuingUnit: "BGS", Unit: "BGS", IssuedOn: "2026-11-01", SecrecyTerm: "30年"})
	}
	tbl := Ledger("涉密文件台账", []Field{{"单位", "BGS"}}, rows, sitetime.Zone{})
	var buf bytes.Buffer
	if err := PDF(&buf, tbl, ""); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"涉密文件台账", "绝密", "在柜", "共 60 份", "第 2 页 共"} {
		if !strings.Contains(text, want) {
			t.Errorf("ledger text lacks %q", want)
		}
	}
	buf.Reset()
	if err := CSV(&buf, tbl); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
		t.Errorf("CSV: got no UTF-8 byte-order mark, want one for spreadsheets")
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// the mark, title, 1 field, blank line skipped by the reader, heads, 60 rows
	if len(recs) != 64 || recs[3][1] != "发文字号" || recs[4][3] != "绝密" {
		t.Errorf("CSV: got %d records, heads %v, first row %v; want 64, heads with 发文字号, level 绝密", len(recs), recs[3], recs[4])
	}
	// An export is marked like the paper: the highest level of its rows with its term, first.
	if got := recs[0]; len(got) != 1 || got[0] != "绝密★30年" {
		t.Errorf("CSV first line: got %q, want the mark 绝密★30年", got)
	}
}

func TestNoTitleWhenTheRegisterLeftItOut(t *testing.T) {
	s := closedSession()
	for i := range s.Items {
		s.Items[i].Title = "" // as the register returns it to the 三员
	}
	var buf bytes.Buffer
	if err := PDF(&buf, Receipt(s, sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, buf.Bytes()); strings.Contains(text, "关于加强") {
		t.Errorf("got a title in the receipt, want none")
	}
}

func TestFontMustBeTrueType(t *testing.T) {
	err := PDF(&bytes.Buffer{}, Receipt(closedSession(), sitetime.Zone{}), "/nonexistent/font.ttf")
	if err == nil || !strings.Contains(err.Error(), "fonts-arphic-gbsn00lp") {
		t.Errorf("got %v, want an error naming the font package", err)
	}
}
