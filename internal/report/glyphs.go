package report

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
)

// MaxCell bounds one cell (or header field) in a printed paper: longer text is cut with CutMark,
// so a 300 000-character title cannot make a paper of hundreds of pages. The CSV keeps cells
// whole (it is data, not a paper).
const MaxCell = 400

// CutMark ends a cell that was cut.
const CutMark = "…（已截断）"

// coverage is which runes of the Basic Multilingual Plane a font has a glyph for. fpdf's CID map
// covers only that plane (a rune above it, an emoji, made it panic), and a rune without a glyph
// prints as nothing; both are printed as Replacement instead.
type coverage struct {
	has         [0x10000 / 64]uint64
	replacement string
}

var (
	coverMu sync.Mutex
	covers  = map[string]*coverage{}
)

// Replacement characters, in order of preference: the first the font has is used.
var replacements = []rune{'\uFFFD', '□', '?'}

func fontCoverage(path string, font []byte) *coverage {
	coverMu.Lock()
	defer coverMu.Unlock()
	if c, ok := covers[path]; ok {
		return c
	}
	c := &coverage{replacement: "?"}
	f, err := sfnt.Parse(font)
	if err != nil {
		// fpdf parses the font itself and reports a broken one; keep ASCII only meanwhile.
		for r := rune(0x20); r < 0x7f; r++ {
			c.has[r/64] |= 1 << (r % 64)
		}
	} else {
		var buf sfnt.Buffer
		for r := rune(0); r < 0x10000; r++ {
			if gi, err := f.GlyphIndex(&buf, r); err == nil && gi != 0 {
				c.has[r/64] |= 1 << (r % 64)
			}
		}
	}
	for _, r := range replacements {
		if c.ok(r) {
			c.replacement = string(r)
			break
		}
	}
	covers[path] = c
	return c
}

func (c *coverage) ok(r rune) bool {
	return r >= 0 && r < 0x10000 && c.has[r/64]&(1<<(r%64)) != 0
}

// clean makes s printable in the font: controls become spaces, runes the font lacks (and every
// rune above the BMP) the replacement glyph, invalid UTF-8 too; then it is cut at max runes.
func (c *coverage) clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == max {
			if len(s) > i {
				b.WriteString(CutMark)
			}
			break
		}
		n++
		switch {
		case r == utf8.RuneError:
			b.WriteString(c.replacement)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			b.WriteByte(' ')
		case c.ok(r):
			b.WriteRune(r)
		default:
			b.WriteString(c.replacement)
		}
	}
	return b.String()
}

// printable returns t with every text cleaned for the font (cells cut at MaxCell).
func (c *coverage) printable(t Table) Table {
	cl := func(s string) string { return c.clean(s, MaxCell) }
	out := t
	out.Title, out.Marking = cl(t.Title), cl(t.Marking)
	out.Fields = make([]Field, len(t.Fields))
	for i, f := range t.Fields {
		out.Fields[i] = Field{Label: cl(f.Label), Value: cl(f.Value)}
	}
	out.Columns = make([]string, len(t.Columns))
	for i, s := range t.Columns {
		out.Columns[i] = cl(s)
	}
	out.Rows = make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		out.Rows[i] = make([]string, len(r))
		for j, s := range r {
			out.Rows[i][j] = cl(s)
		}
	}
	out.Notes = make([]string, len(t.Notes))
	for i, s := range t.Notes {
		out.Notes[i] = c.clean(s, 4*MaxCell)
	}
	out.Signatures = make([]string, len(t.Signatures))
	for i, s := range t.Signatures {
		out.Signatures[i] = cl(s)
	}
	return out
}

// csvCell neutralises a cell a spreadsheet would read as a formula (OWASP "CSV injection"): one
// starting with = + - @, a tab or a carriage return gets a leading apostrophe, which spreadsheets
// show as text and do not run.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvRow(r []string) []string {
	out := make([]string, len(r))
	for i, s := range r {
		out[i] = csvCell(s)
	}
	return out
}
