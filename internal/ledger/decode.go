package ledger

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/custodyhq/custody/internal/custody"
)

// Limits of one ledger file (docs/limits.md). A county office's whole register is a few thousand
// rows; an 8 MiB upload holds far more than that as CSV, and much more as xlsx (zip-compressed).
const (
	MaxFileBytes = 8 << 20
	MaxRows      = 10000 // data rows
	MaxColumns   = 64
	MaxCellRunes = 500 // longer than any field of the register (a title is at most 200)
	headerScan   = 10  // the heading row is among the first rows (a sheet often starts with a caption)
	// excelize's unzip limits: an xlsx whose parts inflate past these is refused, not read.
	unzipLimit    = 64 << 20
	unzipXMLLimit = 32 << 20
)

// Row is one data row: cells by column key, and the row number as the spreadsheet shows it
// (Excel's row number; the CSV line).
type Row struct {
	Line  int               `json:"row"`
	Cells map[string]string `json:"cells"`
}

// Sheet is a decoded ledger.
type Sheet struct {
	Format   string   `json:"format"`   // xlsx or csv
	Encoding string   `json:"encoding"` // utf-8, gbk (a CSV saved by Excel on a Chinese Windows)
	Header   int      `json:"header"`   // the heading row's number
	Ignored  []string `json:"ignored_columns,omitempty"`
	Rows     []Row    `json:"rows"`

	headKeys []string // the column key of each heading cell ("" unknown), for markFormulas
}

// Error is a file that cannot be read as a ledger at all; rows with problems are the register's
// concern, not an Error.
type Error struct{ Text custody.Text }

func (e *Error) Error() string { return e.Text.EN }

func fail(zh, en string, args ...any) *Error {
	return &Error{custody.Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}}
}

// Decode reads a ledger file. The format is taken from the bytes, not the name: an xlsx is a zip
// (PK), an old .xls is an OLE compound file (refused: save as .xlsx), anything else is CSV.
func Decode(data []byte) (Sheet, error) {
	switch {
	case len(data) == 0:
		return Sheet{}, fail("文件为空", "the file is empty")
	case len(data) > MaxFileBytes:
		return Sheet{}, fail("文件过大：最大 %d MiB，收到 %.1f MiB；请分成几个文件导入", "the file is too large: at most %d MiB, got %.1f MiB; import it in parts", MaxFileBytes>>20, float64(len(data))/(1<<20))
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return decodeXLSX(data)
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return Sheet{}, fail("这是旧版 Excel（.xls）文件或已加密的工作簿：请在 Excel 中另存为 .xlsx（或 CSV UTF-8）后导入", "this is an old Excel (.xls) file or an encrypted workbook: save it as .xlsx (or CSV UTF-8) in Excel and import that")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return Sheet{}, fail("文件是 UTF-16 编码（Excel 的“Unicode 文本”）：请另存为 “CSV UTF-8（逗号分隔）” 或 .xlsx", "the file is UTF-16 (Excel's \"Unicode Text\"): save it as \"CSV UTF-8 (comma delimited)\" or .xlsx")
	}
	return decodeCSV(data)
}

// decodeCSV reads a CSV file in UTF-8 (with or without a BOM) or, when the bytes are not UTF-8,
// in GBK (GB18030): what Excel writes for "CSV（逗号分隔）" on a Chinese Windows. A GBK file is
// accepted only if its heading row then names the template's columns, so a file in some other
// encoding is refused rather than read as nonsense.
func decodeCSV(data []byte) (Sheet, error) {
	s := Sheet{Format: "csv", Encoding: "utf-8"}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || !utf8.Valid(dec) {
			return Sheet{}, errEncoding
		}
		data, s.Encoding = dec, "gbk"
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return Sheet{}, fail("文件含有空字节，不是文本 CSV：请另存为 “CSV UTF-8（逗号分隔）” 或 .xlsx", "the file holds NUL bytes and is not a text CSV: save it as \"CSV UTF-8 (comma delimited)\" or .xlsx")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	var records [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Sheet{}, fail("CSV 第 %d 行格式错误：%v", "CSV line %d is malformed: %v", pe.StartLine, pe.Err)
			}
			return Sheet{}, fail("无法读取 CSV：%v", "cannot read the CSV: %v", err)
		}
		line, _ := r.FieldPos(0)
		records, lines = append(records, rec), append(lines, line)
		if len(records) > MaxRows+headerScan {
			return Sheet{}, errTooManyRows
		}
	}
	if err := s.fill(records, lines); err != nil {
		if s.Encoding == "gbk" && errors.Is(err, errNoHeader) {
			return Sheet{}, errEncoding
		}
		return Sheet{}, err
	}
	return s, nil
}

