package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// personUnlockArgs are the arguments of custodyctl person unlock.
type personUnlockArgs struct{}

func init() {
	add(define[personUnlockArgs]("person unlock", "USERNAME",
		"unlock an account locked after repeated wrong passwords (security administrator only)"))
}

func (*personUnlockArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "USERNAME"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/unlock", nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已解锁账户 "+args[0], "unlocked "+args[0]))
	return nil
}
