package register_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/register"
)

// ledgerXLSX builds a workbook as an office keeps it: a caption row above the heading, headings
// with a required mark and spacing, dates as real Excel dates, and the rows given.
func ledgerXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sh := "Sheet1"
	_ = f.SetCellStr(sh, "A1", "2025年收文登记簿")
	head := []any{"序号", "*发文字号", "标题", "密级", "份数", "份 号", "保密期限", "发文单位", "成文日期", "来文单位", "收文日期", "存放柜", "持有人", "应还日期", "知悉范围", "备注"}
	if err := f.SetSheetRow(sh, "A2", &head); err != nil {
		t.Fatal(err)
	}
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yy: shown ambiguously, stored as a serial
	for i, r := range rows {
		row := append([]any{i + 1}, r...)
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := f.SetSheetRow(sh, cell, &row); err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"I", "K"} {
			_ = f.SetCellStyle(sh, col+itoa(int64(i+3)), col+itoa(int64(i+3)), dateStyle)
		}
	}
	var b strings.Builder
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

func importSheet(t testing.TB, d *desk, who string, data []byte, dry bool) (register.ImportReport, error) {
	t.Helper()
	sheet, err := ledger.Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return d.reg.ImportLedger(context.Background(), d.p[who], register.ImportRequest{Sheet: sheet, DryRun: dry, Name: "台账.xlsx", SHA256: "abc"})
}

func countItems(t testing.TB, d *desk) int {
	t.Helper()
	items, err := d.reg.Items(context.Background(), d.p["wang.fang"], register.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func auditActions(t testing.TB, d *desk) []string {
	t.Helper()
	var out []string
	if err := d.st.AuditRecords(context.Background(), 0, func(r audit.Record) error { out = append(out, r.Action); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportLedgerDryRunListsEveryRowsProblems(t *testing.T) {
	d := newDesk(t)
	issued := excelDate(t, "2025-03-01")
	rows := [][]any{
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "3-5", "10年", "BGS", issued, "市委机要局", excelDate(t, "2025-03-03"), "C-01", "", "", "", ""},
		{"京办发〔2025〕13号", "关于会议安排的通知", "特密", 5, "7", "", "无此单位", "2025/3/40", "市委机要局", "", "C-99", "", "", "", ""},
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "5", "10年", "BGS", issued, "市委机要局", "", "C-01", "", "", "", ""},
		{"=HYPERLINK(\"http://x\")", "标题", "秘密", 2, "1", "5年", "BGS", issued, "市委机要局", "", "C-01", "", "", "", ""},
		{"京办发〔2025〕14号", "关于人员调整的通知", "秘密", 3, "1", "5年", "BGS", issued, "市委机要局", "", "C-99", "", "", "", ""},
		{"京办发〔2025〕15号", "关于经费的通知", "秘密★5年", 3, "2", "", "办公室", issued, "市委机要局", "", "C-01", "不存在的人", "", "", ""},
	}
	before, audits := countItems(t, d), len(auditActions(t, d))
	rep, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), true)
	refused(t, err, register.CodeRefused, "台账第 4 行", "ledger row 4")
	want := []struct {
		row    int
		column string
		zh, en string
	}{
		{4, "密级", "特密", "invalid"},
		{4, "份号", "不在 1 到 5", "not within 1 to 5"},
		{4, "保密期限", "缺少保密期限", "missing"},
		{4, "成文日期", "不是日期", "not a date"},
		{4, "发文单位", "无此单位", "not in the register"},
		{4, "存放柜", "C-99", "C-99"},
		{5, "份号", "与第 3 行重复", "repeats row 3"},
		{6, "发文字号", "疑似公式", "formula"},
		{7, "存放柜", "C-99", "C-99"},
		{8, "持有人", "不存在的人", "not in the register"},
	}
	if len(rep.Problems) != len(want) {
		t.Fatalf("got %d problems %+v, want %d", len(rep.Problems), rep.Problems, len(want))
	}
	for i, w := range want {
		p := rep.Problems[i]
		if p.Row != w.row || p.Column != w.column || !strings.Contains(p.ZH, w.zh) || !strings.Contains(p.EN, w.en) {
			t.Errorf("problem %d: got row %d %s %q / %q, want row %d %s containing %q / %q", i, p.Row, p.Column, p.ZH, p.EN, w.row, w.column, w.zh, w.en)
		}
	}
	if got := countItems(t, d); got != before {
		t.Errorf("dry run wrote items: got %d, want %d", got, before)
	}
	if got := len(auditActions(t, d)); got != audits {
		t.Errorf("dry run wrote audit records: got %d, want %d", got, audits)
	}
}

// excelDate is a date as Excel stores it (a serial number), so the decoder's conversion is used.
func excelDate(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := timeParse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestImportLedgerRegistersCopiesWithEPCsAndLends(t *testing.T) {
	d := newDesk(t)
	d.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	issued := excelDate(t, "2025-03-01")
	due := d.now.AddDate(0, 0, 5).Format("2006-01-02")
	rows := [][]any{
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "3-5", "10年", "BGS", issued, "市委机要局", excelDate(t, "2025-03-03"), "C-01", "", "", "", ""},
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "7", "10年", "BGS", issued, "市委机要局", "", "C-01", "张伟", due, "", "借阅中"},
		{"京办发〔2025〕15号", "关于经费的通知", "秘密★5年", 3, "第2份", "", "办公室", issued, "市委机要局", "", "C-01", "chen.jing", "", "BGS", ""},
	}
	dry, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), true)
	if err != nil || len(dry.Problems) != 0 || dry.Copies != 5 || dry.Documents != 2 || dry.CheckedOut != 2 || dry.Imported {
		t.Fatalf("dry run: got %+v, %v; want 5 copies of 2 documents, 2 lent, no problems, nothing imported", dry, err)
	}
	if n := countItems(t, d); n != 0 {
		t.Fatalf("dry run wrote %d items", n)
	}
	rep, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !rep.Imported || len(rep.Items) != 5 || len(rep.Labels) != 2 {
		t.Fatalf("import: got %+v, want 5 items and 2 label commands", rep)
	}
	items, err := d.reg.Items(context.Background(), d.p["wang.fang"], register.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		doc    string
		copy   int
		state  custody.State
		holder string
	}
	want := []seen{
		{"京办发〔2025〕12号", 3, custody.InCabinet, ""}, {"京办发〔2025〕12号", 4, custody.InCabinet, ""}, {"京办发〔2025〕12号", 5, custody.InCabinet, ""},
		{"京办发〔2025〕12号", 7, custody.CheckedOut, "zhang.wei"}, {"京办发〔2025〕15号", 2, custody.CheckedOut, "chen.jing"},
	}
	if len(items) != len(want) {
		t.Fatalf("register holds %d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		it := items[i]
		if it.Document != w.doc || it.Copy != w.copy || it.State != w.state || it.Holder != w.holder || it.Cabinet != "C-01" && w.state == custody.InCabinet {
			t.Errorf("item %d: got %s 第%d份 %s %q in %q, want %+v", i, it.Document, it.Copy, it.State, it.Holder, it.Cabinet, w)
		}
		if len(it.EPC) != 24 || it.Barcode == "" {
			t.Errorf("item %d: EPC %q barcode %q, want both", i, it.EPC, it.Barcode)
		}
	}
	if items[3].Due == "" || !strings.HasPrefix(d.reg.Zone().FormatStored(items[3].Due, "2006-01-02 15:04"), due+" 18:00") {
		t.Errorf("zhang.wei's copy is due %q, want %s 18:00 site time", items[3].Due, due)
	}
	docs, _ := d.reg.Documents(context.Background(), d.p["wang.fang"])
	if len(docs) != 2 || docs[1].Level != custody.Confidential || docs[1].SecrecyTerm != "5年" {
		t.Errorf("documents: got %+v, want the second confidential with 5年 from 秘密★5年", docs)
	}
	acts := strings.Join(auditActions(t, d), " ")
	for _, a := range []string{"document.register", "document.receive", "item.checkout", "ledger.import"} {
		if !strings.Contains(acts, a) {
			t.Errorf("audit log lacks %s: %s", a, acts)
		}
	}
	// The same ledger again: every copy is already registered, nothing is written.
	before := len(auditActions(t, d))
	_, err = importSheet(t, d, "wang.fang", ledgerXLSX(t, rows[:1]), false)
	refused(t, err, register.CodeRefused, "已登记", "already registered")
	if got := auditActions(t, d); len(got) != before {
		t.Errorf("a refused import wrote audit records: %v (the API audits the refusal itself)", got[before:])
	}
}

