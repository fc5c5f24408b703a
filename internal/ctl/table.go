package ctl

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// table lines up columns by display width: text/tabwriter counts runes, and a Chinese character
// takes two terminal cells, so a register listing in Chinese would come out ragged.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer) *table { return &table{w: w} }

// Write takes tab-separated, newline-terminated text, like tabwriter.
func (t *table) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		t.rows = append(t.rows, strings.Split(line, "\t"))
	}
	return len(p), nil
}

// Flush prints the rows with two spaces between columns.
func (t *table) Flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, cell := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// displayWidth counts East Asian wide and fullwidth characters as two cells.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r == utf8.RuneError || unicode.Is(unicode.Mn, r):
		case isWide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

func isWide(r rune) bool {
	return unicode.Is(unicode.Han, r) ||
		(r >= 0x1100 && r <= 0x115F) || // Hangul Jamo
		(r >= 0x2E80 && r <= 0x303E) || // CJK radicals, punctuation
		(r >= 0x3041 && r <= 0x33FF) || // kana, CJK symbols
		(r >= 0xAC00 && r <= 0xD7A3) || // Hangul
		(r >= 0xFE30 && r <= 0xFE4F) || // CJK compatibility forms
		(r >= 0xFF00 && r <= 0xFF60) || // fullwidth forms (（）、：)
		(r >= 0xFFE0 && r <= 0xFFE6)
}
