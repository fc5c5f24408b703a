package ctl

import (
	"context"
	"flag"
	"io"
)

// itemReleaseArgs are the arguments of custodyctl item release.
type itemReleaseArgs struct {
	note string
}

func init() {
	add(define[itemReleaseArgs]("item release", "ID...",
		"release copies of a declassified document from custody (解除管理; they must be in their cabinet)"))
}

func (a *itemReleaseArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "remark (备注)")
}

func (a *itemReleaseArgs) run(ctx context.Context, c *CLI, args []string) error {
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return exitf(ExitUsage, "expected item IDs")
	}
	var its []copyInfo
	if err := c.call(ctx, "POST", "/api/v1/releases", map[string]any{"items": ids, "note": a.note}, &its); err != nil {
		return err
	}
	return c.output(its, func(w io.Writer) {
		line(w, "%s\n", c.say("已解除管理：", "released from custody:"))
		c.copyTable(w, its)
	})
}
