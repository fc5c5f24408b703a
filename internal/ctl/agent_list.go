package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// agentListArgs are the arguments of custodyctl agent list.
type agentListArgs struct{}

func init() {
	add(define[agentListArgs]("agent list", "",
		"list enrolled agents"))
}

func (*agentListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var as []apitype.Agent
	if err := c.call(ctx, "GET", "/api/v1/agents", nil, &as); err != nil {
		return err
	}
	return c.output(as, func(w io.Writer) {
		fmt.Fprintln(w, c.say("代理\t登记时间\t吊销时间", "AGENT\tENROLLED\tREVOKED"))
		for _, a := range as {
			fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.Created, a.Revoked)
		}
	})
}
