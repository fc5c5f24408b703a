package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// recallCloseArgs are the arguments of custodyctl recall close.
type recallCloseArgs struct {
	note string
}

func init() {
	add(define[recallCloseArgs]("recall close", "ID",
		"end a campaign (refused while items are out; over lost copies only a leader, with --note)"))
}

func (a *recallCloseArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "the deciding leader's note over copies reported lost (处理意见)")
}

func (a *recallCloseArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/recalls", "/close")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", path, map[string]string{"note": a.note}, func(w io.Writer, rc apitype.Recall) { c.recallTable(w, []apitype.Recall{rc}) })
}