var (
	errEncoding = fail("无法识别文件编码（既不是 UTF-8 也不是 GBK），或不是台账文件：请在 Excel 中另存为 “CSV UTF-8（逗号分隔）” 或 .xlsx",
		"the file's encoding is not recognised (neither UTF-8 nor GBK), or it is not a ledger: save it from Excel as \"CSV UTF-8 (comma delimited)\" or .xlsx")
	errTooManyRows = fail("行数过多：一次最多导入 %d 行，请分成几个文件", "too many rows: at most %d per import; split the file", MaxRows)
	errNoHeader    = fail("前 %d 行中找不到表头：表头应含 发文字号、标题、密级、份号 等列（可下载模板：custodyctl import --template 台账模板.xlsx）",
		"no heading row among the first %d rows: it should name 发文字号, 标题, 密级, 份号 … (download the template: custodyctl import --template ledger.xlsx)", headerScan)
)

// decodeXLSX reads the first sheet that has a heading row. Cells are read raw (RawCellValue), so
// a date is its serial number whatever the cell's display format (3/2/25 is ambiguous) and is
// turned into YYYY-MM-DD for date columns. A cell holding a formula is read as "=formula", so
// the register refuses it like a CSV formula instead of trusting a cached result.
func decodeXLSX(data []byte) (Sheet, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true, UnzipSizeLimit: unzipLimit, UnzipXMLSizeLimit: unzipXMLLimit})
	if err != nil {
		if errors.Is(err, excelize.ErrWorkbookFileFormat) || strings.Contains(err.Error(), "zip") {
			return Sheet{}, fail("无法打开 Excel 文件：文件已损坏或不是 .xlsx 工作簿", "cannot open the Excel file: it is damaged or not an .xlsx workbook")
		}
		if errors.Is(err, excelize.ErrOptionsUnzipSizeLimit) || strings.Contains(err.Error(), "size limit") {
			return Sheet{}, fail("Excel 文件解压后过大，拒绝读取", "the Excel file inflates too much and is refused")
		}
		return Sheet{}, fail("无法打开 Excel 文件：%v", "cannot open the Excel file: %v", err)
	}
	defer f.Close()
	var firstErr error
	for _, name := range f.GetSheetList() {
		records, lines, formulas, err := readSheet(f, name)
		if err != nil {
			return Sheet{}, err
		}
		s := Sheet{Format: "xlsx", Encoding: "utf-8"}
		if err := s.fill(records, lines); err != nil {
			if errors.Is(err, errNoHeader) {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			return Sheet{}, err
		}
		s.markFormulas(formulas)
		return s, nil
	}
	if firstErr == nil {
		firstErr = errNoHeader
	}
	return Sheet{}, firstErr
}

type cellRef struct{ line, col int }

