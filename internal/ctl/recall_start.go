package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// recallStartArgs are the arguments of custodyctl recall start.
type recallStartArgs struct {
	name      string
	deadline  string
	documents listFlag
}

func init() {
	add(define[recallStartArgs]("recall start", "",
		"start a recall campaign (清退): --name, --deadline, --document (repeatable)"))
}

func (a *recallStartArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.name, "name", "", "name of the campaign")
	fs.StringVar(&a.deadline, "deadline", "", "deadline, e.g. 2026-12-31 18:00")
	fs.Var(&a.documents, "document", "document number (repeatable)")
}

func (a *recallStartArgs) run(ctx context.Context, c *CLI, args []string) error {
	return callAndPrint(c, ctx, "POST", "/api/v1/recalls", apitype.RecallRequest{Name: a.name, Deadline: a.deadline, Documents: a.documents}, func(w io.Writer, rc apitype.Recall) { c.recallTable(w, []apitype.Recall{rc}) })
}
