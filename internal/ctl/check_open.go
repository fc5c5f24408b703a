package ctl

import (
	"context"
	"flag"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkOpenArgs are the arguments of custodyctl check open.
type checkOpenArgs struct {
	unit string
}

func init() {
	add(define[checkOpenArgs]("check open", "",
		"open the periodic check (清查) of a unit: --unit CODE"))
}

func (a *checkOpenArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.unit, "unit", "", "unit code (required)")
}

func (a *checkOpenArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.unit == "" {
		return exitf(ExitUsage, "%s", c.say("需要 --unit 单位代码", "--unit is required"))
	}
	var ch apitype.Check
	if err := c.call(ctx, "POST", "/api/v1/checks", apitype.OpenCheckRequest{Unit: a.unit}, &ch); err != nil {
		return err
	}
	return c.output(ch, showCheck(c, ch, false))
}
