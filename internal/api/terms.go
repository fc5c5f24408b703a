package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Secrecy terms, level changes, declassification and release (issue 14 point 6). Documents are
// named in the body, not the path: a 发文字号 may hold any character.

type decisionRequest struct {
	Number string `json:"number"`
	register.Decision
}

func (s *Server) termRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/documents/expiring", roles: []custody.Role{custody.Custodian, custody.Leader, custody.SecAdmin}, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			days := register.TermReminder
			if v := r.URL.Query().Get("days"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 3660 {
					return nil, bad("days 应为 0 到 3660 的整数", "days must be an integer from 0 to 3660")
				}
				days = n
			}
			return s.reg.Expiring(ctx, a, days)
		}},
		{method: "POST", path: "/api/v1/level-changes", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			var req decisionRequest
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return s.reg.ChangeLevel(ctx, a, req.Number, req.Decision)
		}},
		{method: "POST", path: "/api/v1/declassifications", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			var req decisionRequest
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return s.reg.Declassify(ctx, a, req.Number, req.Decision)
		}},
		{method: "GET", path: "/api/v1/destructions/{id}/list", roles: reporters, raw: s.destructionList},
		{method: "POST", path: "/api/v1/releases", roles: custodians, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			var req struct {
				Items []int64 `json:"items"`
				Note  string  `json:"note"`
			}
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return s.reg.Release(ctx, a, req.Items, req.Note)
		}},
	}
}
