package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// Transits (机要交通) and handovers to outside units (issue 14 point 5): the envelopes in transit
// with courier, envelope number and expected arrival — overdue ones first and marked — and a
// form to record the other unit's receipt (number and receiver's name). The dispatch itself is a
// desk handover (purpose dispatch).

type transitRow struct {
	register.Transit
	StateText custody.Text
}

type transitsData struct {
	Rows []transitRow
}

func (c *Console) transitsPage(w http.ResponseWriter, r *http.Request, p *page) {
	ts, err := c.reg.Transits(r.Context(), p.Actor, "")
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	var d transitsData
	// In transit first (overdue before the rest), then the ended and received, newest first.
	for _, pass := range []func(register.Transit) bool{
		func(t register.Transit) bool { return t.Overdue },
		func(t register.Transit) bool { return t.State == register.TransitOpen && !t.Overdue },
		func(t register.Transit) bool { return t.State != register.TransitOpen },
	} {
		for _, t := range ts {
			if pass(t) {
				d.Rows = append(d.Rows, transitRow{t, register.TransitStateText(t.State, t.Overdue)})
			}
		}
	}
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "transits", p)
}

// transitReceipt records the other unit's receipt; the register refuses and audits what it must.
func (c *Console) transitReceipt(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	_, err := c.reg.RecordReceipt(r.Context(), p.Actor, id, register.ReceiptRequest{Receipt: formText(r, "receipt"),
		Receiver: formText(r, "receiver"), Note: formText(r, "note")})
	if err != nil {
		c.setFlash(r, p.refusal(err))
	} else {
		c.raiseTransits(r.Context())
	}
	http.Redirect(w, r, "/transits", http.StatusSeeOther)
}

// raiseTransits brings the transit_overdue alerts in line with the copies overdue in transit at
// once, as the API does (api.TransitsDue) after a receipt or an envelope scanned back in;
// custodyd's site check does it every tick too, so a failure here only delays the alert's end.
func (c *Console) raiseTransits(ctx context.Context) {
	cs, err := c.reg.OverdueTransits(ctx)
	if err != nil {
		c.log.Error("console: overdue transits", "err", err)
		return
	}
	out := make([]reconcile.Transit, len(cs))
	for i, o := range cs {
		number := fmt.Sprintf("%s/%d", o.Item.Document, o.Item.Copy)
		if o.Item.Reproduction > 0 {
			number += fmt.Sprintf("-复制件%d", o.Item.Reproduction)
		}
		out[i] = reconcile.Transit{Transit: o.Transit, Expected: o.Expected, Item: reconcile.Item{ID: o.Item.ID, Number: number, Level: o.Item.Level,
			State: custody.InTransit, Cabinet: o.Home}}
	}
	if err := c.book.ApplyTransits(ctx, out); err != nil {
		c.log.Error("console: transit_overdue alerts not brought in line now; the site check will", "err", err)
	}
}
