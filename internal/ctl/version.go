package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/buildinfo"
)

// versionArgs are the arguments of custodyctl version.
type versionArgs struct{}

func init() {
	add(define[versionArgs]("version", "",
		"custodyctl's build, and custodyd's build and time zone when it answers (also: --version)"))
}

func (*versionArgs) run(ctx context.Context, c *CLI, args []string) error {
	type server struct {
		TimeZone string         `json:"time_zone"`
		Label    string         `json:"time_zone_label"`
		Build    buildinfo.Info `json:"build"`
	}
	v := struct {
		Client buildinfo.Info `json:"custodyctl"`
		Server *server        `json:"custodyd,omitempty"`
	}{Client: buildinfo.Get()}
	var s server
	if err := c.call(ctx, "GET", "/api/v1/site", nil, &s); err == nil {
		v.Server = &s
	}
	return c.output(v, func(w io.Writer) {
		fmt.Fprint(w, buildinfo.Line("custodyctl"))
		if v.Server == nil {
			line(w, "%s\n", c.say("custodyd：未连接或未登录（custodyctl login）", "custodyd: not reachable or not logged in (custodyctl login)"))
			return
		}
		fmt.Fprintf(w, "custodyd %s\n", s.Build.String())
		line(w, c.say("时区：%s（%s）\n", "time zone: %s (%s)\n"), s.TimeZone, s.Label)
	})
}
