package ledger_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/custodyhq/custody/internal/ledger"
)

const csvLedger = "发文字号,标题,密级,份数,份号,保密期限,发文单位,成文日期,来文单位,收文日期,存放柜,持有人,序号\n" +
	"京办发〔2025〕12号,关于做好年度保密检查工作的通知,机密,20,3-5,10年,BGS,2025-03-01,市委机要局,2025/3/3,C-01,,1\n" +
	",,,,,,,,,,,,\n" +
	"京办发〔2025〕13号,\"关于会议安排的通知，附件\",秘密,5,2,5年,BGS,2025-03-02,市委机要局,,C-01,张伟,2\n"

func TestDecodeCSVUTF8AndBOM(t *testing.T) {
	for name, data := range map[string][]byte{"utf-8": []byte(csvLedger), "bom": append([]byte("\xEF\xBB\xBF"), csvLedger...)} {
		s, err := ledger.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Format != "csv" || s.Encoding != "utf-8" || len(s.Rows) != 2 || s.Rows[0].Line != 2 || s.Rows[1].Line != 4 {
			t.Fatalf("%s: got %+v, want 2 csv rows on lines 2 and 4 (the blank line skipped)", name, s)
		}
		if got := s.Rows[1].Cells[ledger.Title]; got != "关于会议安排的通知，附件" {
			t.Errorf("%s: title got %q", name, got)
		}
		if len(s.Ignored) != 1 || s.Ignored[0] != "序号" {
			t.Errorf("%s: ignored columns got %v, want [序号]", name, s.Ignored)
		}
	}
}

// A CSV saved by Excel on a Chinese Windows is GBK: it is read, and said so.
func TestDecodeCSVGBK(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csvLedger))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Decode(gbk)
	if err != nil {
		t.Fatal(err)
	}
	if s.Encoding != "gbk" || s.Rows[0].Cells[ledger.Number] != "京办发〔2025〕12号" {
		t.Fatalf("got encoding %s, number %q; want gbk and the number read right", s.Encoding, s.Rows[0].Cells[ledger.Number])
	}
}

func TestDecodeRefusesClearly(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		zh   string
	}{
		{"empty", nil, "文件为空"},
		{"too large", bytes.Repeat([]byte("a"), ledger.MaxFileBytes+1), "文件过大"},
		{"old xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, "另存为 .xlsx"},
		{"utf-16", []byte{0xFF, 0xFE, 'a', 0}, "UTF-16"},
		{"not a ledger", []byte("a,b,c\n1,2,3\n"), "找不到表头"},
		{"missing columns", []byte("发文字号,标题,密级\nX,Y,机密\n"), "缺少必填列：份数、份号"},
		{"latin-1 bytes", []byte("a\xe9\x80,\xfd\n"), "无法识别文件编码"},
		{"broken zip", []byte("PK\x03\x04garbage"), "无法打开 Excel"},
		{"column twice", []byte("发文字号,标题,密级,份号,文号\n"), "两次"},
	} {
		_, err := ledger.Decode(c.data)
		le, ok := err.(*ledger.Error)
		if !ok || !strings.Contains(le.Text.ZH, c.zh) || le.Text.EN == "" {
			t.Errorf("%s: got %v, want a refusal containing %q", c.name, err, c.zh)
		}
	}
}

func TestDecodeTooManyRows(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("发文字号,标题,密级,份数,份号,保密期限,发文单位,成文日期,来文单位,存放柜\n")
	for range ledger.MaxRows + 1 {
		b.WriteString("X,Y,机密,1,1,1年,BGS,2025-01-01,Z,C-01\n")
	}
	if _, err := ledger.Decode(b.Bytes()); err == nil || !strings.Contains(err.(*ledger.Error).Text.ZH, "行数过多") {
		t.Fatalf("got %v, want too many rows", err)
	}
}

// The template decodes as a ledger with no rows; a formula cell comes back as "=…".
func TestTemplateRoundTripAndFormula(t *testing.T) {
	tpl, err := ledger.Template()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Decode(tpl)
	if err != nil {
		t.Fatalf("the template does not decode: %v", err)
	}
	if len(s.Rows) != 0 || s.Format != "xlsx" || len(s.Ignored) != 0 {
		t.Fatalf("template: got %+v, want no rows and no unknown column", s)
	}
	f, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.SetSheetRow(ledger.TemplateSheet, "A2", &[]any{"X", "Y", "机密", 1, 1, "1年", "BGS", "2025-01-01", "Z", "", "C-01"})
	_ = f.SetCellFormula(ledger.TemplateSheet, "B2", `HYPERLINK("http://evil","x")`)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	s, err = ledger.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 1 || !strings.HasPrefix(s.Rows[0].Cells[ledger.Title], "=HYPERLINK") {
		t.Fatalf("got %+v, want the formula cell read as =HYPERLINK…", s.Rows)
	}
}

// FuzzDecode: whatever the bytes, Decode returns a sheet or an *Error, never panics, and every
// cell it returns is valid UTF-8 within MaxCellRunes, every row number past the heading.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(csvLedger))
	f.Add([]byte("发文字号,标题,密级,份数,份号\n\"unterminated,x\n"))
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csvLedger))
	f.Add(gbk)
	if tpl, err := ledger.Template(); err == nil {
		f.Add(tpl)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ledger.Decode(data)
		if err != nil {
			if _, ok := err.(*ledger.Error); !ok {
				t.Fatalf("got %T %v, want *ledger.Error", err, err)
			}
			return
		}
		if len(s.Rows) > ledger.MaxRows {
			t.Fatalf("%d rows", len(s.Rows))
		}
		for _, r := range s.Rows {
			if r.Line <= s.Header {
				t.Fatalf("row %d at or above the heading %d", r.Line, s.Header)
			}
			for k, v := range r.Cells {
				if !utf8.ValidString(v) || utf8.RuneCountInString(v) > ledger.MaxCellRunes {
					t.Fatalf("cell %s: %q", k, v)
				}
			}
		}
	})
}

// A ledger as offices keep it: 发文字号 and 标题 merged down the rows of a document's copies,
// a title wrapped with Alt+Enter. Every row reads the merged value; the title is one line.
func TestDecodeMergedCellsAndWrappedTitles(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"发文字号", "标题", "密级", "份数", "份号", "保密期限", "发文单位", "成文日期", "来文单位", "存放柜"})
	for i, copyNo := range []int{3, 4, 5} {
		_ = f.SetSheetRow("Sheet1", "C"+string(rune('2'+i)), &[]any{"机密", 20, copyNo, "10年", "BGS", "2025-03-01", "市委机要局", "C-01"})
	}
	_ = f.SetCellStr("Sheet1", "A2", "京办发〔2025〕12号")
	_ = f.SetCellStr("Sheet1", "B2", "关于做好年度保密\n检查工作的通知 (Annual\ninspection)")
	_ = f.MergeCell("Sheet1", "A2", "A4")
	_ = f.MergeCell("Sheet1", "B2", "B4")
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(s.Rows))
	}
	for _, r := range s.Rows {
		if r.Cells[ledger.Number] != "京办发〔2025〕12号" || r.Cells[ledger.Title] != "关于做好年度保密检查工作的通知 (Annual inspection)" {
			t.Errorf("row %d: got %q %q, want the merged number and the title on one line", r.Line, r.Cells[ledger.Number], r.Cells[ledger.Title])
		}
	}
}
