package ctl

import (
	"context"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// cabinetLockArgs are the arguments of custodyctl cabinet lock.
type cabinetLockArgs struct{}

func init() {
	add(define[cabinetLockArgs]("cabinet lock", "CODE",
		"lock a cabinet remotely (custodians, leaders)"))
}

func (*cabinetLockArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "CODE"); err != nil {
		return err
	}
	var out apitype.LockOutcome
	if err := c.call(ctx, "POST", "/api/v1/cabinets/"+url.PathEscape(args[0])+"/lock", map[string]any{}, &out); err != nil {
		return err
	}
	return showLock(c, out)
}
