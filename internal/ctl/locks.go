package ctl

import (
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// Remote lock and unlock of a cabinet (issue 15): custodians and leaders lock; custodians unlock
// for a number of seconds, with a reason. The answer is the controller's, through the agent.

func showLock(c *CLI, out apitype.LockOutcome) error {
	return c.output(out, func(w io.Writer) {
		if out.Action == "unlock" {
			fmt.Fprintf(w, c.say("密码柜 %s 已开锁 %d 秒（代理 %s），到时自动上锁\n", "cabinet %s unlocked for %d s (agent %s); it relocks by itself\n"), out.Cabinet, out.Seconds, out.Agent)
			return
		}
		fmt.Fprintf(w, c.say("密码柜 %s 已上锁（代理 %s）\n", "cabinet %s locked (agent %s)\n"), out.Cabinet, out.Agent)
	})
}
