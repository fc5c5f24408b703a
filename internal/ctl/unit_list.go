package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// unitListArgs are the arguments of custodyctl unit list.
type unitListArgs struct{}

func init() {
	add(define[unitListArgs]("unit list", "",
		"list units"))
}

func (*unitListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var us []apitype.Unit
	if err := c.call(ctx, "GET", "/api/v1/units", nil, &us); err != nil {
		return err
	}
	return c.output(us, func(w io.Writer) {
		fmt.Fprintln(w, c.say("代码\t名称", "CODE\tNAME"))
		for _, u := range us {
			fmt.Fprintf(w, "%s\t%s\n", u.Code, u.Name)
		}
	})
}
