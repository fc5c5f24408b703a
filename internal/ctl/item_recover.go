package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// itemRecoverArgs are the arguments of custodyctl item recover.
type itemRecoverArgs struct {
	cabinet string
	note    string
}

func init() {
	add(define[itemRecoverArgs]("item recover", "ID...",
		"put lost items that were found back into --cabinet (--note: where and how)"))
}

func (a *itemRecoverArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.cabinet, "cabinet", "", "cabinet code")
	fs.StringVar(&a.note, "note", "", "how they were found")
}

func (a *itemRecoverArgs) run(ctx context.Context, c *CLI, args []string) error {
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	var its []apitype.Item
	if err := c.call(ctx, "POST", "/api/v1/recoveries", map[string]any{"items": ids, "cabinet": a.cabinet, "note": a.note}, &its); err != nil {
		return err
	}
	return c.output(its, func(w io.Writer) {
		line(w, "%s\n", c.say("已找回入柜：", "recovered and stored:"))
		c.itemTable(w, its)
	})
}
