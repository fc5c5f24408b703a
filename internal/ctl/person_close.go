package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// personCloseArgs are the arguments of custodyctl person close.
type personCloseArgs struct{}

func init() {
	add(define[personCloseArgs]("person close", "USERNAME",
		"close an account (refused while the person holds anything)"))
}

func (*personCloseArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "USERNAME"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/close", nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已停用账号 "+args[0], "account "+args[0]+" closed"))
	return nil
}
