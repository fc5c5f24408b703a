package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
)

// Who may take part in the desk workflows. Package register checks the finer rules (the
// approver's unit, a holder reporting only their own loss, …); these lists keep everyone else out
// before a request body is even read.
var (
	sessionViewers = []custody.Role{custody.Custodian, custody.Leader}
	requesters     = []custody.Role{custody.Custodian, custody.Holder, custody.Leader}
	deciders       = []custody.Role{custody.Leader}
	secadmins      = []custody.Role{custody.SecAdmin}
	reporters      = []custody.Role{custody.Custodian, custody.Leader, custody.SecAdmin, custody.Admin}
	lossReporters  = []custody.Role{custody.Custodian, custody.Leader, custody.Holder}
	clearanceViews = []custody.Role{custody.Custodian, custody.Leader, custody.Admin, custody.SecAdmin, custody.Holder}
)

// workflowRoutes are the custodian's desk flows: handover sessions, approvals, receiving,
// reproduction, scope widening, destruction batches, recalls, clearance, losses and reports.
func (s *Server) workflowRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/badges", roles: admins, h: s.issueBadge},
		{method: "POST", path: "/api/v1/badges/{username}/reset", roles: admins, h: s.resetBadge},
		{method: "POST", path: "/api/v1/me/badge-pin", roles: anyone, h: s.setBadgePIN},
		{method: "GET", path: "/api/v1/grants", roles: []custody.Role{custody.SecAdmin, custody.Admin, custody.Auditor, custody.Leader, custody.Custodian}, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Grants(ctx, a)
		}},
		{method: "POST", path: "/api/v1/grants", roles: secadmins, h: withBody(s.reg.Grant)},
		{method: "POST", path: "/api/v1/grants/revoke", roles: secadmins, h: withBody(s.reg.Revoke)},
		{method: "GET", path: "/api/v1/approval-policy", roles: anyone, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Policy(ctx, a)
		}},
		{method: "PUT", path: "/api/v1/approval-policy", roles: secadmins, h: withBody(s.reg.SetPolicy)},

		{method: "GET", path: "/api/v1/approvals", roles: requesters, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Approvals(ctx, a, r.URL.Query().Get("pending") != "")
		}},
		{method: "POST", path: "/api/v1/approvals", roles: requesters, status: 201, h: withBody(s.reg.RequestApproval)},
		{method: "GET", path: "/api/v1/approvals/{id}", roles: requesters, h: byID(s.reg.Approval)},
		{method: "POST", path: "/api/v1/approvals/{id}/decide", roles: deciders, h: s.decide},

		{method: "GET", path: "/api/v1/sessions", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Sessions(ctx, a, r.URL.Query().Get("state"))
		}},
		{method: "POST", path: "/api/v1/sessions", roles: custodians, status: 201, h: withBody(s.reg.OpenSession)},
		{method: "GET", path: "/api/v1/sessions/{id}", roles: sessionViewers, h: byID(s.reg.Session)},
		{method: "POST", path: "/api/v1/sessions/{id}/scans", roles: custodians, h: s.scan},
		{method: "DELETE", path: "/api/v1/sessions/{id}/scans/{item}", roles: custodians, h: s.unscan},
		{method: "POST", path: "/api/v1/sessions/{id}/close", roles: custodians, h: s.closeSession},
		{method: "POST", path: "/api/v1/sessions/{id}/abandon", roles: custodians, h: s.abandonSession},
		{method: "GET", path: "/api/v1/sessions/{id}/receipt", roles: sessionViewers, raw: s.receipt},

		{method: "POST", path: "/api/v1/documents/receive", roles: custodians, status: 201, h: withBody(s.reg.ReceiveBatch)},
		{method: "POST", path: "/api/v1/reproductions", roles: custodians, status: 201, h: withBody(s.reg.Reproduce)},
		{method: "POST", path: "/api/v1/scope-widenings", roles: custodians, h: s.widenScope},
		{method: "POST", path: "/api/v1/recoveries", roles: custodians, h: s.recover},
		{method: "GET", path: "/api/v1/items/{id}/history", roles: readers, h: byID(s.reg.History)},

		{method: "GET", path: "/api/v1/destructions", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Batches(ctx, a)
		}},
		{method: "POST", path: "/api/v1/destructions", roles: custodians, status: 201, h: withBody(s.reg.ListDestruction)},
		{method: "GET", path: "/api/v1/destructions/{id}", roles: sessionViewers, h: byID(s.reg.Batch)},
		{method: "POST", path: "/api/v1/destructions/{id}/cancel", roles: custodians, h: s.cancelBatch},
		{method: "POST", path: "/api/v1/destructions/{id}/certify", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			var req struct {
				Certificate string `json:"certificate"`
				Note        string `json:"note"`
			}
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return s.reg.CertifyDestruction(ctx, a, id, req.Certificate, req.Note)
		}},
		{method: "GET", path: "/api/v1/destructions/{id}/certificate", roles: reporters, raw: s.certificate},

		{method: "GET", path: "/api/v1/recalls", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Recalls(ctx, a)
		}},
		{method: "POST", path: "/api/v1/recalls", roles: custodians, status: 201, h: withBody(s.reg.StartRecall)},
		{method: "GET", path: "/api/v1/recalls/{id}", roles: reporters, raw: s.recallReport},
		{method: "POST", path: "/api/v1/recalls/{id}/close", roles: sessionViewers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			// The body is optional: {"note": …} is the deciding leader's note over lost copies.
			var req struct {
				Note string `json:"note"`
			}
			if r.ContentLength != 0 {
				if err := decode(r, &req); err != nil {
					return nil, err
				}
			}
			return s.reg.CloseRecall(ctx, a, id, req.Note)
		}},

		{method: "GET", path: "/api/v1/people/{username}/clearance", roles: clearanceViews, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Clearance(ctx, a, r.PathValue("username"))
		}},
		{method: "POST", path: "/api/v1/people/{username}/close", roles: admins, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			u := r.PathValue("username")
			return map[string]string{"status": "closed", "username": u}, s.reg.CloseAccount(ctx, a, u)
		}},
		{method: "POST", path: "/api/v1/people/{username}/post", roles: admins, h: s.changePost},

		{method: "GET", path: "/api/v1/reports/ledger", roles: reporters, raw: s.ledgerReport},
	}
}

