package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

// documentReceiveArgs are the arguments of custodyctl document receive.
type documentReceiveArgs struct {
	number      string
	title       string
	unit        string
	level       string
	date        string
	term        string
	copies      int
	firstCopy   int
	lastCopy    int
	scopeUnits  listFlag
	scopePeople listFlag
	cabinet     string
	from        string
}

func init() {
	add(define[documentReceiveArgs]("document receive", "",
		"receive a document (收文): register it and store its copies in --cabinet"))
}

func (a *documentReceiveArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.number, "number", "", "document number (发文字号)")
	fs.StringVar(&a.title, "title", "", "title")
	fs.StringVar(&a.unit, "unit", "", "issuing unit code")
	fs.StringVar(&a.level, "level", "", "secrecy level: 绝密|机密|秘密")
	fs.StringVar(&a.date, "date", "", "date issued, YYYY-MM-DD")
	fs.StringVar(&a.term, "term", "", "secrecy term (保密期限)")
	fs.IntVar(&a.copies, "copies", 0, "total copies the issuer printed (共 N 份)")
	fs.IntVar(&a.firstCopy, "first-copy", 0, "份号 printed on the first copy of this batch (default 1)")
	fs.IntVar(&a.lastCopy, "last-copy", 0, "份号 printed on the last copy of this batch (default --copies)")
	fs.Var(&a.scopeUnits, "scope-unit", "unit allowed to read (repeatable)")
	fs.Var(&a.scopePeople, "scope-person", "person allowed to read (repeatable)")
	fs.StringVar(&a.cabinet, "cabinet", "", "cabinet code")
	fs.StringVar(&a.from, "from", "", "who delivered it")
}

func (a *documentReceiveArgs) run(ctx context.Context, c *CLI, args []string) error {
	req := apitype.ReceiveRequest{Cabinet: a.cabinet, From: a.from, Document: apitype.Document{Number: a.number, Title: a.title, IssuingUnit: a.unit,
		Level: custody.Level(a.level), IssuedOn: a.date, SecrecyTerm: a.term, Copies: a.copies, ScopeUnits: a.scopeUnits, ScopePeople: a.scopePeople},
		FirstCopy: a.firstCopy, LastCopy: a.lastCopy}
	var resp apitype.ReceiveResult
	if err := c.call(ctx, "POST", "/api/v1/documents/receive", req, &resp); err != nil {
		return err
	}
	return c.output(resp, func(w io.Writer) {
		line(w, c.say("已收文 %s（%s），第%s份（共%d份），%d 份已入柜 %s：\n", "received %s (%s): copies %s of %d, %d stored in %s:\n"),
			resp.Document.Number, c.levelName(resp.Document.Level), resp.Batch, resp.Document.Copies, len(resp.Items), a.cabinet)
		c.itemTable(w, resp.Items)
		line(w, c.say("下一步：为这 %d 份打印标签并写入电子标签：\n  %s\n", "next: print labels and encode tags for these %d copies:\n  %s\n"), len(resp.Items), resp.Next.Labels)
	})
}
