package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// unitAddArgs are the arguments of custodyctl unit add.
type unitAddArgs struct {
	parent string
}

func init() {
	add(define[unitAddArgs]("unit add", "CODE NAME",
		"add a unit (单位); --parent names the unit above it"))
}

func (a *unitAddArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.parent, "parent", "", "the unit above (approvals nobody here may decide go up to it)")
}

func (a *unitAddArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "CODE NAME"); err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", "/api/v1/units", apitype.Unit{Code: args[0], Name: args[1], Parent: a.parent}, func(w io.Writer, u apitype.Unit) { fmt.Fprintf(w, "%s\t%s\n", u.Code, u.Name) })
}
