package ctl

import (
	"context"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

// itemShowArgs are the arguments of custodyctl item show.
type itemShowArgs struct{}

func init() {
	add(define[itemShowArgs]("item show", "ID",
		"show one item"))
}

func (*itemShowArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	var it apitype.Item
	if err := c.call(ctx, "GET", "/api/v1/items/"+url.PathEscape(args[0]), nil, &it); err != nil {
		return err
	}
	var tr *apitype.Transit
	if it.State == custody.InTransit || it.State == custody.TransferredOut {
		// Where it went and on whose receipt (机要交通、移交); an older transfer may have none.
		var t apitype.Transit
		if err := c.call(ctx, "GET", "/api/v1/items/"+url.PathEscape(args[0])+"/transit", nil, &t); err == nil {
			tr = &t
		}
	}
	return c.output(it, func(w io.Writer) {
		c.itemTable(w, []apitype.Item{it})
		if tr != nil {
			c.transitTable(w, *tr)
		}
	})
}
