package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// deskAddArgs are the arguments of custodyctl desk add.
type deskAddArgs struct {
	room  string
	agent string
}

func init() {
	add(define[deskAddArgs]("desk add", "CODE NAME",
		"add a custodian's desk"))
}

func (a *deskAddArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.room, "room", "", "room code")
	fs.StringVar(&a.agent, "agent", "", "the agent its scanner is attached to")
}

func (a *deskAddArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "CODE NAME"); err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", "/api/v1/desks", apitype.Desk{Code: args[0], Name: args[1], Room: a.room, Agent: a.agent}, func(w io.Writer, d apitype.Desk) { fmt.Fprintf(w, "%s\t%s\t%s\n", d.Code, d.Name, d.Room) })
}
