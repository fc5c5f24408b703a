package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

// documentRegisterArgs are the arguments of custodyctl document apitype.
type documentRegisterArgs struct {
	number      string
	title       string
	unit        string
	level       string
	date        string
	term        string
	copies      int
	scopeUnits  listFlag
	scopePeople listFlag
}

func init() {
	add(define[documentRegisterArgs]("document register", "",
		"register a document and create its numbered copies"))
}

func (a *documentRegisterArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.number, "number", "", "document number (发文字号)")
	fs.StringVar(&a.title, "title", "", "title")
	fs.StringVar(&a.unit, "unit", "", "issuing unit code")
	fs.StringVar(&a.level, "level", "", "secrecy level: 绝密|机密|秘密 or top-secret|secret|confidential")
	fs.StringVar(&a.date, "date", "", "date issued, YYYY-MM-DD")
	fs.StringVar(&a.term, "term", "", "secrecy term (保密期限), e.g. 10年")
	fs.IntVar(&a.copies, "copies", 0, "number of copies (份数)")
	fs.Var(&a.scopeUnits, "scope-unit", "unit allowed to read (repeatable)")
	fs.Var(&a.scopePeople, "scope-person", "person allowed to read (repeatable)")
}

func (a *documentRegisterArgs) run(ctx context.Context, c *CLI, args []string) error {
	d := apitype.Document{Number: a.number, Title: a.title, IssuingUnit: a.unit, Level: custody.Level(a.level), IssuedOn: a.date, SecrecyTerm: a.term, Copies: a.copies, ScopeUnits: a.scopeUnits, ScopePeople: a.scopePeople}
	var resp struct {
		Document apitype.Document `json:"document"`
		Items    []apitype.Item   `json:"items"`
	}
	if err := c.call(ctx, "POST", "/api/v1/documents", d, &resp); err != nil {
		return err
	}
	return c.output(resp, func(w io.Writer) {
		fmt.Fprintf(w, c.say("已登记 %s（%s），共 %d 份：\n", "registered %s (%s), %d copies:\n"), resp.Document.Number, c.levelName(resp.Document.Level), len(resp.Items))
		c.itemTable(w, resp.Items)
	})
}
