package ctl

import (
	"context"
	"time"
)

// manArgs are the arguments of custodyctl man.
type manArgs struct{}

func init() {
	add(define[manArgs]("man", "",
		"print the manual page custodyctl(1) in roff (packages install it)"))
}

func (*manArgs) run(ctx context.Context, c *CLI, args []string) error {
	manPage(c.Stdout, time.Now())
	return nil
}
