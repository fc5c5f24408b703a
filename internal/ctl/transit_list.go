package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// transitListArgs are the arguments of custodyctl transit list.
type transitListArgs struct {
	state string
}

func init() {
	add(define[transitListArgs]("transit list", "",
		"transits by courier (机要交通) and handovers to outside units, newest first: --state in_transit|overdue|received|ended (custodians, leaders)"))
}

func (a *transitListArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.state, "state", "", "in_transit 在途, overdue 逾期未签收, received 已签收, ended 已结束")
}

func (a *transitListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/transits"
	if a.state != "" {
		path += "?state=" + url.QueryEscape(a.state)
	}
	var ts []apitype.Transit
	if err := c.call(ctx, "GET", path, nil, &ts); err != nil {
		return err
	}
	return c.output(ts, func(w io.Writer) {
		fmt.Fprintln(w, c.say("编号\t方式\t接收单位\t交通员\t封号\t预计送达\t状态\t回执\t份数", "ID\tKIND\tTO\tCOURIER\tENVELOPE\tEXPECTED\tSTATE\tRECEIPT\tCOPIES"))
		for _, t := range ts {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", t.ID, c.transitKind(t.Kind), t.Destination, dash(t.Courier), dash(t.Envelope), dash(c.when(t.Expected)),
				apitype.TransitStateText(t.State, t.Overdue).In(c.lang), dash(t.Receipt), len(t.Items))
		}
	})
}
