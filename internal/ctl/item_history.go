package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// itemHistoryArgs are the arguments of custodyctl item history.
type itemHistoryArgs struct{}

func init() {
	add(define[itemHistoryArgs]("item history", "ID",
		"an item's chain of custody"))
}

func (*itemHistoryArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/items", "/history")
	if err != nil {
		return err
	}
	var evs []apitype.Event
	if err := c.call(ctx, "GET", path, nil, &evs); err != nil {
		return err
	}
	return c.output(evs, func(w io.Writer) {
		fmt.Fprintln(w, c.say("时间\t操作\t原状态\t新状态\t经办人\t对方\t交接\t备注", "AT\tACTION\tFROM\tTO\tACTOR\tCOUNTERPART\tHANDOVER\tNOTE"))
		for _, e := range evs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.when(e.At), c.actionName(e.Action), e.From.Text().In(c.lang), e.To.Text().In(c.lang), e.Actor, e.Counterpart, zeroBlank(e.Session), e.Note)
		}
	})
}
