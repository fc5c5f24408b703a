package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// grantsArgs are the arguments of custodyctl grants.
type grantsArgs struct{}

func init() {
	add(define[grantsArgs]("grants", "",
		"list the approval authorities and rights granted"))
}

func (*grantsArgs) run(ctx context.Context, c *CLI, args []string) error {
	var gs []apitype.PersonGrant
	if err := c.call(ctx, "GET", "/api/v1/grants", nil, &gs); err != nil {
		return err
	}
	return c.output(gs, func(w io.Writer) {
		fmt.Fprintln(w, c.say("用户名\t权限\t单位\t授予人\t授予时间", "USERNAME\tGRANT\tUNIT\tGRANTED BY\tAT"))
		for _, g := range gs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", g.Username, c.say(g.Text.ZH, g.Text.EN), g.Unit, g.GrantedBy, c.when(g.GrantedAt))
		}
	})
}
