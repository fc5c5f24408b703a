package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// findingsArgs are the arguments of custodyctl findings.
type findingsArgs struct {
	filter alertFilter
}

func init() {
	add(define[findingsArgs]("findings", "",
		"list reconciliation findings with their confidence and evidence (open unless --all)"))
}

func (a *findingsArgs) flags(fs *flag.FlagSet) { a.filter.flags(fs) }

func (a *findingsArgs) run(ctx context.Context, c *CLI, args []string) error {
	return callAndPrint(c, ctx, "GET", "/api/v1/findings?"+a.filter.query(nil), nil, func(w io.Writer, fsx []apitype.Finding) { c.findingTable(w, fsx) })
}
