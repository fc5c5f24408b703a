package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// Loss reports and loss cases (追查, issue 14 point 3). A 报失 raises the critical reported_lost
// alert at once: the register records the loss and opens the case, then the alert book is told
// of every open loss. If that second step fails the loss stands and the site check raises the
// alert on its next tick; the caller is told the loss was recorded either way.

// OpenLosses adapts the register's open loss cases to what the alert checker reads, for the
// daemon's site check and for the API's immediate alarm.
func OpenLosses(reg *register.Register) alert.Losses {
	return func(ctx context.Context) ([]reconcile.Loss, error) {
		ls, err := reg.OpenLosses(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]reconcile.Loss, len(ls))
		for i, l := range ls {
			at, _ := store.ParseTime(l.Reported)
			out[i] = reconcile.Loss{Case: l.Case, Reported: at, Item: reconcile.Item{ID: l.ItemID, Number: l.Number, Level: l.Level,
				State: custody.Lost, Cabinet: l.Cabinet, Holder: l.Holder}}
		}
		return out, nil
	}
}

// TermsDue adapts the register's terms ending soon to what the alert checker reads.
func TermsDue(reg *register.Register) alert.Terms {
	return func(ctx context.Context) ([]reconcile.Term, string, int, error) {
		ds, err := reg.TermsDue(ctx)
		if err != nil {
			return nil, "", 0, err
		}
		out := make([]reconcile.Term, len(ds))
		for i, d := range ds {
			out[i] = reconcile.Term{DocumentID: d.DocumentID, Number: d.Number, Level: d.Level, End: d.End}
		}
		return out, reg.Today(), register.TermReminder, nil
	}
}

// raiseLosses brings the reported_lost alerts in line with the open loss cases.
func (s *Server) raiseLosses(ctx context.Context) {
	ls, err := OpenLosses(s.reg)(ctx)
	if err == nil {
		err = s.alerts().ApplyLosses(ctx, ls)
	}
	if err != nil {
		s.log.Error("reported_lost alert not raised now; the site check will raise it", "err", err)
	}
}

func (s *Server) lossRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/losses", roles: lossReporters, status: 201, h: s.reportLoss},
		{method: "GET", path: "/api/v1/losses", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.LossCases(ctx, a, r.URL.Query().Get("state"))
		}},
		{method: "GET", path: "/api/v1/losses/{id}", roles: sessionViewers, h: byID(s.reg.LossCase)},
		{method: "POST", path: "/api/v1/losses/{id}/notes", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.lossStep(ctx, a, r, s.reg.NoteLossCase)
		}},
		{method: "POST", path: "/api/v1/losses/{id}/close", roles: []custody.Role{custody.Leader}, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			c, err := s.lossStep(ctx, a, r, s.reg.CloseLossCase)
			if err == nil {
				s.raiseLosses(ctx)
			}
			return c, err
		}},
	}
}

func (s *Server) lossStep(ctx context.Context, a register.Actor, r *http.Request, f func(context.Context, register.Actor, int64, string) (register.LossCase, error)) (register.LossCase, error) {
	id, err := pathID(r)
	if err != nil {
		return register.LossCase{}, err
	}
	var req struct {
		Note string `json:"note"`
	}
	if err := decode(r, &req); err != nil {
		return register.LossCase{}, err
	}
	return f(ctx, a, id, req.Note)
}

func (s *Server) reportLoss(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Items []int64 `json:"items"`
		Note  string  `json:"note"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	c, err := s.reg.ReportLoss(ctx, a, req.Items, req.Note)
	if err != nil {
		return nil, err
	}
	s.raiseLosses(ctx)
	s.raiseTransits(ctx) // a copy lost in transit is a loss case now, not an overdue envelope
	return c, nil
}
