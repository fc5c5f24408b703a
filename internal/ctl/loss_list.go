package ctl

import (
	"context"
	"flag"
	"io"
	"net/url"
)

// lossListArgs are the arguments of custodyctl loss list.
type lossListArgs struct {
	state string
}

func init() {
	add(define[lossListArgs]("loss list", "",
		"loss cases (追查), newest first; --state open|closed"))
}

func (a *lossListArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.state, "state", "", "open (追查中) or closed (已结案)")
}

func (a *lossListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/losses"
	if a.state != "" {
		path += "?state=" + url.QueryEscape(a.state)
	}
	return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, cs []lossCase) { c.lossTable(w, cs) })
}
