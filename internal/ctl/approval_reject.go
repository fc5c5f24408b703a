package ctl

import (
	"context"
	"flag"
)

// approvalRejectArgs are the arguments of custodyctl approval reject.
type approvalRejectArgs struct {
	note string
}

func init() {
	add(define[approvalRejectArgs]("approval reject", "ID",
		"reject with a note"))
}

func (a *approvalRejectArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "why (required)")
}

func (a *approvalRejectArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.note == "" {
		return exitf(ExitUsage, "--note is required when rejecting")
	}
	return c.decide(ctx, args, false, a.note)
}
