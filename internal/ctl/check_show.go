package ctl

import (
	"context"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkShowArgs are the arguments of custodyctl check show.
type checkShowArgs struct{}

func init() {
	add(define[checkShowArgs]("check show", "ID",
		"a check with every copy's outcome (discrepancies marked !) and its signatures"))
}

func (*checkShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "")
	if err != nil {
		return err
	}
	var ch apitype.Check
	if err := c.call(ctx, "GET", path, nil, &ch); err != nil {
		return err
	}
	return c.output(ch, showCheck(c, ch, true))
}
