package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
)

// destructionPaperArgs are the arguments of custodyctl destruction paper.
type destructionPaperArgs struct {
	out    string
	format string
}

func init() {
	add(define[destructionPaperArgs]("destruction paper", "ID",
		"the destruction list (销毁清册) of a batch in any state, marked (PDF, or --format csv) to -o FILE"))
}

func (a *destructionPaperArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
	fs.StringVar(&a.format, "format", "pdf", "pdf or csv")
}

func (a *destructionPaperArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "the destruction batch ID (清册编号)"); err != nil {
		return err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return exitf(ExitUsage, "%s", c.say("清册编号 "+strconv.Quote(args[0])+" 应为正整数", "batch ID "+strconv.Quote(args[0])+" is not a positive number"))
	}
	return c.download(ctx, fmt.Sprintf("/api/v1/destructions/%d/list?format=%s", id, url.QueryEscape(a.format)), a.out)
}
