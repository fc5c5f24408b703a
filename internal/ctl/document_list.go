package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// documentListArgs are the arguments of custodyctl document list.
type documentListArgs struct{}

func init() {
	add(define[documentListArgs]("document list", "",
		"list documents (titles hidden from the 三员)"))
}

func (*documentListArgs) run(ctx context.Context, c *CLI, args []string) error {
	var ds []apitype.Document
	if err := c.call(ctx, "GET", "/api/v1/documents", nil, &ds); err != nil {
		return err
	}
	return c.output(ds, func(w io.Writer) {
		fmt.Fprintln(w, c.say("发文字号\t密级\t份数\t发文单位\t日期\t标题", "NUMBER\tLEVEL\tCOPIES\tUNIT\tDATE\tTITLE"))
		for _, d := range ds {
			t := d.Title
			if !d.TitleVisible {
				t = c.say("（无权查看）", "(hidden)")
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", d.Number, c.levelName(d.Level), d.Copies, d.IssuingUnit, d.IssuedOn, t)
		}
	})
}
