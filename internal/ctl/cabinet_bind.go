package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// bindArgs are the arguments of custodyctl cabinet bind and desk bind: the same command but
// for what it binds.
type bindArgs struct {
	kind, zh string
}

func init() {
	add(defineNew("cabinet bind", "CODE AGENT", bindHelp("cabinet"), func() *bindArgs { return &bindArgs{kind: "cabinet", zh: "密码柜"} }))
}

func bindHelp(kind string) string {
	return "bind the " + kind + " to another agent (\"\" for none); only that agent's observations about it are accepted (administrator only)"
}

// run binds a cabinet or desk to an agent ("" unbinds): administrator only, audited.
func (a *bindArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "CODE AGENT"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/"+a.kind+"s/"+url.PathEscape(args[0])+"/bind", map[string]string{"agent": args[1]}, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say(fmt.Sprintf("%s %s 已绑定到代理 %q", a.zh, args[0], args[1]), fmt.Sprintf("%s %s bound to agent %q", a.kind, args[0], args[1])))
	return nil
}
