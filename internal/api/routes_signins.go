package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/register"
)

// signInRoutes are the live sign-ins (issue 21 point 10): console sessions and API tokens, which
// only the security administrator lists and ends. The router refuses everyone else and audits
// the refusal; the register refuses them again.
func (s *Server) signInRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/signins", roles: secadmins, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.SignIns(ctx, a, r.URL.Query().Get("user"))
		}},
		{method: "POST", path: "/api/v1/signins/{id}/revoke", roles: secadmins, h: byID(s.reg.RevokeSignIn)},
		{method: "POST", path: "/api/v1/people/{username}/signout", roles: secadmins, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.RevokeSignIns(ctx, a, r.PathValue("username"))
		}},
	}
}
