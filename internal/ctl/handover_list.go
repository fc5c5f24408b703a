package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverListArgs are the arguments of custodyctl handover list.
type handoverListArgs struct {
	state string
}

func init() {
	add(define[handoverListArgs]("handover list", "",
		"list handovers (--state open|closed|abandoned)"))
}

func (a *handoverListArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.state, "state", "", "only this state")
}

func (a *handoverListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/sessions"
	if a.state != "" {
		path += "?state=" + url.QueryEscape(a.state)
	}
	var ss []apitype.Session
	if err := c.call(ctx, "GET", path, nil, &ss); err != nil {
		return err
	}
	return c.output(ss, func(w io.Writer) {
		fmt.Fprintln(w, c.say("编号\t工作台\t用途\t状态\t机要员\t对方\t份数\t开始时间", "ID\tDESK\tPURPOSE\tSTATE\tCUSTODIAN\tCOUNTERPART\tCOUNT\tOPENED"))
		for _, s := range ss {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Desk, c.purposeName(s.Purpose), s.State, s.Custodian, s.Counterpart, s.Count, s.Opened)
		}
	})
}
