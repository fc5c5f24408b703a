package ctl

import (
	"context"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// approvalShowArgs are the arguments of custodyctl approval show.
type approvalShowArgs struct{}

func init() {
	add(define[approvalShowArgs]("approval show", "ID",
		"show one approval"))
}

func (*approvalShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/approvals", "")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, ap apitype.Approval) { c.approvalTable(w, []apitype.Approval{ap}) })
}
