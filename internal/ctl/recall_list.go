package ctl

import (
	"context"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// recallListArgs are the arguments of custodyctl recall list.
type recallListArgs struct{}

func init() {
	add(define[recallListArgs]("recall list", "",
		"list recall campaigns with their progress"))
}

func (*recallListArgs) run(ctx context.Context, c *CLI, args []string) error {
	return callAndPrint(c, ctx, "GET", "/api/v1/recalls", nil, func(w io.Writer, rcs []apitype.Recall) { c.recallTable(w, rcs) })
}
