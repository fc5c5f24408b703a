package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkInventoryArgs are the arguments of custodyctl check inventory.
type checkInventoryArgs struct{}

func init() {
	add(define[checkInventoryArgs]("check inventory", "ID",
		"ask every cabinet of the check's unit for an inventory now (the reports after the opening are what the check judges by)"))
}

func (*checkInventoryArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/inventory")
	if err != nil {
		return err
	}
	var sent []apitype.CheckInventoryCommand
	if err := c.call(ctx, "POST", path, nil, &sent); err != nil {
		return err
	}
	return c.output(sent, func(w io.Writer) {
		fmt.Fprintln(w, c.say("密码柜\t采集代理\t已下达\t原因", "CABINET\tAGENT\tSENT\tERROR"))
		for _, s := range sent {
			fmt.Fprintf(w, "%s\t%s\t%v\t%s\n", s.Cabinet, s.Agent, s.Sent, s.Error)
		}
	})
}
