package ctl

import (
	"context"
	"flag"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkListArgs are the arguments of custodyctl check list.
type checkListArgs struct {
	unit string
}

func init() {
	add(define[checkListArgs]("check list", "",
		"list periodic checks (--unit CODE)"))
}

func (a *checkListArgs) flags(fs *flag.FlagSet) { fs.StringVar(&a.unit, "unit", "", "only this unit") }

func (a *checkListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/checks"
	if a.unit != "" {
		path += "?unit=" + url.QueryEscape(a.unit)
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, cs []apitype.Check) { c.checkTable(w, cs) })
}
