package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epcis"
	"github.com/custodyhq/custody/internal/register"
)

// epcisExporters may export the custody history as EPCIS (docs/epcis.md): the security auditor
// (安全审计员), whose job is reviewing that history and who sees no title in it, and the custodians
// and leaders who keep and answer for the register. Not the system or security administrator:
// of the 三员 they run the system and the people, not the register's history. Package register
// checks the same list and audits every export; a refusal here is audited by wrap.
var epcisExporters = []custody.Role{custody.Auditor, custody.Custodian, custody.Leader}

func (s *Server) epcisRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/epcis/events", roles: epcisExporters, h: s.epcisEvents},
	}
}

// epcisEvents is GET /api/v1/epcis/events?from=&to=&with_level=1: the EPCISDocument of the span.
func (s *Server) epcisEvents(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	q := r.URL.Query()
	withLevel := false
	switch q.Get("with_level") {
	case "", "0", "false":
	case "1", "true":
		withLevel = true
	default:
		return nil, &register.Error{Code: register.CodeInvalid, Text: custody.Text{ZH: "with_level 只能是 1 或 0", EN: "with_level must be 1 or 0"}}
	}
	recs, err := s.reg.CustodyRecords(ctx, a, register.CustodyQuery{From: q.Get("from"), To: q.Get("to"), WithLevel: withLevel, Format: "epcis"})
	if err != nil {
		return nil, err
	}
	o := s.opt.EPCIS
	o.Zone = s.reg.Zone()
	doc, err := epcis.Build(recs, o)
	var be *epcis.Error
	if errors.As(err, &be) {
		return nil, &register.Error{Code: register.CodeInvalid, Text: custody.Text{ZH: "无法导出 EPCIS：" + be.Text.ZH, EN: "cannot export EPCIS: " + be.Text.EN}}
	} else if err != nil {
		return nil, err
	}
	return doc, nil
}
