package ctl

import (
	"context"
	"flag"
	"io"
)

// lossNoteArgs are the arguments of custodyctl loss note.
type lossNoteArgs struct {
	note string
}

func init() {
	add(define[lossNoteArgs]("loss note", "CASE",
		"record what the search found (--note; custodians and leaders)"))
}

func (a *lossNoteArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "what the search found (追查情况)")
}

func (a *lossNoteArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := casePath(c, args, "/notes")
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", path, map[string]string{"note": a.note}, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
}
