package custody

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TermKind is how a secrecy term (保密期限) is given on the paper.
type TermKind string

const (
	TermYears  TermKind = "years"  // "10年"
	TermMonths TermKind = "months" // "6个月"
	TermDate   TermKind = "date"   // "2030-12-31" (解密时间 printed as a date)
	TermLong   TermKind = "long"   // "长期": no end a clock can compute
)

// Term is a structured secrecy term. N counts years or months; Until is the date for TermDate.
type Term struct {
	Kind  TermKind `json:"kind"`
	N     int      `json:"n,omitempty"`
	Until string   `json:"until,omitempty"` // YYYY-MM-DD
}

// MaxTermYears bounds a term: the secrecy law's longest fixed term for 绝密 is 30 years; anything
// far beyond is a typo.
const MaxTermYears = 100

// ParseTerm reads a secrecy term as a 机要员 writes it: "10年", "6个月", "长期", a date
// "2030-12-31", or the identifiers "10y", "6m", "long". Surrounding blanks are ignored.
func ParseTerm(s string) (Term, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("secrecy term %q is not understood: write 10年, 6个月, 长期 or a date 2030-12-31", s)
	switch s {
	case "":
		return Term{}, bad
	case "长期", "long":
		return Term{Kind: TermLong}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return Term{Kind: TermDate, Until: t.Format(time.DateOnly)}, nil
	}
	num := func(digits string, max int) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(digits))
		return n, err == nil && n >= 1 && n <= max
	}
	for _, suf := range []string{"个月", "月", "m"} {
		if d, ok := strings.CutSuffix(s, suf); ok {
			if n, ok := num(d, MaxTermYears*12); ok {
				return Term{Kind: TermMonths, N: n}, nil
			}
			return Term{}, bad
		}
	}
	for _, suf := range []string{"年", "y"} {
		if d, ok := strings.CutSuffix(s, suf); ok {
			if n, ok := num(d, MaxTermYears); ok {
				return Term{Kind: TermYears, N: n}, nil
			}
			return Term{}, bad
		}
	}
	return Term{}, bad
}

// String is the term as printed in a mark: "10年", "6个月", "长期", "2030-12-31".
func (t Term) String() string {
	switch t.Kind {
	case TermYears:
		return fmt.Sprintf("%d年", t.N)
	case TermMonths:
		return fmt.Sprintf("%d个月", t.N)
	case TermDate:
		return t.Until
	case TermLong:
		return "长期"
	}
	return ""
}

// End is the last day of the term counted from start (YYYY-MM-DD, the 成文日期 unless the issuer
// said otherwise); ok is false for 长期, which has no end a clock can compute.
func (t Term) End(start string) (end string, ok bool) {
	s, err := time.Parse(time.DateOnly, start)
	switch {
	case t.Kind == TermDate:
		return t.Until, true
	case err != nil || t.Kind == TermLong:
		return "", false
	case t.Kind == TermYears:
		return s.AddDate(t.N, 0, 0).Format(time.DateOnly), true
	case t.Kind == TermMonths:
		return s.AddDate(0, t.N, 0).Format(time.DateOnly), true
	}
	return "", false
}

// months orders terms for a mark over several documents: the longest governs.
func (t Term) months() int {
	switch t.Kind {
	case TermYears:
		return t.N * 12
	case TermMonths:
		return t.N
	case TermLong:
		return 1 << 30
	}
	return 0
}

// Mark is the secrecy mark printed on a paper (密级★保密期限, e.g. "机密★10年"): the highest level
// among levels, with the longest term among the documents of that level. terms[i] belongs to
// levels[i]; a term that does not parse is printed as given. An empty levels list gives "".
func Mark(levels []Level, terms []string) string {
	best := Level("")
	for _, l := range levels {
		if l.Rank() > best.Rank() {
			best = l
		}
	}
	if best == "" {
		return ""
	}
	term, longest := "", -1
	for i, l := range levels {
		if l != best || i >= len(terms) {
			continue
		}
		t, err := ParseTerm(terms[i])
		m := t.months()
		if err != nil {
			m = 0
		}
		if m > longest {
			term, longest = strings.TrimSpace(terms[i]), m
			if err == nil {
				term = t.String()
			}
		}
	}
	if term == "" {
		return best.Text().ZH
	}
	return best.Text().ZH + "★" + term
}
