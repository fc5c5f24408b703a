package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// itemStoreArgs are the arguments of custodyctl item store.
type itemStoreArgs struct {
	cabinet string
}

func init() {
	add(define[itemStoreArgs]("item store", "ID...",
		"store registered items in a cabinet (all or nothing)"))
}

func (a *itemStoreArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.cabinet, "cabinet", "", "cabinet code")
}

func (a *itemStoreArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.cabinet == "" || len(args) == 0 {
		return exitf(ExitUsage, "--cabinet and at least one item ID are required")
	}
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	var items []apitype.Item
	if err := c.call(ctx, "POST", "/api/v1/items/store", map[string]any{"cabinet": a.cabinet, "items": ids}, &items); err != nil {
		return err
	}
	return c.output(items, func(w io.Writer) {
		fmt.Fprintf(w, c.say("%d 份已入柜 %s：\n", "%d items stored in %s:\n"), len(items), a.cabinet)
		c.itemTable(w, items)
	})
}
