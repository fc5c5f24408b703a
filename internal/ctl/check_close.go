package ctl

import (
	"context"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkCloseArgs are the arguments of custodyctl check close.
type checkCloseArgs struct{}

func init() {
	add(define[checkCloseArgs]("check close", "ID",
		"close a check signed by two people; the signed 清查记录 is stored"))
}

func (*checkCloseArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/close")
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return exitf(ExitUsage, "expected ID")
	}
	var ch apitype.Check
	if err := c.call(ctx, "POST", path, nil, &ch); err != nil {
		return err
	}
	return c.output(ch, func(w io.Writer) {
		line(w, c.say("清查 %d 已结束，清查记录已存档。下载：custodyctl check report %d -o 清查记录.pdf\n",
			"check %d closed; its record is stored. Download: custodyctl check report %d -o check.pdf\n"), ch.ID, ch.ID)
		c.checkTable(w, []apitype.Check{ch})
	})
}
