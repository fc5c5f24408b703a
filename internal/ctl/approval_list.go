package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// approvalListArgs are the arguments of custodyctl approval list.
type approvalListArgs struct {
	pending bool
}

func init() {
	add(define[approvalListArgs]("approval list", "",
		"list approvals (--pending: undecided only)"))
}

func (a *approvalListArgs) flags(fs *flag.FlagSet) {
	fs.BoolVar(&a.pending, "pending", false, "only undecided approvals")
}

func (a *approvalListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/approvals"
	if a.pending {
		path += "?pending=1"
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, aps []apitype.Approval) { c.approvalTable(w, aps) })
}
