package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// agentRevokeArgs are the arguments of custodyctl agent revoke.
type agentRevokeArgs struct{}

func init() {
	add(define[agentRevokeArgs]("agent revoke", "ID",
		"revoke an agent at once"))
}

func (*agentRevokeArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/agents/"+url.PathEscape(args[0])+"/revoke", nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已吊销代理 "+args[0], "revoked agent "+args[0]))
	return nil
}
