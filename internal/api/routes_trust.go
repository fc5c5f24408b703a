package api

import (
	"context"
	"net"
	"net/http"

	"github.com/custodyhq/custody/internal/register"
)

// trustRoutes are the trust boundaries (issue 12): which agent speaks for which cabinet or desk.
// Only the system administrator rebinds; every rebinding is audited, and ingest is told at once
// so the old agent's next observation about the place is refused.
func (s *Server) trustRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/cabinets/{code}/bind", roles: admins, h: s.bindPlace(register.PlaceCabinet)},
		{method: "POST", path: "/api/v1/desks/{code}/bind", roles: admins, h: s.bindPlace(register.PlaceDesk)},
		{method: "POST", path: "/api/v1/logout", roles: anyone, h: s.logout},
		{method: "POST", path: "/api/v1/people/{username}/unlock", roles: secadmins, h: s.unlock},
	}
}

// remoteHost is the client's address without the port, for the per-address login limit.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logout revokes the token the request carries.
func (s *Server) logout(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	if err := s.reg.Logout(ctx, a); err != nil {
		return nil, err
	}
	return map[string]string{"status": "logged_out"}, nil
}

// unlock lifts an account's lock after repeated wrong passwords (security administrator only).
func (s *Server) unlock(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	u := r.PathValue("username")
	if err := s.reg.Unlock(ctx, a, u); err != nil {
		return nil, err
	}
	return map[string]string{"status": "unlocked", "username": u}, nil
}

// PlacesRebound, if set by the wiring, is told after a cabinet or desk was bound to another
// agent, so ingest forgets its cached bindings.
type PlacesRebound func()

func (s *Server) bindPlace(kind string) handler {
	return func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
		var in struct {
			Agent *string `json:"agent"`
		}
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		if in.Agent == nil {
			return nil, bad("缺少 agent（采集代理标识；空字符串表示解除绑定）", "agent (the agent id; empty to unbind) is missing")
		}
		code := r.PathValue("code")
		if err := s.reg.BindPlace(ctx, a, kind, code, *in.Agent); err != nil {
			return nil, err
		}
		if s.opt.OnRebind != nil {
			s.opt.OnRebind()
		}
		return map[string]string{"status": "bound", kind: code, "agent": *in.Agent}, nil
	}
}
