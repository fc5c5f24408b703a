package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// destructionCancelArgs are the arguments of custodyctl destruction cancel.
type destructionCancelArgs struct {
	reason string
}

func init() {
	add(define[destructionCancelArgs]("destruction cancel", "ID",
		"take a batch that was not destroyed off the list; its items go back to their cabinets"))
}

func (a *destructionCancelArgs) flags(fs *flag.FlagSet) { fs.StringVar(&a.reason, "reason", "", "why") }

func (a *destructionCancelArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/destructions", "/cancel")
	if err != nil {
		return err
	}
	var b apitype.Batch
	if err := c.call(ctx, "POST", path, map[string]string{"reason": a.reason}, &b); err != nil {
		return err
	}
	return c.output(b, func(w io.Writer) {
		line(w, c.say("销毁批次 %d 已撤销\n", "destruction batch %d cancelled\n"), b.ID)
	})
}
