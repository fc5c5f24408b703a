package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// recallShowArgs are the arguments of custodyctl recall show.
type recallShowArgs struct {
	out    string
	format string
}

func init() {
	add(define[recallShowArgs]("recall show", "ID",
		"a campaign's progress; --format csv|pdf -o FILE for the printed list"))
}

func (a *recallShowArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
	fs.StringVar(&a.format, "format", "", "csv or pdf (default: a table)")
}

func (a *recallShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/recalls", "")
	if err != nil {
		return err
	}
	if a.format != "" {
		return c.download(ctx, path+"?format="+url.QueryEscape(a.format), a.out)
	}
	var rc apitype.Recall
	if err := c.call(ctx, "GET", path, nil, &rc); err != nil {
		return err
	}
	return c.output(rc, func(w io.Writer) {
		c.recallTable(w, []apitype.Recall{rc})
		line(w, "\n")
		fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t持有人\t状态\t已收回", "ID\tDOCUMENT\tCOPY\tHELD BY\tSTATE\tBACK"))
		for _, it := range rc.Items {
			back := c.say("否", "no")
			switch {
			case it.Lost: // counted apart, never as returned
				back = c.say("已报失", "reported lost")
			case it.Returned:
				back = c.say("是", "yes")
			}
			fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Document, it.Copy, it.HeldBy, it.State.Text().In(c.lang), back)
		}
	})
}
