package ctl

import (
	"context"
	"flag"
	"io"
	"strconv"
)

// documentExpiringArgs are the arguments of custodyctl document expiring.
type documentExpiringArgs struct {
	days int
}

func init() {
	add(define[documentExpiringArgs]("document expiring", "",
		"documents whose secrecy term (保密期限) ends within --days (default 30) or has ended without a decision"))
}

func (a *documentExpiringArgs) flags(fs *flag.FlagSet) { fs.IntVar(&a.days, "days", 30, "days ahead") }

func (a *documentExpiringArgs) run(ctx context.Context, c *CLI, args []string) error {
	return callAndPrint(c, ctx, "GET", "/api/v1/documents/expiring?days="+strconv.Itoa(a.days), nil, func(w io.Writer, ds []documentInfo) { c.documentTable(w, ds) })
}
