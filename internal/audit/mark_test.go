package audit

import (
	"errors"
	"strings"
	"testing"
)

// An export bears the register's mark on its first line (issue 14 point 9); Verify reads it,
// checks the chain after it, and still names a break by its line in the file. A mark anywhere
// but the first line is not a record.
func TestExportMarkLine(t *testing.T) {
	recs := chain(t, 5)
	lines := append([]string{strings.TrimSuffix(string(MarkLine("机密★10年")), "\n")}, export(t, recs)...)
	res, err := verify(lines, recs[4].Hash)
	if err != nil || res.Mark != "机密★10年" || res.Records != 5 {
		t.Fatalf("marked export: got %+v, %v; want 5 records under 机密★10年", res, err)
	}
	altered := append([]string(nil), lines...)
	altered[3] = strings.Replace(altered[3], `"actor":"`, `"actor":"x`, 1)
	var b *Break
	if _, err := verify(altered, ""); !asBreak(err, &b) || b.Kind != "altered" || b.Index != 4 {
		t.Errorf("altered record on line 4 of a marked export: got %v, want altered at line 4", err)
	}
	moved := append(append([]string(nil), lines[1:3]...), append([]string{lines[0]}, lines[3:]...)...)
	if _, err := verify(moved, ""); !asBreak(err, &b) || b.Kind != "malformed" || b.Index != 3 {
		t.Errorf("a mark line after records: got %v, want malformed at line 3", err)
	}
	if _, err := verify([]string{`{"mark":""}`}, ""); !asBreak(err, &b) || b.Kind != "malformed" || b.Index != 1 {
		t.Errorf("an empty mark: got %v, want malformed at line 1", err)
	}
	if res, err := verify(lines[:1], ""); err != nil || res.Records != 0 || res.Mark != "机密★10年" {
		t.Errorf("a marked empty export: got %+v, %v", res, err)
	}
}

func asBreak(err error, b **Break) bool { return errors.As(err, b) }
