package ctl

import (
	"context"
	"flag"
	"io"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverCloseArgs are the arguments of custodyctl handover close.
type handoverCloseArgs struct {
	secondBadge    string
	companionBadge string
	pinStdin       bool
}

func init() {
	add(define[handoverCloseArgs]("handover close", "ID",
		"confirm the handover: the counterpart types the PIN (terminal, or a line of stdin); top-secret needs --second-badge and a second PIN line; a top-secret carry-out also --companion-badge and the companion's PIN"))
}

func (a *handoverCloseArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.secondBadge, "second-badge", "", "the second custodian's badge code (top-secret: two-person rule)")
	fs.StringVar(&a.companionBadge, "companion-badge", "", "top-secret carry-out: the second named person's badge code")
	fs.BoolVar(&a.pinStdin, "pin-stdin", false, "read the PIN(s) from standard input")
}

func (a *handoverCloseArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := sessionPath(args, "/close")
	if err != nil {
		return err
	}
	req := apitype.CloseRequest{SecondBadge: a.secondBadge, CompanionBadge: a.companionBadge}
	// Scanning in, receiving back from transit, a dispatch to a courier and a transfer
	// to an outside unit have no counterpart here: nobody types a counterpart's PIN.
	var open apitype.Session
	if err := c.call(ctx, "GET", strings.TrimSuffix(path, "/close"), nil, &open); err != nil {
		return err
	}
	if open.Counterpart != "" {
		if req.PIN, err = c.password(a.pinStdin, "对方 PIN：", "Counterpart's PIN: "); err != nil {
			return err
		}
	}
	if a.companionBadge != "" {
		if req.CompanionPIN, err = c.password(a.pinStdin, "同行人 PIN：", "Companion's PIN: "); err != nil {
			return err
		}
	}
	if a.secondBadge != "" {
		if req.SecondPIN, err = c.password(a.pinStdin, "第二位机要员 PIN：", "Second custodian's PIN: "); err != nil {
			return err
		}
	}
	var s apitype.Session
	if err := c.call(ctx, "POST", path, req, &s); err != nil {
		return err
	}
	return c.output(s, func(w io.Writer) {
		line(w, c.say("交接 %d 已完成：%d 份，已登记并记入审计日志。打印交接单：custodyctl handover receipt %d -o 交接单.pdf\n",
			"handover %d done: %d items registered and audited. Print the receipt: custodyctl handover receipt %d -o receipt.pdf\n"), s.ID, s.Count, s.ID)
		c.sessionTable(w, s)
	})
}
