package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/register"
)

// Transit (机要交通) and handovers to outside units (issue 14 point 5). The dispatch is a desk
// handover (handover open --purpose dispatch --courier … --envelope … --destination … --expected …);
// these commands list the transits and record the other unit's receipt.
func init() {
	var (
		state, receipt, receiver, note string
	)
	transitPath := func(args []string, rest string) (string, error) {
		if err := needArgs(args, 1, "ID"); err != nil {
			return "", err
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return "", exitf(ExitUsage, "transit ID %q is not a positive number", args[0])
		}
		return "/api/v1/transits/" + strconv.FormatInt(id, 10) + rest, nil
	}
	add(
		command{name: "transit list", args: "", help: "transits by courier (机要交通) and handovers to outside units, newest first: --state in_transit|overdue|received|ended (custodians, leaders)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&state, "state", "", "in_transit 在途, overdue 逾期未签收, received 已签收, ended 已结束")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path := "/api/v1/transits"
				if state != "" {
					path += "?state=" + url.QueryEscape(state)
				}
				var ts []register.Transit
				if err := c.call(ctx, "GET", path, nil, &ts); err != nil {
					return err
				}
				return c.output(ts, func(w io.Writer) {
					fmt.Fprintln(w, c.say("编号\t方式\t接收单位\t交通员\t封号\t预计送达\t状态\t回执\t份数", "ID\tKIND\tTO\tCOURIER\tENVELOPE\tEXPECTED\tSTATE\tRECEIPT\tCOPIES"))
					for _, t := range ts {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", t.ID, c.transitKind(t.Kind), t.Destination, dash(t.Courier), dash(t.Envelope), dash(c.when(t.Expected)),
							register.TransitStateText(t.State, t.Overdue).In(c.lang), dash(t.Receipt), len(t.Items))
					}
				})
			}},
		command{name: "transit show", args: "ID", help: "one transit with its copies: courier, envelope number, expected arrival, receipt",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := transitPath(args, "")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, t register.Transit) { c.transitTable(w, t) })
			}},
		command{name: "transit receipt", args: "ID", help: "record the other unit's receipt of a dispatched envelope: --receipt NUMBER --receiver NAME; its copies become 已移交 (custodians)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&receipt, "receipt", "", "the receipt's number (回执编号; required)")
				fs.StringVar(&receiver, "receiver", "", "who signed for it at the other unit (签收人; required)")
				fs.StringVar(&note, "note", "", "note")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := transitPath(args, "/receipt")
				if err != nil {
					return err
				}
				if strings.TrimSpace(receipt) == "" || strings.TrimSpace(receiver) == "" {
					return exitf(ExitUsage, "%s", c.say("需要 --receipt（回执编号）和 --receiver（签收人）", "--receipt and --receiver are required"))
				}
				var t register.Transit
				if err := c.call(ctx, "POST", path, register.ReceiptRequest{Receipt: receipt, Receiver: receiver, Note: note}, &t); err != nil {
					return err
				}
				return c.output(t, func(w io.Writer) {
					line(w, "%s\n", c.say("回执已登记，文件已移交：", "receipt recorded; the copies are transferred out:"))
					c.transitTable(w, t)
				})
			}},
	)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *CLI) transitKind(k string) string {
	if k == "handover" {
		return c.say("当面移交", "handed over")
	}
	return c.say("机要交通", "courier")
}

func (c *CLI) transitTable(w io.Writer, t register.Transit) {
	line(w, c.say("传递 %d  %s  送 %s  %s\n", "transit %d  %s  to %s  %s\n"), t.ID, c.transitKind(t.Kind), t.Destination, register.TransitStateText(t.State, t.Overdue).In(c.lang))
	if t.Courier != "" {
		line(w, c.say("机要交通员：%s  封号：%s  预计送达：%s\n", "courier: %s  envelope: %s  expected: %s\n"), t.Courier, t.Envelope, c.when(t.Expected))
	}
	line(w, c.say("交出：%s（%s，交接 %d）\n", "sent: %s (%s, handover %d)\n"), c.when(t.Sent), t.SentBy, t.Session)
	if t.Receipt != "" {
		line(w, c.say("回执：%s  签收人：%s  登记：%s（%s）\n", "receipt: %s  receiver: %s  recorded: %s (%s)\n"), t.Receipt, t.Receiver, c.when(t.Received), t.RecordedBy)
	}
	c.itemTable(w, t.Items)
}

// transitLines shows what a dispatch or an outside transfer was opened with.
func (c *CLI) transitLines(w io.Writer, s register.Session) {
	if s.Envelope != "" || s.Destination != "" {
		line(w, c.say("接收单位：%s  机要交通员：%s  封号：%s  预计送达：%s\n", "to: %s  courier: %s  envelope: %s  expected: %s\n"),
			dash(s.Destination), dash(s.Courier), dash(s.Envelope), dash(c.when(s.Expected)))
	}
	if s.Receiver != "" {
		line(w, c.say("签收人：%s  回执编号：%s\n", "receiver: %s  receipt: %s\n"), s.Receiver, s.Receipt)
	}
	if s.Transit != 0 {
		line(w, c.say("传递记录：%d（custodyctl transit show %d）\n", "transit: %d (custodyctl transit show %d)\n"), s.Transit, s.Transit)
	}
}