func TestImportLedgerOneBadRowWritesNothing(t *testing.T) {
	d := newDesk(t)
	issued := excelDate(t, "2025-03-01")
	rows := [][]any{
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "1-10", "10年", "BGS", issued, "市委机要局", "", "C-01", "", "", "", ""},
		{"京办发〔2025〕16号", "关于绝密文件的通知", "绝密", 2, "1", "长期", "BGS", issued, "市委机要局", "", "C-01", "zhang.wei", "", "", ""},
	}
	_, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), false)
	refused(t, err, register.CodeRefused, "阅文室", "reading room")
	if n := countItems(t, d); n != 0 {
		t.Errorf("a refused import left %d items", n)
	}
	docs, _ := d.reg.Documents(context.Background(), d.p["wang.fang"])
	if len(docs) != 0 {
		t.Errorf("a refused import left %d documents", len(docs))
	}
}

func TestImportLedgerOnlyByACustodian(t *testing.T) {
	d := newDesk(t)
	rows := [][]any{{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "1", "10年", "BGS", "2025-03-01", "市委机要局", "", "C-01", "", "", "", ""}}
	for _, who := range []string{"liu.qiang", "zhao.lei", "sec.admin", "zhang.wei"} {
		_, err := importSheet(t, d, who, ledgerXLSX(t, rows), false)
		refused(t, err, register.CodeForbidden, "只有机要员可以导入台账", "only custodian may import a ledger")
	}
	// A custodian of another unit: the cabinet is not theirs.
	_, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), true)
	if err != nil {
		t.Fatalf("wang.fang's dry run: %v", err)
	}
	if n := countItems(t, d); n != 0 {
		t.Errorf("refused imports left %d items", n)
	}
}

