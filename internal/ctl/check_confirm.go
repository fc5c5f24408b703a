package ctl

import (
	"context"
	"flag"
	"io"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkConfirmArgs are the arguments of custodyctl check confirm.
type checkConfirmArgs struct {
	badge    string
	note     string
	pinStdin bool
}

func init() {
	add(define[checkConfirmArgs]("check confirm", "ID ITEM",
		"confirm a copy out with a person: the holder as themselves; or the custodian with --badge (the holder's) and the holder's PIN; in transit --note"))
}

func (a *checkConfirmArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.badge, "badge", "", "the holder's badge code, scanned at the custodian's desk")
	fs.StringVar(&a.note, "note", "", "in transit: who confirmed it and how")
	fs.BoolVar(&a.pinStdin, "pin-stdin", false, "read the holder's PIN from standard input")
}

func (a *checkConfirmArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/confirmations")
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return exitf(ExitUsage, "expected ID ITEM")
	}
	item, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || item <= 0 {
		return exitf(ExitUsage, "ITEM %q is not a positive number", args[1])
	}
	req := apitype.ConfirmRequest{Item: item, Badge: a.badge, Note: a.note}
	if a.badge != "" {
		if req.PIN, err = c.password(a.pinStdin, "持有人 PIN：", "Holder's PIN: "); err != nil {
			return err
		}
	}
	var ch apitype.Check
	if err := c.call(ctx, "POST", path, req, &ch); err != nil {
		return err
	}
	return c.output(ch, func(w io.Writer) {
		line(w, c.say("清查 %d：文件份 %d 已确认\n", "check %d: item %d confirmed\n"), ch.ID, item)
	})
}
