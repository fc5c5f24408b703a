package reconcile

import (
	"fmt"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// Transit is a copy handed to a courier (机要交通) whose other unit's receipt is not recorded.
// Item.Cabinet is the copy's home cabinet: the code an external channel may name.
type Transit struct {
	Transit  int64     `json:"transit"`
	Expected time.Time `json:"expected"`
	Item     Item      `json:"item"`
}

// TransitSubject is the alert subject of a transit: its copies' findings are one alert.
func TransitSubject(id int64) string { return "transit/" + strconv.FormatInt(id, 10) }

// OverdueTransits returns a transit_overdue finding for each copy still in transit past its
// envelope's expected arrival: confirmed, since the register says so; it clears when the receipt
// is recorded, the envelope comes back or the copy is reported lost.
func OverdueTransits(ts []Transit, now time.Time) []Finding {
	var out []Finding
	for _, t := range ts {
		if t.Expected.IsZero() || !now.After(t.Expected) {
			continue
		}
		f := itemFinding(t.Item, t.Item.Cabinet, "", t.Expected)
		f.Kind, f.Confidence = TransitOverdue, Confirmed
		f.Subject = TransitSubject(t.Transit) + "#item/" + strconv.FormatInt(t.Item.ID, 10)
		f.Evidence = Evidence{Since: t.Expected, Reason: TransitSubject(t.Transit)}
		late := custody.SpanText(now.Sub(t.Expected))
		f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 交机要交通（传递 %d）已超过预计送达时间 %s，仍未登记对方回执", t.Item.Number, t.Transit, late.ZH),
			EN: fmt.Sprintf("item %s dispatched by courier (transit %d) is %s past its expected arrival with no receipt recorded", t.Item.Number, t.Transit, late.EN)}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}
