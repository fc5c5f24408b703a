package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverAbandonArgs are the arguments of custodyctl handover abandon.
type handoverAbandonArgs struct {
	reason string
}

func init() {
	add(define[handoverAbandonArgs]("handover abandon", "ID",
		"abandon a handover, saying why (--reason, required); nothing changes"))
}

func (a *handoverAbandonArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.reason, "reason", "", "why it is abandoned (required; kept in the register and its audit record)")
}

func (a *handoverAbandonArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := sessionPath(args, "/abandon")
	if err != nil {
		return err
	}
	var s apitype.Session
	if err := c.call(ctx, "POST", path, map[string]string{"reason": a.reason}, &s); err != nil {
		return err
	}
	return c.output(s, func(w io.Writer) {
		line(w, c.say("交接 %d 已放弃，未作任何更改\n", "handover %d abandoned; nothing changed\n"), s.ID)
	})
}
