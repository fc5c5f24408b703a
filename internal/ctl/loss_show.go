package ctl

import (
	"context"
	"io"
)

// lossShowArgs are the arguments of custodyctl loss show.
type lossShowArgs struct{}

func init() {
	add(define[lossShowArgs]("loss show", "CASE",
		"a loss case with its copies and the history of the search"))
}

func (*lossShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := casePath(c, args, "")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
}
