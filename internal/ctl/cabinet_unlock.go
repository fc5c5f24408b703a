package ctl

import (
	"context"
	"flag"
	"net/url"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// cabinetUnlockArgs are the arguments of custodyctl cabinet unlock.
type cabinetUnlockArgs struct {
	seconds int
	reason  string
}

func init() {
	add(define[cabinetUnlockArgs]("cabinet unlock", "CODE",
		"unlock a cabinet remotely for --seconds, with a --reason (custodians; audited)"))
}

func (a *cabinetUnlockArgs) flags(fs *flag.FlagSet) {
	fs.IntVar(&a.seconds, "seconds", apitype.DefaultUnlockS, "how long the bolt stays open (1–600)")
	fs.StringVar(&a.reason, "reason", "", "why (事由; required, audited)")
}

func (a *cabinetUnlockArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "CODE"); err != nil {
		return err
	}
	if strings.TrimSpace(a.reason) == "" {
		return exitf(ExitUsage, "%s", c.say("需要 --reason 写明开锁事由", "--reason is required"))
	}
	var out apitype.LockOutcome
	if err := c.call(ctx, "POST", "/api/v1/cabinets/"+url.PathEscape(args[0])+"/unlock", map[string]any{"seconds": a.seconds, "reason": a.reason}, &out); err != nil {
		return err
	}
	return showLock(c, out)
}
