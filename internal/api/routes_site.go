package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/register"
)

// siteInfo tells a client how this custodyd is set up: custodyctl shows every time in the site's
// zone (not the zone of the laptop it runs on) and can name the server's build.
type siteInfo struct {
	TimeZone  string         `json:"time_zone"`
	ZoneLabel string         `json:"time_zone_label"`
	Build     buildinfo.Info `json:"build"`
}

func (s *Server) siteRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/site", roles: anyone, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			z := s.reg.Zone()
			return siteInfo{TimeZone: z.Name(), ZoneLabel: z.Label(locale(r)), Build: buildinfo.Get()}, nil
		}},
	}
}
