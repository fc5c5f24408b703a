package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// inventoryRunsArgs are the arguments of custodyctl inventory runs.
type inventoryRunsArgs struct{}

func init() {
	add(define[inventoryRunsArgs]("inventory runs", "",
		"the latest nightly inventories and their morning summaries"))
}

func (*inventoryRunsArgs) run(ctx context.Context, c *CLI, args []string) error {
	var runs []inventoryRun
	if err := c.call(ctx, "GET", "/api/v1/inventory/runs", nil, &runs); err != nil {
		return err
	}
	return c.output(runs, func(w io.Writer) {
		fmt.Fprintln(w, c.say("开始\t单位\t柜数\t已清点\t未清点\t未解除告警", "START\tUNIT\tCABINETS\tREPORTED\tMISSED\tOPEN ALERTS"))
		for _, r := range runs {
			for _, u := range r.Summary {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%d\n", c.when(r.Start), u.Unit, u.Cabinets, u.Reported, strings.Join(u.Missed, ","), u.OpenAlerts)
			}
			if len(r.Summary) == 0 {
				fmt.Fprintf(w, "%s\t-\t%d\t-\t-\t-\n", c.when(r.Start), len(r.Commanded))
			}
		}
	})
}
