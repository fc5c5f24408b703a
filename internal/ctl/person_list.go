package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// personListArgs are the arguments of custodyctl person list.
type personListArgs struct{}

func init() {
	add(define[personListArgs]("person list", "",
		"list people and their roles"))
}

func (*personListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var ps []apitype.Person
	if err := c.call(ctx, "GET", "/api/v1/people", nil, &ps); err != nil {
		return err
	}
	return c.output(ps, func(w io.Writer) {
		fmt.Fprintln(w, c.say("用户名\t姓名\t单位\t角色", "USERNAME\tNAME\tUNIT\tROLES"))
		for _, p := range ps {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Username, p.Name, p.Unit, c.roleNames(p.Roles))
		}
	})
}