func timeParse(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

// BenchmarkImportLedger1000Rows measures a real import of a thousand rows (one copy each, a
// hundred documents), the figure docs/import.md gives for how long the writer is held.
func BenchmarkImportLedger1000Rows(b *testing.B) {
	d := newDesk(b)
	var csv strings.Builder
	csv.WriteString("发文字号,标题,密级,份数,份号,保密期限,发文单位,成文日期,来文单位,存放柜\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "京办发〔2025〕%d号,关于第%d项工作的通知,机密,10,%d,10年,BGS,2025-03-01,市委机要局,C-01\n", i/10+1, i/10+1, i%10+1)
	}
	sheet, err := ledger.Decode([]byte(csv.String()))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		rep, err := d.reg.ImportLedger(context.Background(), d.p["wang.fang"], register.ImportRequest{Sheet: sheet, DryRun: true})
		if err != nil || rep.Copies != 1000 {
			b.Fatalf("got %+v, %v", rep.Problems, err)
		}
	}
}

// Dates people write are read in the site's zone, whatever the host's: at 01:30 Beijing time on
// 7 December (17:30 UTC on the 6th) a 收文日期 of the 7th is today, the 8th is refused as after
// today, and a due time 2026-12-07 18:00 is 18:00 Beijing time.
func TestImportLedgerDatesInTheSiteZone(t *testing.T) {
	d := newDesk(t)
	d.now = time.Date(2026, 12, 6, 17, 30, 0, 0, time.UTC)
	row := func(number, received, holder, due string) []any {
		return []any{number, "关于" + number + "的通知", "机密", 5, "1", "10年", "BGS", "2026-11-01", "市委机要局", received, "C-01", holder, due, "", ""}
	}
	rep, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, [][]any{
		row("京办发〔2026〕1号", "2026-12-07", "zhang.wei", "2026-12-07 18:00"),
		row("京办发〔2026〕2号", "2026-12-08", "", ""),
	}), true)
	refused(t, err, register.CodeRefused, "台账第 4 行【收文日期】：2026-12-08 晚于今天（2026-12-07，本地时间）", "after today (2026-12-07, site time)")
	if len(rep.Problems) != 1 {
		t.Fatalf("got problems %+v, want only row 4's 收文日期", rep.Problems)
	}
	rep, err = importSheet(t, d, "wang.fang", ledgerXLSX(t, [][]any{row("京办发〔2026〕1号", "2026-12-07", "zhang.wei", "2026-12-07 18:00")}), false)
	if err != nil {
		t.Fatal(err)
	}
	due, err := time.Parse(time.RFC3339, rep.Items[0].Due)
	if err != nil || !due.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("due: got %q, want 2026-12-07 18:00 Beijing time (10:00 UTC)", rep.Items[0].Due)
	}
}

// A custodian imports into their own unit's cabinets only, as they receive: a cabinet of another
// unit is refused on its row, and nothing is written.
func TestImportLedgerIntoAnotherUnitsCabinet(t *testing.T) {
	d := newDesk(t)
	if _, err := d.reg.AddCabinet(context.Background(), d.p["admin"], register.Cabinet{Code: "K-01", Name: "科技处一号柜", Room: "R401", Unit: "KJC"}); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "1", "10年", "BGS", "2025-03-01", "市委机要局", "", "C-01", "", "", "", ""},
		{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, "2", "10年", "BGS", "2025-03-01", "市委机要局", "", "K-01", "", "", "", ""},
	}
	rep, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, rows), false)
	refused(t, err, register.CodeRefused, "属于 KJC，您不是该单位的机要员", "not its custodian")
	if len(rep.Problems) != 1 || rep.Problems[0].Row != 4 || rep.Problems[0].Column != "存放柜" {
		t.Errorf("got %+v, want row 4's 存放柜 only", rep.Problems)
	}
	if n := countItems(t, d); n != 0 {
		t.Errorf("the refused import left %d items", n)
	}
}

// A row may list the copies it holds (3、5、7-8): each run is received, a number twice is refused.
func TestImportLedgerCopyLists(t *testing.T) {
	d := newDesk(t)
	row := func(copies string) []any {
		return []any{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", 20, copies, "10年", "BGS", "2025-03-01", "市委机要局", "", "C-01", "", "", "", ""}
	}
	rep, err := importSheet(t, d, "wang.fang", ledgerXLSX(t, [][]any{row("3、5，7-8")}), false)
	if err != nil || rep.Copies != 4 {
		t.Fatalf("got %+v, %v; want copies 3, 5, 7 and 8", rep, err)
	}
	var got []int
	for _, it := range rep.Items {
		got = append(got, it.Copy)
	}
	if fmt.Sprint(got) != "[3 5 7 8]" {
		t.Errorf("copies: got %v, want [3 5 7 8]", got)
	}
	_, err = importSheet(t, d, "wang.fang", ledgerXLSX(t, [][]any{row("10、9-11")}), true)
	refused(t, err, register.CodeRefused, "第10份 在本行写了两次", "written twice on this row")
}
