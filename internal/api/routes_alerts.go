package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/schedule"
)

// Custodians and leaders read and acknowledge alerts; auditors read them (nothing here holds a
// title: findings carry item numbers, levels, places and times only).
var (
	alertReaders = []custody.Role{custody.Custodian, custody.Leader, custody.Auditor}
	alertActors  = []custody.Role{custody.Custodian, custody.Leader}
)

// alertRoutes are reconciliation findings, alerts and inventory schedules.
func (s *Server) alertRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/alerts", roles: alertReaders, raw: s.alertList},
		{method: "GET", path: "/api/v1/alerts/{id}", roles: alertReaders, h: s.showAlert},
		{method: "POST", path: "/api/v1/alerts/{id}/ack", roles: alertActors, h: s.alertStep(false)},
		{method: "POST", path: "/api/v1/alerts/{id}/resolve", roles: alertActors, h: s.alertStep(true)},
		{method: "GET", path: "/api/v1/findings", roles: alertReaders, h: s.listFindings},
		{method: "GET", path: "/api/v1/inventory/runs", roles: alertReaders, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return schedule.Runs(ctx, s.st, 30)
		}},
	}
}

// alerts is a Book over the server's store. The lifecycle lives in the database, so a Book made
// here and the daemon's (which wakes the escalator) agree; the escalator sees API steps at its
// next tick.
func (s *Server) alerts() *alert.Book {
	if s.opt.Alerts != nil {
		return s.opt.Alerts
	}
	return alert.NewBook(s.st, s.log, nil)
}

func alertFilter(r *http.Request) (alert.Filter, error) {
	q := r.URL.Query()
	f := alert.Filter{
		State: alert.State(q.Get("state")), Kind: reconcile.Kind(q.Get("kind")), Cabinet: q.Get("cabinet"),
		Severity: alert.Severity(q.Get("severity")), Active: q.Get("active") == "1" || q.Get("active") == "true",
	}
	if f.State != "" && f.State.Text().EN == "" {
		return f, bad("未知的告警状态 %q（open、acknowledged、resolved）", "unknown alert state %q (want open, acknowledged or resolved)", f.State)
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, bad("未知的类型 %q", "unknown kind %q", f.Kind)
	}
	if f.Severity != "" && f.Severity.Rank() == 0 {
		return f, bad("未知的级别 %q（info、warning、major、critical）", "unknown severity %q (want info, warning, major or critical)", f.Severity)
	}
	f.Limit = 500
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 5000 {
			return f, bad("limit 应为 1 到 5000", "limit must be between 1 and 5000")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listFindings(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	f, err := alertFilter(r)
	if err != nil {
		return nil, err
	}
	return s.alerts().Findings(ctx, f, 0)
}

// AlertDetail is one alert with the findings behind it (their evidence) and its history.
type AlertDetail struct {
	Alert    alert.Alert     `json:"alert"`
	Findings []alert.Finding `json:"findings"`
	History  []alert.Event   `json:"history"`
	// Incident: for a forced-door, tamper or power alarm, the alerts raised by what the cabinet's
	// inventory found after it (issue 15) — one story for the leader.
	Incident []alert.Alert `json:"incident,omitempty"`
}

func (s *Server) showAlert(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	b := s.alerts()
	al, err := b.Alert(ctx, id)
	if err != nil {
		return nil, alertErr(err)
	}
	fs, err := b.Findings(ctx, alert.Filter{}, id)
	if err != nil {
		return nil, err
	}
	h, err := b.History(ctx, id)
	if err != nil {
		return nil, err
	}
	inc, err := b.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	return AlertDetail{al, fs, h, inc}, nil
}

type noteRequest struct {
	Note string `json:"note"`
}

func (s *Server) alertStep(resolve bool) handler {
	return func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		var req noteRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		b := s.alerts()
		if resolve {
			al, err := b.Resolve(ctx, a.Username, id, req.Note)
			return al, alertErr(err)
		}
		al, err := b.Acknowledge(ctx, a.Username, id, req.Note)
		return al, alertErr(err)
	}
}

func alertErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, alert.ErrNotFound):
		return &register.Error{Code: register.CodeNotFound, Text: custody.Text{ZH: "告警不存在", EN: "no such alert"}, Err: err}
	case errors.Is(err, alert.ErrResolved):
		return &register.Error{Code: register.CodeConflict, Text: custody.Text{ZH: "告警已解除", EN: "the alert is already resolved"}, Err: err}
	case errors.Is(err, alert.ErrNoNote):
		return &register.Error{Code: register.CodeInvalid, Text: custody.Text{ZH: "请填写处理说明", EN: "a note is required"}, Err: err}
	}
	var te *custody.TextError
	if errors.As(err, &te) {
		return &register.Error{Code: register.CodeInvalid, Text: te.Text, Err: err}
	}
	return err
}
