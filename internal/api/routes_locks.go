package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/register"
)

// lockRoutes are the remote lock and unlock of a cabinet (issue 15). Anyone signed in reaches
// them so that every refused attempt is audited by the register: custodians and leaders lock,
// only custodians unlock, with a reason.
func (s *Server) lockRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/cabinets/{code}/lock", roles: anyone, h: s.lockCabinet},
		{method: "POST", path: "/api/v1/cabinets/{code}/unlock", roles: anyone, h: s.unlockCabinet},
	}
}

func (s *Server) lockCabinet(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	return s.reg.LockCabinet(ctx, a, r.PathValue("code"), s.opt.Locks)
}

func (s *Server) unlockCabinet(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var in struct {
		Seconds int    `json:"seconds"`
		Reason  string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return s.reg.UnlockCabinet(ctx, a, r.PathValue("code"), in.Seconds, in.Reason, s.opt.Locks)
}
