package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/custodyhq/custody/internal/register"
)

// Remote lock and unlock of a cabinet (issue 15): custodians and leaders lock; custodians unlock
// for a number of seconds, with a reason. The answer is the controller's, through the agent.
func init() {
	var (
		seconds int
		reason  string
	)
	show := func(c *CLI, out register.LockOutcome) error {
		return c.output(out, func(w io.Writer) {
			if out.Action == "unlock" {
				fmt.Fprintf(w, c.say("密码柜 %s 已开锁 %d 秒（代理 %s），到时自动上锁\n", "cabinet %s unlocked for %d s (agent %s); it relocks by itself\n"), out.Cabinet, out.Seconds, out.Agent)
				return
			}
			fmt.Fprintf(w, c.say("密码柜 %s 已上锁（代理 %s）\n", "cabinet %s locked (agent %s)\n"), out.Cabinet, out.Agent)
		})
	}
	add(
		command{name: "cabinet lock", args: "CODE", help: "lock a cabinet remotely (custodians, leaders)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "CODE"); err != nil {
					return err
				}
				var out register.LockOutcome
				if err := c.call(ctx, "POST", "/api/v1/cabinets/"+url.PathEscape(args[0])+"/lock", map[string]any{}, &out); err != nil {
					return err
				}
				return show(c, out)
			}},
		command{name: "cabinet unlock", args: "CODE", help: "unlock a cabinet remotely for --seconds, with a --reason (custodians; audited)",
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&seconds, "seconds", register.DefaultUnlockS, "how long the bolt stays open (1–600)")
				fs.StringVar(&reason, "reason", "", "why (事由; required, audited)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "CODE"); err != nil {
					return err
				}
				if strings.TrimSpace(reason) == "" {
					return exitf(ExitUsage, "%s", c.say("需要 --reason 写明开锁事由", "--reason is required"))
				}
				var out register.LockOutcome
				if err := c.call(ctx, "POST", "/api/v1/cabinets/"+url.PathEscape(args[0])+"/unlock", map[string]any{"seconds": seconds, "reason": reason}, &out); err != nil {
					return err
				}
				return show(c, out)
			}},
	)
}
