package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// destructionListArgs are the arguments of custodyctl destruction list.
type destructionListArgs struct{}

func init() {
	add(define[destructionListArgs]("destruction list", "",
		"list destruction batches"))
}

func (*destructionListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var bs []apitype.Batch
	if err := c.call(ctx, "GET", "/api/v1/destructions", nil, &bs); err != nil {
		return err
	}
	return c.output(bs, func(w io.Writer) {
		fmt.Fprintln(w, c.say("批次\t状态\t份数\t审批\t造册人\t理由\t销毁时间", "BATCH\tSTATE\tITEMS\tAPPROVAL\tLISTED BY\tREASON\tDESTROYED"))
		for _, b := range bs {
			fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", b.ID, b.State, len(b.Items), b.Approval, b.CreatedBy, b.Reason, b.Destroyed)
		}
	})
}
