package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/report"
)

// Exports built from the alert book (issue 14 point 9): GET /api/v1/alerts?format=csv|pdf is the
// printed alert list, marked with the highest level it names and that level's longest term,
// like every paper. The JSON answer is unchanged.

func (s *Server) alertList(w http.ResponseWriter, r *http.Request) {
	f, err := alertFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.alerts().Alerts(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	var mark string
	if format == "csv" || format == "pdf" {
		if mark, err = s.alertsMark(r.Context(), as); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var fields []report.Field
	for _, p := range []struct{ label, key string }{{"状态", "state"}, {"类型", "kind"}, {"柜", "cabinet"}, {"级别", "severity"}} {
		if v := r.URL.Query().Get(p.key); v != "" {
			fields = append(fields, report.Field{Label: p.label, Value: v})
		}
	}
	s.paper(w, r, "alerts", as, func() report.Table { return report.Alerts(fields, alertRows(as), mark, s.reg.Zone()) })
}

// alertsMark is the mark of the copies the alerts' findings name (and of the alerts' own levels,
// for findings about a document or a cabinet).
func (s *Server) alertsMark(ctx context.Context, as []alert.Alert) (string, error) {
	var levels []custody.Level
	var ids []int64
	for _, a := range as {
		if a.Level != "" {
			levels = append(levels, a.Level)
		}
		fs, err := s.alerts().Findings(ctx, alert.Filter{}, a.ID)
		if err != nil {
			return "", err
		}
		for _, f := range fs {
			if f.ItemID != 0 {
				ids = append(ids, f.ItemID)
			}
		}
	}
	return s.reg.MarkOfItems(ctx, ids, levels...)
}

func alertRows(as []alert.Alert) []report.AlertRow {
	out := make([]report.AlertRow, len(as))
	for i, a := range as {
		handled := ""
		switch {
		case a.ResolvedBy != "":
			handled = "解除：" + a.ResolvedBy + "，" + a.ResolveNote
		case a.AckedBy != "":
			handled = "确认：" + a.AckedBy + "，" + a.AckNote
		}
		place := a.Cabinet
		if a.Room != "" {
			place += " " + a.Room
		}
		out[i] = report.AlertRow{Ref: a.Ref, Kind: a.KindText.ZH, Severity: a.Severity.Text().ZH, Level: a.Level.Text().ZH, Place: place,
			State: a.State.Text().ZH, Count: a.Count, Opened: a.OpenedAt, Handled: handled}
	}
	return out
}

// destructionList is the 销毁清册 of a batch in any state (issue 14 points 4 and 9).
func (s *Server) destructionList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.reg.DestructionListOf(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paper(w, r, fmt.Sprintf("destruction-list-%d", id), l, func() report.Table { return report.DestructionList(l, s.reg.Zone()) })
}
