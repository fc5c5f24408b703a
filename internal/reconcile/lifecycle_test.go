package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// The overdue text names the move (issue 14 point 8): a carry-out is 携带外出, a circulation 传阅,
// never 借出 for everything.
func TestOverdueNamesTheMove(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	due := now.Add(-2 * time.Hour)
	for _, c := range []struct {
		purpose string
		state   custody.State
		want    string
	}{
		{"take_out", custody.OutOfOffice, "携带外出"},
		{"circulate", custody.CheckedOut, "传阅"},
		{"borrow", custody.CheckedOut, "借出"},
	} {
		fs := OverdueLoans([]Item{{ID: 1, Number: "京办发〔2026〕7号/1", State: c.state, Holder: "zhang.wei", Due: due, Purpose: c.purpose}}, now)
		if len(fs) != 1 || !strings.Contains(fs[0].Text.ZH, c.want) {
			t.Errorf("%s: got %+v, want the text to say %s", c.purpose, fs, c.want)
		}
		if c.purpose != "borrow" && strings.Contains(fs[0].Text.ZH, "借出") {
			t.Errorf("%s: the overdue text says 借出: %s", c.purpose, fs[0].Text.ZH)
		}
	}
}
