package ctl

import (
	"context"
	"flag"
	"io"
)

// lossCloseArgs are the arguments of custodyctl loss close.
type lossCloseArgs struct {
	note string
}

func init() {
	add(define[lossCloseArgs]("loss close", "CASE",
		"close a loss case with the deciding leader's conclusion (--note; leaders only)"))
}

func (a *lossCloseArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "the leader's conclusion (追查结论)")
}

func (a *lossCloseArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := casePath(c, args, "/close")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", path, map[string]string{"note": a.note}, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
}
