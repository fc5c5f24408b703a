package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// Transit (机要交通) and handovers to outside units (issue 14 point 5). The dispatch itself is a
// desk handover (POST /api/v1/sessions with purpose dispatch); here are the transits it makes and
// the other unit's receipt. A receipt — like an envelope scanned back in or a copy reported lost —
// ends the transit_overdue alert at once: the register records the step, then the alert book is
// told of every overdue copy left. If that second step fails the step stands and the site check
// resolves the alert on its next tick.

// TransitsDue adapts the register's overdue transits to what the alert checker reads, for the
// daemon's site check and for the API's immediate resolution.
func TransitsDue(reg *register.Register) alert.Transits {
	return func(ctx context.Context) ([]reconcile.Transit, error) {
		cs, err := reg.OverdueTransits(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]reconcile.Transit, len(cs))
		for i, c := range cs {
			number := fmt.Sprintf("%s/%d", c.Item.Document, c.Item.Copy)
			if c.Item.Reproduction > 0 {
				number += fmt.Sprintf("-复制件%d", c.Item.Reproduction)
			}
			out[i] = reconcile.Transit{Transit: c.Transit, Expected: c.Expected, Item: reconcile.Item{ID: c.Item.ID, Number: number, Level: c.Item.Level,
				State: custody.InTransit, Cabinet: c.Home}}
		}
		return out, nil
	}
}

// raiseTransits brings the transit_overdue alerts in line with the copies overdue in transit.
func (s *Server) raiseTransits(ctx context.Context) {
	ts, err := TransitsDue(s.reg)(ctx)
	if err == nil {
		err = s.alerts().ApplyTransits(ctx, ts)
	}
	if err != nil {
		s.log.Error("transit_overdue alerts not brought up to date now; the site check will", "err", err)
	}
}

func (s *Server) transitRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/transits", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Transits(ctx, a, r.URL.Query().Get("state"))
		}},
		{method: "GET", path: "/api/v1/transits/{id}", roles: sessionViewers, h: byID(s.reg.Transit)},
		// Whoever reads the item reads where it went: no title is in a transit.
		{method: "GET", path: "/api/v1/items/{id}/transit", roles: readers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			t, err := s.reg.ItemTransit(ctx, a, id)
			if err == nil && t == nil {
				err = &register.Error{Code: register.CodeNotFound, Text: custody.Text{ZH: fmt.Sprintf("文件份 %d 没有机要交通或移交记录", id), EN: fmt.Sprintf("item %d has no transit", id)}}
			}
			return t, err
		}},
		{method: "POST", path: "/api/v1/transits/{id}/receipt", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			var req register.ReceiptRequest
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			t, err := s.reg.RecordReceipt(ctx, a, id, req)
			if err != nil {
				return nil, err
			}
			s.raiseTransits(ctx)
			return t, nil
		}},
	}
}
