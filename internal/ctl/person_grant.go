package ctl

import (
	"context"
	"flag"
)

// personGrantArgs are the arguments of custodyctl person grant.
type personGrantArgs struct {
	roles     listFlag
	grantKind string
	unit      string
}

func init() {
	add(define[personGrantArgs]("person grant", "USERNAME",
		"grant a role (--role) or an authority (--grant principal_leader|secrecy_leader --unit U, or --grant backup): security administrator only"))
}

func (a *personGrantArgs) flags(fs *flag.FlagSet) {
	fs.Var(&a.roles, "role", "role: custodian, leader, holder, auditor, secadmin or admin")
	fs.StringVar(&a.grantKind, "grant", "", "principal_leader (单位主要领导), secrecy_leader (分管保密领导) or backup (备份权限)")
	fs.StringVar(&a.unit, "unit", "", "the unit of a principal_leader or secrecy_leader grant")
}

func (a *personGrantArgs) run(ctx context.Context, c *CLI, args []string) error {
	return c.changeGrant(ctx, args, "/api/v1/grants", a.roles, a.grantKind, a.unit)
}
