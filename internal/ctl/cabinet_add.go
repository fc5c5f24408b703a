package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// cabinetAddArgs are the arguments of custodyctl cabinet add.
type cabinetAddArgs struct {
	room  string
	unit  string
	agent string
}

func init() {
	add(define[cabinetAddArgs]("cabinet add", "CODE NAME",
		"add a steel cabinet"))
}

func (a *cabinetAddArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.room, "room", "", "room code")
	fs.StringVar(&a.unit, "unit", "", "unit code")
	fs.StringVar(&a.agent, "agent", "", "the agent that watches it")
}

func (a *cabinetAddArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "CODE NAME"); err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", "/api/v1/cabinets", apitype.Cabinet{Code: args[0], Name: args[1], Room: a.room, Unit: a.unit, Agent: a.agent}, func(w io.Writer, cab apitype.Cabinet) { fmt.Fprintf(w, "%s\t%s\t%s\n", cab.Code, cab.Name, cab.Room) })
}