func (s *Server) issueBadge(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Username string `json:"username"`
		Code     string `json:"code"`
		PIN      string `json:"pin"` // refused: only the holder sets a PIN
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.PIN != "" {
		return nil, errAdminPIN
	}
	if err := s.reg.IssueBadge(ctx, a, req.Username, req.Code); err != nil {
		return nil, err
	}
	return map[string]string{"username": req.Username, "code": req.Code}, nil
}

// errAdminPIN refuses a PIN sent by whoever issues a badge: the PIN is the holder's signature.
var errAdminPIN = &register.Error{Code: register.CodeForbidden, Text: custody.Text{
	ZH: "工作证 PIN 只能由持证人本人设置（custodyctl badge pin，或在工作台首次使用时设置）；系统管理员只能发放或重置工作证",
	EN: "a badge PIN is set by its holder only (custodyctl badge pin, or at its first use at a desk); the administrator only issues or resets badges"}}

func (s *Server) resetBadge(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	u := r.PathValue("username")
	if err := s.reg.ResetBadge(ctx, a, u); err != nil {
		return nil, err
	}
	return map[string]string{"username": u, "status": "reset"}, nil
}

func (s *Server) setBadgePIN(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return map[string]string{"status": "ok"}, s.reg.SetBadgePIN(ctx, a, req.Old, req.New)
}

