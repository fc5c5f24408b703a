package ctl

import (
	"context"
	"flag"
	"net/url"
)

// handoverReceiptArgs are the arguments of custodyctl handover receipt.
type handoverReceiptArgs struct {
	out    string
	format string
}

func init() {
	add(define[handoverReceiptArgs]("handover receipt", "ID",
		"the printable receipt (PDF, or --format csv) to -o FILE"))
}

func (a *handoverReceiptArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
	fs.StringVar(&a.format, "format", "pdf", "pdf or csv")
}

func (a *handoverReceiptArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := sessionPath(args, "/receipt?format="+url.QueryEscape(a.format))
	if err != nil {
		return err
	}
	return c.download(ctx, path, a.out)
}
