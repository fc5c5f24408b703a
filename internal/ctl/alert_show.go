package ctl

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// alertShowArgs are the arguments of custodyctl alert show.
type alertShowArgs struct{}

func init() {
	add(define[alertShowArgs]("alert show", "ID",
		"show an alert, the evidence of its findings and its escalation history"))
}

func (*alertShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	var d alertDetail
	if err := c.call(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(args[0]), nil, &d); err != nil {
		return err
	}
	return c.output(d, func(w io.Writer) {
		c.alertTable(w, []apitype.Alert{d.Alert})
		fmt.Fprintln(w)
		c.findingTable(w, d.Findings)
		fmt.Fprintln(w)
		fmt.Fprintln(w, c.say("时间\t事件\t对象\t渠道\t操作人\t说明", "TIME\tEVENT\tAUDIENCE\tCHANNEL\tACTOR\tDETAIL"))
		for _, h := range d.History {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.when(h.At), h.Event, h.Audience, h.Channel, h.Actor, h.Detail)
		}
	})
}
