// Package report renders the custodian's printed papers — handover receipts, the register (台账),
// holdings, overdue lists, recall progress and destruction certificates — as PDF (zh-CN text in an
// embedded TrueType CJK font) and as CSV.
//
// Contract: a Table is plain data (strings); papers.go builds the standard papers from what package
// register returns, and register has already decided what the reader may see (titles are filled
// only for roles allowed to read them) — this package only lays it out. It reads the font file
// and nothing else: no clock, no database.
package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
)

// DefaultFontPath is the TrueType 宋体 face of Debian's fonts-arphic-gbsn00lp, the font the labels
// use: fpdf embeds only TrueType outlines (not TTC collections or CFF OpenType), and this face
// covers GB2312 and Latin digits.
const DefaultFontPath = "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"

// Field is a labelled value printed above the table ("交接编号: 12").
type Field struct {
	Label string
	Value string
}

// Table is one printable paper.
type Table struct {
	Title      string     // 标题, e.g. "涉密文件交接单"
	Marking    string     // the secrecy mark of the paper (密级★保密期限, "机密★10年"), printed top left and first in a CSV
	Fields     []Field    // header fields
	Columns    []string   // column heads
	Rows       [][]string // cells, one slice per row, as many as Columns
	Notes      []string   // lines after the table
	Signatures []string   // signature lines at the end ("交付人（签字）")
	Landscape  bool
}