func (s *Server) decide(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req struct {
		Approve *bool  `json:"approve"`
		Note    string `json:"note"`
		Consent string `json:"consent"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Approve == nil {
		return nil, bad("请说明批准（approve: true）还是驳回（approve: false）", "say whether to approve (approve: true) or reject (approve: false)")
	}
	return s.reg.DecideApproval(ctx, a, id, register.DecideRequest{Approve: *req.Approve, Note: req.Note, Consent: req.Consent})
}

func (s *Server) scan(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
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
	return s.reg.Scan(ctx, a, id, req.Data)
}

func (s *Server) unscan(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	item, err := strconv.ParseInt(r.PathValue("item"), 10, 64)
	if err != nil || item <= 0 {
		return nil, bad("文件份编号 %q 无效", "item id %q is not a positive number", r.PathValue("item"))
	}
	return s.reg.RemoveScan(ctx, a, id, item)
}

func (s *Server) closeSession(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req register.CloseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	ss, err := s.reg.CloseSession(ctx, a, id, req)
	if err == nil && ss.Purpose == register.PurposeReceive {
		s.raiseTransits(ctx) // an envelope back from transit ends its overdue alert
	}
	return ss, err
}

func (s *Server) abandonSession(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return s.reg.AbandonSession(ctx, a, id, req.Reason)
}

func (s *Server) widenScope(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Approval int64 `json:"approval"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return s.reg.WidenScope(ctx, a, req.Approval)
}

func (s *Server) recover(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Items   []int64 `json:"items"`
		Cabinet string  `json:"cabinet"`
		Note    string  `json:"note"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	items, err := s.reg.Recover(ctx, a, req.Items, req.Cabinet, req.Note)
	if err == nil {
		s.raiseLosses(ctx) // a copy found is no longer an open loss
	}
	return items, err
}

func (s *Server) cancelBatch(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return s.reg.CancelBatch(ctx, a, id, req.Reason)
}

func (s *Server) changePost(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Unit string `json:"unit"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	u := r.PathValue("username")
	return map[string]string{"username": u, "unit": req.Unit}, s.reg.ChangePost(ctx, a, u, req.Unit)
}

// paper answers a report as JSON (the data), CSV or PDF, chosen by ?format=.
func (s *Server) paper(w http.ResponseWriter, r *http.Request, name string, data any, t func() report.Table) {
	format := r.URL.Query().Get("format")
	var buf bytes.Buffer
	var ctype string
	switch format {
	case "", "json":
		writeJSON(w, http.StatusOK, data)
		return
	case "csv":
		ctype = "text/csv; charset=utf-8"
		if err := report.CSV(&buf, t()); err != nil {
			s.fail(w, r, err)
			return
		}
	case "pdf":
		ctype = "application/pdf"
		if err := report.PDF(&buf, t(), s.opt.ReportFont); err != nil {
			s.fail(w, r, err)
			return
		}
	default:
		writeError(w, r, http.StatusBadRequest, "bad_request", custody.Text{ZH: "format 应为 json、csv 或 pdf", EN: "format must be json, csv or pdf"})
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	w.Write(buf.Bytes())
	s.log.Info("report rendered", "actor", actorFrom(r.Context()).Username, "report", name, "format", format)
}

func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.reg.Session(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "" {
		q := r.URL.Query()
		q.Set("format", "pdf")
		r.URL.RawQuery = q.Encode()
	}
	s.paper(w, r, fmt.Sprintf("handover-%d", id), sess, func() report.Table { return report.Receipt(sess, s.reg.Zone()) })
}

func (s *Server) certificate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.reg.DestructionCertificate(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paper(w, r, fmt.Sprintf("destruction-%d", id), c, func() report.Table { return report.Certificate(c, s.reg.Zone()) })
}

func (s *Server) recallReport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := s.reg.Recall(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paper(w, r, fmt.Sprintf("recall-%d", id), rc, func() report.Table { return report.Recall(rc, s.reg.Zone()) })
}

// ledgerReport is the register (台账) with filters: ?unit=, ?level=, ?holder= (holdings of one
// person), ?held=1 (holdings of everyone, by person), ?overdue=1.
func (s *Server) ledgerReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := register.LedgerFilter{Unit: q.Get("unit"), Holder: q.Get("holder"), Held: q.Get("held") != "", Overdue: q.Get("overdue") != ""}
	title := "涉密文件台账"
	var fields []report.Field
	if l := q.Get("level"); l != "" {
		lvl, err := custody.ParseLevel(l)
		if err != nil {
			s.fail(w, r, bad("密级 %q 无效", "unknown level %q", l))
			return
		}
		f.Level = lvl
		fields = append(fields, report.Field{Label: "密级", Value: lvl.Text().ZH})
	}
	if f.Unit != "" {
		fields = append(fields, report.Field{Label: "单位", Value: f.Unit})
	}
	if f.Held {
		title = "涉密文件持有情况（按人员）"
	}
	if f.Holder != "" {
		title = "个人持有涉密文件清单"
		fields = append(fields, report.Field{Label: "持有人", Value: f.Holder})
	}
	if f.Overdue {
		title = "逾期未还涉密文件清单"
	}
	rows, err := s.reg.Ledger(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paper(w, r, "ledger", rows, func() report.Table { return report.Ledger(title, fields, rows, s.reg.Zone()) })
}
