package ctl

import (
	"context"
	"flag"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// itemListArgs are the arguments of custodyctl item list.
type itemListArgs struct {
	doc     string
	state   string
	cabinet string
}

func init() {
	add(define[itemListArgs]("item list", "",
		"list items (numbered copies)"))
}

func (a *itemListArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.doc, "document", "", "only this document number")
	fs.StringVar(&a.state, "state", "", "only this state")
	fs.StringVar(&a.cabinet, "cabinet", "", "only this cabinet")
}

func (a *itemListArgs) run(ctx context.Context, c *CLI, args []string) error {
	q := url.Values{}
	for k, v := range map[string]string{"document": a.doc, "state": a.state, "cabinet": a.cabinet} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return callAndPrint(c, ctx, "GET", "/api/v1/items?"+q.Encode(), nil, func(w io.Writer, items []apitype.Item) { c.itemTable(w, items) })
}