// CSV writes the table as CSV: a UTF-8 byte-order mark first (spreadsheet programs in zh-CN
// locales need it to read UTF-8), the secrecy mark of its rows alone on the first line (an export
// is a carrier like the paper and is marked like it), the header fields as "label,value" lines, a
// blank line, then the column heads and rows.
func CSV(w io.Writer, t Table) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	// Every cell goes through csvCell: a title like =HYPERLINK(…) must stay text in a spreadsheet.
	cw := csv.NewWriter(w)
	if t.Marking != "" {
		cw.Write(csvRow([]string{t.Marking}))
	}
	if t.Title != "" {
		cw.Write(csvRow([]string{t.Title}))
	}
	for _, f := range t.Fields {
		cw.Write(csvRow([]string{f.Label, f.Value}))
	}
	if t.Title != "" || len(t.Fields) > 0 {
		cw.Write(nil)
	}
	cw.Write(csvRow(t.Columns))
	for _, r := range t.Rows {
		if err := cw.Write(csvRow(r)); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

var (
	fontMu    sync.Mutex
	fontCache = map[string][]byte{}
)

func loadFont(path string) ([]byte, error) {
	if path == "" {
		path = DefaultFontPath
	}
	fontMu.Lock()
	defer fontMu.Unlock()
	if b, ok := fontCache[path]; ok {
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: font: %w (install fonts-arphic-gbsn00lp or configure a TrueType CJK font)", err)
	}
	if bytes.HasPrefix(b, []byte("ttcf")) || bytes.HasPrefix(b, []byte("OTTO")) {
		return nil, fmt.Errorf("report: font %s is a TTC collection or CFF OpenType; the PDF needs a plain TrueType (.ttf) font", path)
	}
	fontCache[path] = b
	return b, nil
}

// PDF renders the table on A4 with the font at fontPath ("" for DefaultFontPath). Text the font
// cannot show is printed as a replacement glyph and cells longer than MaxCell are cut with
// CutMark (glyphs.go); a failure inside the PDF library is an error, never a panic.
func PDF(w io.Writer, t Table, fontPath string) (err error) {
	font, err := loadFont(fontPath)
	if err != nil {
		return err
	}
	t = fontCoverage(fontPath, font).printable(t)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("render %s: the PDF library failed: %v", t.Title, p)
		}
	}()
	orient := "P"
	if t.Landscape {
		orient = "L"
	}
	pdf := fpdf.New(orient, "mm", "A4", "")
	pdf.SetTitle(t.Title, true)
	pdf.SetCreator("custody", true)
	pdf.AddUTF8FontFromBytes("cjk", "", font)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("cjk", "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf("第 %d 页 共 {nb} 页", pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pageW, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	width := pageW - left - right

	widths := columnWidths(pdf, t, width)
	header := func() {
		pdf.SetFont("cjk", "", 9)
		pdf.SetFillColor(230, 230, 230)
		for i, c := range t.Columns {
			pdf.CellFormat(widths[i], 7, fit(pdf, c, widths[i]), "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
	}
	// The mark stands on every page, not only the first: a page of a long list taken alone still
	// says how it is classified (the first page prints it above the title).
	pdf.SetHeaderFunc(func() {
		if t.Marking == "" || pdf.PageNo() == 1 {
			return
		}
		pdf.SetFont("cjk", "", 10)
		pdf.SetTextColor(180, 0, 0)
		pdf.CellFormat(0, 6, t.Marking, "", 1, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	if t.Marking != "" {
		pdf.SetFont("cjk", "", 12)
		pdf.SetTextColor(180, 0, 0)
		pdf.CellFormat(0, 6, t.Marking, "", 1, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.SetFont("cjk", "", 16)
	pdf.CellFormat(0, 10, t.Title, "", 1, "C", false, 0, "")
	pdf.SetFont("cjk", "", 10)
	for i := 0; i < len(t.Fields); i += 2 {
		for j := i; j < i+2 && j < len(t.Fields); j++ {
			f := t.Fields[j]
			pdf.CellFormat(width/2, 6, fit(pdf, f.Label+"："+f.Value, width/2), "", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(2)
	if len(t.Columns) > 0 {
		header()
		pdf.SetFont("cjk", "", 9)
		_, pageH := pdf.GetPageSize()
		const lineH = 5.0
		for _, r := range t.Rows {
			// Long cells (titles) wrap instead of being cut: a printed register shows them whole.
			cells := make([][]string, len(t.Columns))
			lines := 1
			for i := range t.Columns {
				cell := ""
				if i < len(r) {
					cell = r[i]
				}
				cells[i] = wrap(pdf, cell, widths[i]-2)
				lines = max(lines, len(cells[i]))
			}
			h := float64(lines)*lineH + 2
			if pdf.GetY()+h > pageH-20 {
				pdf.AddPage()
				header()
				pdf.SetFont("cjk", "", 9)
			}
			x, y := pdf.GetXY()
			for i, cl := range cells {
				pdf.Rect(x, y, widths[i], h, "D")
				for j, text := range cl {
					pdf.SetXY(x+1, y+1+float64(j)*lineH)
					pdf.CellFormat(widths[i]-2, lineH, text, "", 0, "L", false, 0, "")
				}
				x += widths[i]
			}
			pdf.SetXY(left, y+h)
		}
	}
	pdf.SetFont("cjk", "", 10)
	pdf.Ln(3)
	// Notes are wrapped by character here: fpdf's MultiCell dropped the character at each break
	// of a line without spaces (a Chinese note lost one character per line).
	for _, n := range t.Notes {
		for _, line := range wrap(pdf, n, width) {
			pdf.CellFormat(width, 6, line, "", 1, "L", false, 0, "")
		}
	}
	if len(t.Signatures) > 0 {
		pdf.Ln(8)
		per := width / 2
		for i, s := range t.Signatures {
			pdf.CellFormat(per, 10, s+"：________________", "", 0, "L", false, 0, "")
			if i%2 == 1 {
				pdf.Ln(-1)
			}
		}
		pdf.Ln(-1)
		pdf.CellFormat(per, 10, "日期：________________", "", 1, "L", false, 0, "")
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("render %s: %w", t.Title, err)
	}
	return pdf.Output(w)
}

// columnWidths shares the page width among the columns in proportion to their widest text (a
// long column counts as at most maxColumn, since it wraps), with a floor so short columns stay
// readable.
func columnWidths(pdf *fpdf.Fpdf, t Table, width float64) []float64 {
	const maxColumn = 70.0
	n := len(t.Columns)
	if n == 0 {
		return nil
	}
	pdf.SetFont("cjk", "", 9)
	want := make([]float64, n)
	for i, c := range t.Columns {
		want[i] = pdf.GetStringWidth(c) + 4
	}
	for _, r := range t.Rows {
		for i := 0; i < n && i < len(r); i++ {
			if w := min(pdf.GetStringWidth(r[i])+4, maxColumn); w > want[i] {
				want[i] = w
			}
		}
	}
	total := 0.0
	for i := range want {
		if want[i] < 12 {
			want[i] = 12
		}
		total += want[i]
	}
	for i := range want {
		want[i] = want[i] * width / total
	}
	return want
}

// wrap breaks text into lines no wider than w, by characters (Chinese has no spaces to break at).
func wrap(pdf *fpdf.Fpdf, s string, w float64) []string {
	if s == "" || pdf.GetStringWidth(s) <= w {
		return []string{s}
	}
	var lines []string
	var cur []rune
	for _, r := range s {
		if len(cur) > 0 && pdf.GetStringWidth(string(append(cur, r))) > w {
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		cur = append(cur, r)
	}
	return append(lines, string(cur))
}

// fit clips text to a cell, ending with "…" when it was cut.
func fit(pdf *fpdf.Fpdf, s string, w float64) string {
	if pdf.GetStringWidth(s) <= w-2 {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && pdf.GetStringWidth(string(r)+"…") > w-2 {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}
