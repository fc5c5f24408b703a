package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/register"
)

// encodeRoutes is the tag-encoding station (issue 8): a custodian writes an item's EPC onto the
// blank tag lying on a desk's reader. Only custodians: the 三员 never handle copies or titles.
func (s *Server) encodeRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/items/{id}/encode", roles: custodians, h: s.encodeTag},
	}
}

func (s *Server) encodeTag(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Desk string `json:"desk"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Desk == "" {
		return nil, bad("缺少 desk（工作台代码）", "desk (the desk code) is missing")
	}
	return s.reg.EncodeTag(ctx, a, id, in.Desk, s.opt.Station)
}
