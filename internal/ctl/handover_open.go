package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverOpenArgs are the arguments of custodyctl handover open.
type handoverOpenArgs struct {
	desk        string
	purpose     string
	due         string
	approval    int64
	batch       int64
	cabinet     string
	target      string
	place       string
	receipt     string
	courier     string
	supervisor  string
	envelope    string
	destination string
	receiver    string
	expected    string
	note        string
}

func init() {
	add(define[handoverOpenArgs]("handover open", "",
		"open a handover at a desk: --desk D --purpose borrow|circulate|reading_room|take_out|return|transfer|archive|destroy|store|dispatch|receive"))
}

func (a *handoverOpenArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.desk, "desk", "", "desk code")
	fs.StringVar(&a.purpose, "purpose", "", "borrow 借阅, circulate 传阅, reading_room 阅文室, take_out 携带外出, return 归还, transfer 移交, archive 归档, destroy 送销（交保密局）, store 扫描入柜（复制件）, dispatch 交机要交通, receive 退回入柜（传递退回）")
	fs.StringVar(&a.due, "due", "", "due time (borrow: required), e.g. 2026-11-30 18:00")
	fs.Int64Var(&a.approval, "approval", 0, "take_out: the approval ID")
	fs.Int64Var(&a.batch, "batch", 0, "destroy: the approved destruction batch")
	fs.StringVar(&a.cabinet, "cabinet", "", "return: cabinet the items go into (default: where they came from)")
	fs.StringVar(&a.target, "target-unit", "", "transfer: receiving unit")
	fs.StringVar(&a.place, "place", "", "reading room or destination")
	fs.StringVar(&a.receipt, "receipt", "", "transfer/archive: receipt number (default generated); destroy: the secrecy bureau's receipt number")
	fs.StringVar(&a.courier, "courier", "", "destroy: the secrecy bureau's courier (name)")
	fs.StringVar(&a.supervisor, "supervisor", "", "destroy: the person supervising the destruction (监销人)")
	fs.StringVar(&a.envelope, "envelope", "", "dispatch: the envelope number (信封编号、封号)")
	fs.StringVar(&a.destination, "destination", "", "dispatch, or transfer to a unit outside the register: the receiving unit, by name")
	fs.StringVar(&a.receiver, "receiver", "", "transfer to a unit outside the register: the receiver's name (签收人); --receipt is their receipt number")
	fs.StringVar(&a.expected, "expected", "", "dispatch: expected arrival, e.g. 2026-11-30 18:00 (the site's time zone)")
	fs.StringVar(&a.note, "note", "", "note")
}

func (a *handoverOpenArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.desk == "" || a.purpose == "" {
		return exitf(ExitUsage, "--desk and --purpose are required")
	}
	if p, ok := purposeNames[a.purpose]; ok {
		a.purpose = p
	}
	req := apitype.OpenRequest{Desk: a.desk, Purpose: a.purpose, Due: a.due, Approval: a.approval, Batch: a.batch, Cabinet: a.cabinet, TargetUnit: a.target, Place: a.place, Receipt: a.receipt, Note: a.note,
		Courier: a.courier, Supervisor: a.supervisor, Envelope: a.envelope, Destination: a.destination, Receiver: a.receiver, Expected: a.expected}
	var s apitype.Session
	if err := c.call(ctx, "POST", "/api/v1/sessions", req, &s); err != nil {
		return err
	}
	return c.output(s, func(w io.Writer) {
		c.sessionTable(w, s)
		line(w, c.say("请扫描对方工作证和文件标签：custodyctl handover scan %d CODE…\n", "scan the counterpart's badge and the labels: custodyctl handover scan %d CODE…\n"), s.ID)
	})
}
