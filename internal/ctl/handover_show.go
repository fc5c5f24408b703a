package ctl

import (
	"context"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverShowArgs are the arguments of custodyctl handover show.
type handoverShowArgs struct{}

func init() {
	add(define[handoverShowArgs]("handover show", "ID",
		"show a handover with its running count"))
}

func (*handoverShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := sessionPath(args, "")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, s apitype.Session) { c.sessionTable(w, s) })
}
