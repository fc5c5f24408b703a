package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

// personAddArgs are the arguments of custodyctl person add.
type personAddArgs struct {
	unit     string
	roles    listFlag
	password string
}

func init() {
	add(define[personAddArgs]("person add", "USERNAME NAME",
		"add a person; prints a one-time password unless --password is given"))
}

func (a *personAddArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.unit, "unit", "", "unit code")
	fs.Var(&a.roles, "role", "role(s): admin, secadmin, auditor, custodian, leader, holder (repeat or comma-separate)")
	fs.StringVar(&a.password, "password", "", "initial password (default: generated, shown once)")
}

func (a *personAddArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "USERNAME NAME"); err != nil {
		return err
	}
	np := apitype.NewPerson{Username: args[0], Name: args[1], Unit: a.unit, Password: a.password}
	for _, r := range a.roles {
		role, err := custody.ParseRole(r)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		np.Roles = append(np.Roles, role)
	}
	var p struct {
		apitype.Person
		OneTime string `json:"one_time_password"`
	}
	if err := c.call(ctx, "POST", "/api/v1/people", np, &p); err != nil {
		return err
	}
	return c.output(p, func(w io.Writer) {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Username, p.Name, c.roleNames(p.Roles))
		if p.OneTime != "" {
			fmt.Fprintf(w, "%s\t%s\n", c.say("一次性密码（仅显示一次）", "one-time password (shown once)"), p.OneTime)
		}
	})
}
