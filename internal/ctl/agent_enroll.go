package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// agentEnrollArgs are the arguments of custodyctl agent enroll.
type agentEnrollArgs struct{}

func init() {
	add(define[agentEnrollArgs]("agent enroll", "ID",
		"enroll a custody-agent; its key is shown once"))
}

func (*agentEnrollArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	var ag struct {
		apitype.Agent
		Key string `json:"key"`
	}
	if err := c.call(ctx, "POST", "/api/v1/agents", map[string]string{"id": args[0]}, &ag); err != nil {
		return err
	}
	return c.output(ag, func(w io.Writer) {
		fmt.Fprintf(w, c.say("代理 %s 已登记。密钥（仅显示一次，写入代理配置的 key）：\n%s\n", "agent %s enrolled. Key (shown once; put it in the agent's config as key):\n%s\n"), ag.ID, ag.Key)
	})
}
