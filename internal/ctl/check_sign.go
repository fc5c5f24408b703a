package ctl

import (
	"context"
	"flag"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkSignArgs are the arguments of custodyctl check sign.
type checkSignArgs struct {
	note     string
	pinStdin bool
}

func init() {
	add(define[checkSignArgs]("check sign", "ID",
		"sign the check as yourself with your own badge PIN; --note is required over discrepancies"))
}

func (a *checkSignArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "the signer's note: cause of the discrepancies and what is done")
	fs.BoolVar(&a.pinStdin, "pin-stdin", false, "read your PIN from standard input")
}

func (a *checkSignArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/sign")
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return exitf(ExitUsage, "expected ID")
	}
	req := apitype.SignRequest{Note: a.note}
	if req.PIN, err = c.password(a.pinStdin, "本人工作证 PIN：", "Your badge PIN: "); err != nil {
		return err
	}
	var ch apitype.Check
	if err := c.call(ctx, "POST", path, req, &ch); err != nil {
		return err
	}
	return c.output(ch, showCheck(c, ch, false))
}
