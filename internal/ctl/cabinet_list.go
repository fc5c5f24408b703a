package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// cabinetListArgs are the arguments of custodyctl cabinet list.
type cabinetListArgs struct{}

func init() {
	add(define[cabinetListArgs]("cabinet list", "",
		"list cabinets"))
}

func (*cabinetListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var cs []apitype.Cabinet
	if err := c.call(ctx, "GET", "/api/v1/cabinets", nil, &cs); err != nil {
		return err
	}
	return c.output(cs, func(w io.Writer) {
		fmt.Fprintln(w, c.say("代码\t名称\t房间\t代理", "CODE\tNAME\tROOM\tAGENT"))
		for _, cab := range cs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cab.Code, cab.Name, cab.Room, cab.Agent)
		}
	})
}
