package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// badgeResetArgs are the arguments of custodyctl badge reset.
type badgeResetArgs struct{}

func init() {
	add(define[badgeResetArgs]("badge reset", "USERNAME",
		"reset a badge (admin): its PIN is cleared until its holder chooses a new one"))
}

func (*badgeResetArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "USERNAME"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/badges/"+url.PathEscape(args[0])+"/reset", nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已重置 "+args[0]+" 的工作证：持证人须重新设置 PIN 后才能签字", args[0]+"'s badge is reset: it signs nothing until its holder chooses a new PIN"))
	return nil
}
