package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// Cells a spreadsheet would run as formulas come out of every CSV as text (OWASP): a leading
// apostrophe; other cells are untouched.
func TestCSVNeutralisesFormulas(t *testing.T) {
	evil := []string{`=HYPERLINK("http://evil.example","点击")`, `+cmd|' /C calc'!A0`, `-2+3`, `@SUM(1+1)`, "\t=1", "\r=1"}
	tbl := Table{Title: "=标题", Fields: []Field{{"=label", "+value"}}, Columns: []string{"编号", "标题"}}
	for _, e := range evil {
		tbl.Rows = append(tbl.Rows, []string{"京发〔2026〕1号", e})
	}
	tbl.Rows = append(tbl.Rows, []string{"京发〔2026〕2号", "普通标题 = 安全"})
	var buf bytes.Buffer
	if err := CSV(&buf, tbl); err != nil {
		t.Fatal(err)
	}
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
	rd.FieldsPerRecord = -1 // the header lines have one or two fields
	recs, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("a cell starts with %q: %q", c[0], c)
			}
		}
	}
	if !strings.Contains(buf.String(), `'=HYPERLINK(`) || !strings.Contains(buf.String(), "普通标题 = 安全") {
		t.Errorf("got CSV:\n%s", buf.String())
	}
}

// An emoji, characters the font lacks, invalid UTF-8 and a 300 000-character title never make a
// paper fail or panic: the unknown characters print as a replacement glyph and the long cell is
// cut with a mark, so the paper stays small.
func TestPDFWithGlyphsTheFontLacks(t *testing.T) {
	long := strings.Repeat("长", 300_000)
	tbl := Table{Title: "台账 😀", Columns: []string{"编号", "标题"}, Rows: [][]string{
		{"京发〔2026〕1号", "关于😀🔥的通知"}, {"京发〔2026〕2号", "ᚠᛇᚻ \u202e عربى \xff"}, {"京发〔2026〕3号", long}}}
	var buf bytes.Buffer
	if err := PDF(&buf, tbl, ""); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n > 2<<20 {
		t.Errorf("the paper is %d bytes: the long title was not cut", n)
	}
	text := pdfText(t, buf.Bytes())
	if !strings.Contains(text, "的通知") || !strings.Contains(strings.ReplaceAll(text, "\n", ""), "已截断") {
		t.Errorf("paper text lacks the title or the cut mark:\n%.2000s", text)
	}
}
