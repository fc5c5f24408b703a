package ctl

import (
	"context"
	"flag"
	"io"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// transitReceiptArgs are the arguments of custodyctl transit receipt.
type transitReceiptArgs struct {
	receipt  string
	receiver string
	note     string
}

func init() {
	add(define[transitReceiptArgs]("transit receipt", "ID",
		"record the other unit's receipt of a dispatched envelope: --receipt NUMBER --receiver NAME; its copies become 已移交 (custodians)"))
}

func (a *transitReceiptArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.receipt, "receipt", "", "the receipt's number (回执编号; required)")
	fs.StringVar(&a.receiver, "receiver", "", "who signed for it at the other unit (签收人; required)")
	fs.StringVar(&a.note, "note", "", "note")
}

func (a *transitReceiptArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := transitPath(args, "/receipt")
	if err != nil {
		return err
	}
	if strings.TrimSpace(a.receipt) == "" || strings.TrimSpace(a.receiver) == "" {
		return exitf(ExitUsage, "%s", c.say("需要 --receipt（回执编号）和 --receiver（签收人）", "--receipt and --receiver are required"))
	}
	var t apitype.Transit
	if err := c.call(ctx, "POST", path, apitype.ReceiptRequest{Receipt: a.receipt, Receiver: a.receiver, Note: a.note}, &t); err != nil {
		return err
	}
	return c.output(t, func(w io.Writer) {
		line(w, "%s\n", c.say("回执已登记，文件已移交：", "receipt recorded; the copies are transferred out:"))
		c.transitTable(w, t)
	})
}
