package ctl

import (
	"context"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// transitShowArgs are the arguments of custodyctl transit show.
type transitShowArgs struct{}

func init() {
	add(define[transitShowArgs]("transit show", "ID",
		"one transit with its copies: courier, envelope number, expected arrival, receipt"))
}

func (*transitShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := transitPath(args, "")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, t apitype.Transit) { c.transitTable(w, t) })
}
