package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// itemReproduceArgs are the arguments of custodyctl item reproduce.
type itemReproduceArgs struct {
	approval int64
	cabinet  string
	unit     string
	date     string
}

func init() {
	add(define[itemReproduceArgs]("item reproduce", "",
		"make the copies an approved reproduction allows (--approval, --cabinet)"))
}

func (a *itemReproduceArgs) flags(fs *flag.FlagSet) {
	fs.Int64Var(&a.approval, "approval", 0, "approval ID (kind reproduce)")
	fs.StringVar(&a.cabinet, "cabinet", "", "cabinet the copies go into when scanned in")
	fs.StringVar(&a.unit, "unit", "", "复制单位: the unit that made the copies")
	fs.StringVar(&a.date, "date", "", "date the copies were made, YYYY-MM-DD (default today)")
}

func (a *itemReproduceArgs) run(ctx context.Context, c *CLI, args []string) error {
	var its []apitype.Item
	if err := c.call(ctx, "POST", "/api/v1/reproductions", apitype.ReproduceRequest{Approval: a.approval, Cabinet: a.cabinet, Unit: a.unit, Date: a.date}, &its); err != nil {
		return err
	}
	return c.output(its, func(w io.Writer) {
		line(w, c.say("已复制 %d 份（与原件同密级，标为复制件）：\n", "%d copies made (at the source's level, marked 复制件):\n"), len(its))
		c.itemTable(w, its)
		line(w, c.say("下一步：打印标签，再在工作台扫描入柜：custodyctl handover open --desk D --purpose store --cabinet %s\n", "next: print their labels, then scan them in at a desk: custodyctl handover open --desk D --purpose store --cabinet %s\n"), a.cabinet)
	})
}
