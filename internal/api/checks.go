package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
)

// Periodic checks (清查, issue 14 point 7). The register decides who may do what within a check
// (the unit's custodians and leaders; a holder only for their own copies); these role lists keep
// everyone else out before a body is read. The system administrator has no part in a check.
var (
	checkViewers  = []custody.Role{custody.Custodian, custody.Leader, custody.SecAdmin}
	checkSigners  = []custody.Role{custody.Custodian, custody.Leader}
	checkConfirms = []custody.Role{custody.Custodian, custody.Leader, custody.Holder}
)

func (s *Server) checkRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/checks", roles: checkViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Checks(ctx, a, r.URL.Query().Get("unit"))
		}},
		{method: "POST", path: "/api/v1/checks", roles: custodians, status: 201, h: withBody(s.reg.OpenCheck)},
		{method: "GET", path: "/api/v1/checks/{id}", roles: checkViewers, h: byID(s.reg.Check)},
		{method: "POST", path: "/api/v1/checks/{id}/scans", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			var req struct {
				Data string `json:"data"`
			}
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return s.reg.CheckScan(ctx, a, id, req.Data)
		}},
		{method: "POST", path: "/api/v1/checks/{id}/confirmations", roles: checkConfirms, h: byIDWithBody(s.reg.ConfirmHolding)},
		{method: "POST", path: "/api/v1/checks/{id}/inventory", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			return s.reg.CheckInventory(ctx, a, id, s.opt.Inventory)
		}},
		{method: "POST", path: "/api/v1/checks/{id}/sign", roles: checkSigners, h: byIDWithBody(s.reg.SignCheck)},
		{method: "POST", path: "/api/v1/checks/{id}/close", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			return s.reg.CloseCheck(ctx, a, id, s.CheckRenderer())
		}},
		{method: "GET", path: "/api/v1/checks/{id}/report", roles: checkViewers, raw: s.checkReport},
		{method: "GET", path: "/api/v1/me/checks", roles: anyone, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.AwaitingMe(ctx, a)
		}},
	}
}

// CheckRenderer renders a check's 清查记录 as a PDF with the configured font.
func (s *Server) CheckRenderer() register.CheckRenderer {
	return report.CheckPDF(s.reg.Zone(), s.opt.ReportFont)
}

// checkReport serves the signed 清查记录 as stored when the check closed.
func (s *Server) checkReport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pdf, err := s.reg.CheckReport(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.reg.AuditRefusal(r.Context(), actorFrom(r.Context()), r.Method+" "+r.URL.Path, err)
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="check-%d.pdf"`, id))
	w.Write(pdf)
	s.log.Info("report served", "actor", actorFrom(r.Context()).Username, "report", fmt.Sprintf("check-%d", id))
}

// ChecksDue adapts the register's units whose periodic check is due to what the alert checker
// reads (check_due in the site check).
func ChecksDue(reg *register.Register) alert.ChecksDue {
	return func(ctx context.Context) ([]reconcile.UnitCheck, error) {
		ds, err := reg.ChecksDue(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]reconcile.UnitCheck, len(ds))
		for i, d := range ds {
			out[i] = reconcile.UnitCheck{Unit: d.Unit, Period: d.Period, Missed: d.Missed, Ends: d.Ends, Overdue: d.Overdue}
		}
		return out, nil
	}
}
