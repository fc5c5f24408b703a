package reconcile

import (
	"fmt"
	"sort"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// UnitCheck is a unit whose periodic check (清查) is due, as the register computes it: Overdue
// when the period Missed ended without one; otherwise the current Period ends on Ends (a site
// date, YYYY-MM-DD) within the reminder week.
type UnitCheck struct {
	Unit    string `json:"unit"`
	Period  string `json:"period"`
	Missed  string `json:"missed,omitempty"`
	Ends    string `json:"ends"`
	Overdue bool   `json:"overdue"`
}

// ChecksDue returns a check_due finding per unit: one alert per unit (subject unit/<code>),
// carrying the unit's code and the periods only — no document, copy or person.
func ChecksDue(due []UnitCheck, now time.Time) []Finding {
	out := make([]Finding, 0, len(due))
	for _, u := range due {
		f := Finding{Kind: CheckDue, Subject: "unit/" + u.Unit, Confidence: Confirmed, At: now, Evidence: Evidence{Reason: "period_" + u.Period}}
		if u.Overdue {
			f.Text = custody.Text{ZH: fmt.Sprintf("单位 %s 在 %s 没有开始定期清查：请尽快组织本期（%s）清查", u.Unit, u.Missed, u.Period),
				EN: fmt.Sprintf("unit %s opened no periodic check in %s: open this period's (%s) check soon", u.Unit, u.Missed, u.Period)}
		} else {
			f.Text = custody.Text{ZH: fmt.Sprintf("单位 %s 本期（%s）定期清查尚未开始，本期于 %s 结束", u.Unit, u.Period, u.Ends),
				EN: fmt.Sprintf("unit %s has not opened this period's (%s) check; the period ends on %s", u.Unit, u.Period, u.Ends)}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}