// readSheet reads a sheet's rows (bounded) with their row numbers and its formula cells.
func readSheet(f *excelize.File, name string) (records [][]string, lines []int, formulas map[cellRef]string, err error) {
	rows, err := f.Rows(name)
	if err != nil {
		return nil, nil, nil, fail("无法读取工作表 %q：%v", "cannot read sheet %q: %v", name, err)
	}
	defer rows.Close()
	formulas = map[cellRef]string{}
	line := 0
	for rows.Next() {
		line++
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, nil, fail("工作表 %q 第 %d 行无法读取：%v", "sheet %q row %d cannot be read: %v", name, line, err)
		}
		if len(records) > MaxRows+headerScan {
			return nil, nil, nil, errTooManyRows
		}
		if len(rec) > MaxColumns {
			rec = rec[:MaxColumns]
		}
		for c := range rec {
			ref, _ := excelize.CoordinatesToCellName(c+1, line)
			if fm, _ := f.GetCellFormula(name, ref); fm != "" {
				formulas[cellRef{line, c}] = "=" + fm
			}
		}
		records, lines = append(records, rec), append(lines, line)
	}
	if err := rows.Error(); err != nil {
		return nil, nil, nil, fail("工作表 %q 无法读取：%v", "sheet %q cannot be read: %v", name, err)
	}
	if err := spreadMerged(f, name, records, lines); err != nil {
		return nil, nil, nil, err
	}
	return records, lines, formulas, nil
}

// spreadMerged gives every cell of a merged range the value of its first cell. Ledgers merge a
// 发文字号 or 标题 down the rows of its copies; Excel keeps the value in the first cell only,
// and each row must read it.
func spreadMerged(f *excelize.File, name string, records [][]string, lines []int) error {
	merges, err := f.GetMergeCells(name, true)
	if err != nil {
		return fail("工作表 %q 的合并单元格无法读取：%v", "sheet %q: cannot read its merged cells: %v", name, err)
	}
	at := make(map[int]int, len(lines)) // row number → index in records
	for i, l := range lines {
		at[l] = i
	}
	for _, m := range merges {
		c1, r1, err1 := excelize.CellNameToCoordinates(m.GetStartAxis())
		c2, r2, err2 := excelize.CellNameToCoordinates(m.GetEndAxis())
		first, ok := at[r1]
		if err1 != nil || err2 != nil || !ok || c1 > MaxColumns || c1 > len(records[first]) {
			continue
		}
		v := records[first][c1-1]
		for r := r1; r <= r2; r++ {
			i, ok := at[r]
			if !ok {
				continue // beyond the rows read (bounded by MaxRows)
			}
			for c := c1; c <= min(c2, MaxColumns); c++ {
				for len(records[i]) < c {
					records[i] = append(records[i], "")
				}
				records[i][c-1] = v
			}
		}
	}
	return nil
}

// fill finds the heading row, maps its cells to columns and keeps the data rows under it.
func (s *Sheet) fill(records [][]string, lines []int) error {
	head := -1
	var keys []string
	for i := 0; i < len(records) && i < headerScan; i++ {
		k, n := headings(records[i])
		if n >= 3 {
			head, keys = i, k
			break
		}
	}
	if head < 0 {
		return errNoHeader
	}
	s.Header, s.headKeys = lines[head], keys
	seen := map[string]int{}
	for i, k := range keys {
		switch {
		case k == "":
			if h := clip(strings.TrimSpace(records[head][i])); h != "" {
				s.Ignored = append(s.Ignored, h)
			}
		case seen[k] > 0:
			c, _ := ColumnByKey(k)
			return fail("表头中 %s 列出现两次（第 %d 列和第 %d 列）", "the heading names %s twice (columns %d and %d)", c.ZH, seen[k], i+1)
		default:
			seen[k] = i + 1
		}
	}
	var missing []string
	for _, c := range Columns {
		if c.Required && seen[c.Key] == 0 {
			missing = append(missing, c.ZH)
		}
	}
	if len(missing) > 0 {
		return fail("表头缺少必填列：%s（可下载模板：custodyctl import --template 台账模板.xlsx）", "the heading lacks required columns: %s (download the template: custodyctl import --template ledger.xlsx)", strings.Join(missing, "、"))
	}
	for i := head + 1; i < len(records); i++ {
		row := Row{Line: lines[i], Cells: map[string]string{}}
		blank := true
		for j, k := range keys {
			if k == "" || j >= len(records[i]) {
				continue
			}
			v := clip(records[i][j])
			if strings.TrimSpace(v) != "" {
				blank = false
			}
			c, _ := ColumnByKey(k)
			if c.Date {
				v = excelDate(v)
			}
			row.Cells[k] = v
		}
		if blank { // an empty row (Excel keeps formatted empty rows) is not a ledger row
			continue
		}
		if len(s.Rows) == MaxRows {
			return errTooManyRows
		}
		s.Rows = append(s.Rows, row)
	}
	return nil
}

