package ctl

import (
	"context"
	"flag"
)

// personRevokeArgs are the arguments of custodyctl person revoke.
type personRevokeArgs struct {
	roles     listFlag
	grantKind string
	unit      string
}

func init() {
	add(define[personRevokeArgs]("person revoke", "USERNAME",
		"revoke a role (--role) or an authority (--grant … [--unit U]): security administrator only"))
}

func (a *personRevokeArgs) flags(fs *flag.FlagSet) {
	fs.Var(&a.roles, "role", "role to revoke")
	fs.StringVar(&a.grantKind, "grant", "", "principal_leader, secrecy_leader or backup")
	fs.StringVar(&a.unit, "unit", "", "the unit of the authority")
}

func (a *personRevokeArgs) run(ctx context.Context, c *CLI, args []string) error {
	return c.changeGrant(ctx, args, "/api/v1/grants/revoke", a.roles, a.grantKind, a.unit)
}
