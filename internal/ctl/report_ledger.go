package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// reportLedgerArgs are the arguments of custodyctl report ledger.
type reportLedgerArgs struct {
	unit    string
	level   string
	holder  string
	overdue bool
	held    bool
	format  string
	out     string
}

func init() {
	add(define[reportLedgerArgs]("report ledger", "",
		"the register (台账): --unit, --level, --holder USERNAME, --held (holdings by person), --overdue; --format csv|pdf -o FILE"))
}

func (a *reportLedgerArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.unit, "unit", "", "unit code")
	fs.StringVar(&a.level, "level", "", "secrecy level")
	fs.StringVar(&a.holder, "holder", "", "holdings of one person")
	fs.BoolVar(&a.overdue, "overdue", false, "only items out past their due time")
	fs.BoolVar(&a.held, "held", false, "every item out with a person, by person (holdings per person)")
	fs.StringVar(&a.format, "format", "", "csv or pdf (default: a table)")
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
}

func (a *reportLedgerArgs) run(ctx context.Context, c *CLI, args []string) error {
	q := url.Values{}
	for k, v := range map[string]string{"unit": a.unit, "level": a.level, "holder": a.holder} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if a.overdue {
		q.Set("overdue", "1")
	}
	if a.held {
		q.Set("held", "1")
	}
	if a.format != "" {
		q.Set("format", a.format)
		return c.download(ctx, "/api/v1/reports/ledger?"+q.Encode(), a.out)
	}
	var rows []apitype.LedgerRow
	if err := c.call(ctx, "GET", "/api/v1/reports/ledger?"+q.Encode(), nil, &rows); err != nil {
		return err
	}
	return c.output(rows, func(w io.Writer) {
		fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t密级\t状态\t柜/持有人\t归还期限\t标题", "ID\tDOCUMENT\tCOPY\tLEVEL\tSTATE\tPLACE\tDUE\tTITLE"))
		for _, r := range rows {
			place := r.Cabinet
			if r.Holder != "" {
				place = r.Holder
			}
			fmt.Fprintf(w, "%d\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Document, r.Copy, r.Copies, c.levelName(r.Level), r.State.Text().In(c.lang), place, c.when(r.Due), r.Title)
		}
	})
}