// markFormulas replaces formula cells of data rows by "=formula".
func (s *Sheet) markFormulas(formulas map[cellRef]string) {
	if len(formulas) == 0 {
		return
	}
	byLine := map[int]*Row{}
	for i := range s.Rows {
		byLine[s.Rows[i].Line] = &s.Rows[i]
	}
	for ref, fm := range formulas {
		if r, ok := byLine[ref.line]; ok {
			if k, ok := s.columnAt(ref.col); ok {
				r.Cells[k] = clip(fm)
			}
		}
	}
}

// columnAt is the column key of a heading cell's index.
func (s *Sheet) columnAt(col int) (string, bool) {
	if col < len(s.headKeys) && s.headKeys[col] != "" {
		return s.headKeys[col], true
	}
	return "", false
}

// headings maps a heading row's cells to column keys ("" for an unknown heading) and counts the
// known ones.
func headings(rec []string) ([]string, int) {
	keys := make([]string, len(rec))
	n := 0
	for i, h := range rec {
		h = normHeading(h)
		for _, c := range Columns {
			if h == c.ZH || h == c.Key || containsStr(c.Aliases, h) {
				keys[i] = c.Key
				n++
				break
			}
		}
	}
	return keys, n
}

// normHeading drops what offices add to a heading: spaces (份 号), a required mark (*发文字号),
// and a note in brackets (份数（共几份）).
func normHeading(h string) string {
	h = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u3000', '\t', '\n', '\r', '*', '＊':
			return -1
		}
		return r
	}, h)
	for _, open := range []string{"（", "("} {
		if i := strings.Index(h, open); i > 0 {
			h = h[:i]
		}
	}
	return strings.ToLower(h)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clip bounds a cell to MaxCellRunes (the register refuses what is too long for its field; this
// only bounds memory), makes it valid UTF-8 and joins its lines: a long title wrapped with
// Alt+Enter in Excel is one title (joined without a space between Chinese characters, with one
// between Latin words); the register refuses control characters in a field.
func clip(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	v = joinLines(v)
	if utf8.RuneCountInString(v) > MaxCellRunes {
		return string([]rune(v)[:MaxCellRunes])
	}
	return v
}

// excelDate turns an Excel serial date (45718, or 45718.75 with a time) into YYYY-MM-DD (with
// HH:MM when it has a time of day); anything else is returned as written.
func excelDate(v string) string {
	t := strings.TrimSpace(v)
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 1 || f > 2958465 || strings.ContainsAny(t, "eE+-") {
		return v
	}
	tm, err := excelize.ExcelDateToTime(f, false)
	if err != nil {
		return v
	}
	if tm.Hour() != 0 || tm.Minute() != 0 {
		return tm.Format("2006-01-02 15:04")
	}
	return tm.Format("2006-01-02")
}

// TooLarge is the refusal of a file over MaxFileBytes, for an upload cut off before Decode.
func TooLarge() custody.Text {
	return custody.Text{ZH: fmt.Sprintf("文件过大：最大 %d MiB；请分成几个文件导入", MaxFileBytes>>20), EN: fmt.Sprintf("the file is too large: at most %d MiB; import it in parts", MaxFileBytes>>20)}
}

// joinLines removes the line breaks inside a cell.
func joinLines(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' })
	var b strings.Builder
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			prev, _ := utf8.DecodeLastRuneInString(b.String())
			next, _ := utf8.DecodeRuneInString(p)
			if prev < utf8.RuneSelf && next < utf8.RuneSelf {
				b.WriteByte(' ')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}
