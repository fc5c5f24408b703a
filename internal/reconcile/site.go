package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/sitetime"
)

// The checks below are not about one inventory round but about the site at a moment: loans past
// their due time, cabinets that did not report by the deadline, doors, agents. Each returns the
// findings that hold at now; a finding not returned any more has cleared.

// OverdueLoans returns a finding for each checked-out or taken-out item whose due time has passed.
func OverdueLoans(items []Item, now time.Time) []Finding {
	var out []Finding
	for _, it := range items {
		if it.Due.IsZero() || !now.After(it.Due) || (it.State != custody.CheckedOut && it.State != custody.OutOfOffice) {
			continue
		}
		f := itemFinding(it, "", "", now)
		f.Kind, f.Confidence = Overdue, Confirmed
		f.Evidence = Evidence{LastEvent: it.LastEvent, Since: it.Due}
		late := custody.SpanText(now.Sub(it.Due)) // 16 小时, not Go's 16h0m0s
		move := outMove(it)
		f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 由 %s %s，已逾期 %s未还", it.Number, it.Holder, move.ZH, late.ZH), EN: fmt.Sprintf("item %s %s by %s is %s overdue", it.Number, move.EN, it.Holder, late.EN)}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// outMove is the word for how an item went out, as the 机要员 says it: a carry-out is 携带外出,
// not 借出 (issue 14 point 8).
func outMove(it Item) custody.Text {
	switch {
	case it.Purpose == "take_out" || (it.Purpose == "" && it.State == custody.OutOfOffice):
		return custody.Text{ZH: "携带外出", EN: "taken out of the office"}
	case it.Purpose == "circulate":
		return custody.Text{ZH: "传阅", EN: "circulated"}
	case it.Purpose == "reading_room":
		return custody.Text{ZH: "在阅文室阅读", EN: "read in the reading room"}
	}
	return custody.Text{ZH: "借出", EN: "checked out"}
}

// Expectation is a cabinet that a scheduled inventory commanded, and what came back.
type Expectation struct {
	Cabinet string `json:"cabinet"`
	Agent   string `json:"agent"`
	// Reported is the end of the cabinet's latest complete round; zero if none.
	Reported time.Time `json:"reported,omitzero"`
}

// Missed returns inventory_missed for each cabinet with no complete round between the scheduled
// start and the deadline, once the deadline has passed. The text names the deadline in the
// site's zone z.
func Missed(cabs []Expectation, start, deadline, now time.Time, offline map[string]bool, z sitetime.Zone) []Finding {
	if now.Before(deadline) {
		return nil
	}
	var out []Finding
	for _, c := range cabs {
		if !c.Reported.Before(start) && !c.Reported.After(deadline) && !c.Reported.IsZero() {
			continue
		}
		f := Finding{Kind: InventoryMissed, Subject: "cabinet/" + c.Cabinet, Confidence: Confirmed, Cabinet: c.Cabinet, Agent: c.Agent, At: deadline,
			Evidence: Evidence{Since: start, LastSeen: c.Reported}}
		if offline[c.Agent] {
			f.Evidence.Reason = "agent_offline"
		}
		// Named as the rest of the app names the zone — 北京时间, not the abbreviation "CST",
		// which also means US Central time.
		at := z.Format(deadline, "2006-01-02 15:04")
		f.Text = custody.Text{ZH: fmt.Sprintf("柜 %s 在 %s（%s）前没有完成清点", c.Cabinet, at, z.LabelAt("zh-CN", deadline)), EN: fmt.Sprintf("cabinet %s sent no complete inventory by %s %s", c.Cabinet, at, z.LabelAt("en", deadline))}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// Hours are the working hours; a door opened outside them is door_after_hours.
type Hours struct {
	Location *time.Location `json:"-"`
	Start    time.Duration  `json:"start"` // since local midnight
	End      time.Duration  `json:"end"`
	Days     []time.Weekday `json:"days"` // working days; nil: Monday to Friday
	// Dates (YYYY-MM-DD, local) that break the weekly pattern, as China's public-holiday
	// calendar does every year: Holidays are days off although their weekday works; Workdays
	// (调休上班) are worked although their weekday does not.
	Holidays []string `json:"holidays,omitempty"`
	Workdays []string `json:"workdays,omitempty"`
}

// Within reports whether t falls in working hours.
func (h Hours) Within(t time.Time) bool {
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	days := h.Days
	if days == nil {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	workday := slices.Contains(days, t.Weekday())
	switch date := t.Format(time.DateOnly); {
	case slices.Contains(h.Holidays, date):
		workday = false
	case slices.Contains(h.Workdays, date):
		workday = true
	}
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return workday && since >= h.Start && since < h.End
}

// Doors returns door_left_open for doors open longer than openLimit, and door_after_hours for
// doors opened outside working hours (by anyone but the scheduled inventory, which never opens
// them). Each is keyed by cabinet: one open finding per cabinet and kind.
func Doors(doors []Door, hours Hours, openLimit time.Duration, now time.Time) []Finding {
	byKey := map[Key]Finding{}
	for _, d := range doors {
		if d.Close.IsZero() && now.Sub(d.Open) > openLimit {
			dd := d
			byKey[Key{DoorLeftOpen, "cabinet/" + d.Cabinet}] = Finding{Kind: DoorLeftOpen, Subject: "cabinet/" + d.Cabinet, Confidence: Confirmed, Cabinet: d.Cabinet, At: d.Open.Add(openLimit),
				Evidence: Evidence{Door: &dd, Since: d.Open},
				Text:     custody.Text{ZH: fmt.Sprintf("柜 %s 的门已打开 %s未关", d.Cabinet, custody.SpanText(now.Sub(d.Open)).ZH), EN: fmt.Sprintf("the door of cabinet %s has been open for %s", d.Cabinet, custody.SpanText(now.Sub(d.Open)).EN)}}
		}
		if !hours.Within(d.Open) {
			dd := d
			k := Key{DoorAfterHours, "cabinet/" + d.Cabinet}
			if prev, ok := byKey[k]; ok && prev.At.After(d.Open) {
				continue
			}
			byKey[k] = Finding{Kind: DoorAfterHours, Subject: "cabinet/" + d.Cabinet, Confidence: Confirmed, Cabinet: d.Cabinet, At: d.Open,
				Evidence: Evidence{Door: &dd, Since: d.Open},
				Text:     custody.Text{ZH: fmt.Sprintf("柜 %s 在非工作时间被打开", d.Cabinet), EN: fmt.Sprintf("cabinet %s was opened outside working hours", d.Cabinet)}}
		}
	}
	out := make([]Finding, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// AgentStatus is an agent's availability as its retained MQTT message last said.
type AgentStatus struct {
	Agent    string    `json:"agent"`
	Online   bool      `json:"online"`
	Since    time.Time `json:"since"`
	Cabinets []string  `json:"cabinets"`
}

// Offline returns agent_offline for each agent offline longer than grace (a restart is not news).
func Offline(agents []AgentStatus, grace time.Duration, now time.Time) []Finding {
	var out []Finding
	for _, a := range agents {
		if a.Online || now.Sub(a.Since) < grace {
			continue
		}
		out = append(out, Finding{Kind: AgentOffline, Subject: "agent/" + a.Agent, Confidence: Confirmed, Agent: a.Agent, At: a.Since.Add(grace),
			Evidence: Evidence{Since: a.Since, Cabinets: a.Cabinets},
			Text:     custody.Text{ZH: fmt.Sprintf("采集代理 %s 自 %s 起离线，所管柜 %v 无法清点", a.Agent, a.Since.Format("01-02 15:04"), a.Cabinets), EN: fmt.Sprintf("agent %s offline since %s; cabinets %v cannot be inventoried", a.Agent, a.Since.Format("01-02 15:04"), a.Cabinets)}})
	}
	sortFindings(out)
	return out
}

// Loss is a copy of an open loss case (追查) that is still lost.
type Loss struct {
	Item     Item      `json:"item"`
	Case     int64     `json:"case"`
	Reported time.Time `json:"reported"`
}

// LossCaseSubject is the alert subject of a loss case: its copies' findings are one alert.
func LossCaseSubject(c int64) string { return "losscase/" + strconv.FormatInt(c, 10) }

// ReportedLosses returns a reported_lost finding for every lost copy of an open loss case:
// confirmed at once, since a person reported it.
func ReportedLosses(losses []Loss) []Finding {
	var out []Finding
	for _, l := range losses {
		f := itemFinding(l.Item, l.Item.Cabinet, "", l.Reported)
		f.Kind, f.Confidence = ReportedLost, Confirmed
		f.Subject = LossCaseSubject(l.Case) + "#item/" + strconv.FormatInt(l.Item.ID, 10)
		f.Evidence = Evidence{Since: l.Reported, Reason: LossCaseSubject(l.Case)}
		f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 已报失（追查 %d），须立即追查", l.Item.Number, l.Case), EN: fmt.Sprintf("item %s was reported lost (loss case %d); trace it at once", l.Item.Number, l.Case)}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// Term is a classified document whose secrecy term ends on End (YYYY-MM-DD, the site's dates).
type Term struct {
	DocumentID int64         `json:"document_id"`
	Number     string        `json:"number"`
	Level      custody.Level `json:"level"`
	End        string        `json:"end"`
}

// TermsExpiring returns a term_expiring finding for each document whose term ends on or before
// today + within days (today and End are site dates, YYYY-MM-DD): the custodian and the security
// administrator decide with the issuing unit whether to declassify, extend or change the level.
func TermsExpiring(terms []Term, today string, within int, now time.Time) []Finding {
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return nil
	}
	limit := t.AddDate(0, 0, within).Format(time.DateOnly)
	var out []Finding
	for _, d := range terms {
		if d.End == "" || d.End > limit {
			continue
		}
		f := Finding{Kind: TermExpiring, Subject: "document/" + strconv.FormatInt(d.DocumentID, 10), Confidence: Confirmed, Item: d.Number, Level: d.Level, At: now,
			Evidence: Evidence{Reason: "term_end_" + d.End}}
		if d.End < today {
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 的保密期限已于 %s 届满，尚未登记解密或变更", d.Number, d.End), EN: fmt.Sprintf("the secrecy term of document %s ended on %s; no declassification or change is recorded", d.Number, d.End)}
		} else {
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 的保密期限将于 %s 届满，请与发文单位确定解密、延期或变更密级", d.Number, d.End), EN: fmt.Sprintf("the secrecy term of document %s ends on %s: settle declassification, extension or a level change with the issuing unit", d.Number, d.End)}
		}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}
