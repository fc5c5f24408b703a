package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// destructionCreateArgs are the arguments of custodyctl destruction create.
type destructionCreateArgs struct {
	reason string
	unit   string
}

func init() {
	add(define[destructionCreateArgs]("destruction create", "ITEM...",
		"list items for destruction (造册); a leader of the unit approves"))
}

func (a *destructionCreateArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.reason, "reason", "", "reason")
	fs.StringVar(&a.unit, "unit", "", "unit whose leader approves (default: mine)")
}

func (a *destructionCreateArgs) run(ctx context.Context, c *CLI, args []string) error {
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	var b apitype.Batch
	if err := c.call(ctx, "POST", "/api/v1/destructions", apitype.BatchRequest{Items: ids, Reason: a.reason, Unit: a.unit}, &b); err != nil {
		return err
	}
	return c.output(b, func(w io.Writer) {
		line(w, c.say("销毁批次 %d 已造册（%d 份），待领导审批：custodyctl approval approve %d\n", "destruction batch %d listed (%d items); a leader approves: custodyctl approval approve %d\n"), b.ID, len(b.Items), b.Approval)
	})
}
