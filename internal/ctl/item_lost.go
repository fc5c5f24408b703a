package ctl

import (
	"context"
	"flag"
	"io"
)

// itemLostArgs are the arguments of custodyctl item lost.
type itemLostArgs struct {
	note string
}

func init() {
	add(define[itemLostArgs]("item lost", "ID...",
		"report items lost at once (--note: when, where, how)"))
}

func (a *itemLostArgs) flags(fs *flag.FlagSet) { fs.StringVar(&a.note, "note", "", "what happened") }

func (a *itemLostArgs) run(ctx context.Context, c *CLI, args []string) error {
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	// The API answers the loss case the report opened (追查), not a list of items.
	var lc lossCase
	if err := c.call(ctx, "POST", "/api/v1/losses", map[string]any{"items": ids, "note": a.note}, &lc); err != nil {
		return err
	}
	return c.output(lc, func(w io.Writer) {
		line(w, c.say("已报失，已立案追查 %d；请立即报告保密部门（custodyctl loss show %d）：\n", "reported lost; loss case %d opened — tell the secrecy office at once (custodyctl loss show %d):\n"), lc.ID, lc.ID)
		c.copyTable(w, lc.Items)
	})
}
