package ctl

import (
	"context"
	"flag"
)

// approvalApproveArgs are the arguments of custodyctl approval approve.
type approvalApproveArgs struct {
	note    string
	consent string
}

func init() {
	add(define[approvalApproveArgs]("approval approve", "ID",
		"approve (the authority the approval policy names, in the approval's unit)"))
}

func (a *approvalApproveArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "note")
	fs.StringVar(&a.consent, "consent", "", "scope widening: the document number of the issuing unit's consent")
}

func (a *approvalApproveArgs) run(ctx context.Context, c *CLI, args []string) error {
	return c.decideWith(ctx, args, true, a.note, a.consent)
}
