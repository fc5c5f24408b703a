package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
)

// Trust boundaries (issue 12): logging out, unlocking an account locked after wrong passwords
// (security administrator), and binding a cabinet or desk to another agent (administrator).
func init() {
	add(
		command{name: "logout", help: "log out: the saved token stops working at once and is removed",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := c.call(ctx, "POST", "/api/v1/logout", nil, nil); err != nil {
					return err
				}
				if err := os.Remove(c.tokenPath()); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("remove the saved token: %w", err)
				}
				fmt.Fprintln(c.Stdout, c.say("已注销", "logged out"))
				return nil
			}},
		command{name: "person unlock", args: "USERNAME", help: "unlock an account locked after repeated wrong passwords (security administrator only)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "USERNAME"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/unlock", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("已解锁账户 "+args[0], "unlocked "+args[0]))
				return nil
			}},
		bindCommand("cabinet", "密码柜"),
		bindCommand("desk", "工作台"),
	)
}

// bindCommand binds a cabinet or desk to an agent ("" unbinds): administrator only, audited.
func bindCommand(kind, zh string) command {
	return command{name: kind + " bind", args: "CODE AGENT", help: "bind the " + kind + " to another agent (\"\" for none); only that agent's observations about it are accepted (administrator only)",
		run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
			if err := needArgs(args, 2, "CODE AGENT"); err != nil {
				return err
			}
			if err := c.call(ctx, "POST", "/api/v1/"+kind+"s/"+url.PathEscape(args[0])+"/bind", map[string]string{"agent": args[1]}, nil); err != nil {
				return err
			}
			fmt.Fprintln(c.Stdout, c.say(fmt.Sprintf("%s %s 已绑定到代理 %q", zh, args[0], args[1]), fmt.Sprintf("%s %s bound to agent %q", kind, args[0], args[1])))
			return nil
		}}
}
