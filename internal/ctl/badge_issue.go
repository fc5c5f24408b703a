package ctl

import (
	"context"
	"fmt"
)

// badgeIssueArgs are the arguments of custodyctl badge issue.
type badgeIssueArgs struct{}

func init() {
	add(define[badgeIssueArgs]("badge issue", "USERNAME CODE",
		"issue a badge (admin); its holder then chooses the PIN with custodyctl badge pin"))
}

func (*badgeIssueArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "USERNAME CODE"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/badges", map[string]string{"username": args[0], "code": args[1]}, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已为 "+args[0]+" 发放工作证 "+args[1]+"；PIN 由持证人本人设置：custodyctl badge pin",
		"badge "+args[1]+" issued to "+args[0]+"; its holder chooses the PIN: custodyctl badge pin"))
	return nil
}
