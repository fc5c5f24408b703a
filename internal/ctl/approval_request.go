package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// approvalRequestArgs are the arguments of custodyctl approval request.
type approvalRequestArgs struct {
	kind        string
	forWho      string
	items       listFlag
	copies      int
	due         string
	document    string
	scopeUnits  listFlag
	scopePeople listFlag
	unit        string
	with        string
	reason      string
	expires     string
}

func init() {
	add(define[approvalRequestArgs]("approval request", "",
		"request an approval: --kind take_out|reproduce|scope with --reason"))
}

func (a *approvalRequestArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.kind, "kind", "", "take_out (携带外出), reproduce (复制) or scope (扩大知悉范围)")
	fs.StringVar(&a.forWho, "for", "", "take_out: who takes the items out (default: me)")
	fs.Var(&a.items, "item", "item ID (repeatable; take_out lists items, reproduce names the source)")
	fs.IntVar(&a.copies, "copies", 0, "reproduce: number of copies")
	fs.StringVar(&a.due, "due", "", "take_out: when the items must be back (2026-11-30 18:00)")
	fs.StringVar(&a.document, "document", "", "scope: document number")
	fs.Var(&a.scopeUnits, "scope-unit", "scope: unit to add (repeatable)")
	fs.Var(&a.scopePeople, "scope-person", "scope: person to add (repeatable)")
	fs.StringVar(&a.unit, "unit", "", "refused: who decides comes from the approval policy (custodyctl policy)")
	fs.StringVar(&a.with, "with", "", "take_out of top-secret items: the second named person")
	fs.StringVar(&a.reason, "reason", "", "reason")
	fs.StringVar(&a.expires, "expires", "", "the approval lapses at (default 7 days)")
}

func (a *approvalRequestArgs) run(ctx context.Context, c *CLI, args []string) error {
	ids, err := parseIDs(a.items)
	if err != nil {
		return err
	}
	req := apitype.ApprovalRequest{Kind: a.kind, For: a.forWho, Items: ids, Copies: a.copies, Due: a.due, Document: a.document, ScopeUnits: a.scopeUnits, ScopePeople: a.scopePeople, Unit: a.unit, With: a.with, Reason: a.reason, Expires: a.expires}
	return callAndPrint(c, ctx, "POST", "/api/v1/approvals", req, func(w io.Writer, ap apitype.Approval) { c.approvalTable(w, []apitype.Approval{ap}) })
}
