package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/custodyhq/custody/internal/register"
)

// Periodic checks (清查, issue 14 point 7): the custodian opens, scans and closes; holders
// confirm their copies; the custodian and a second custodian or leader sign, each as themselves
// with their own badge PIN; the signed 清查记录 is downloaded as stored.
func init() {
	var (
		unit, badge, note, out string
		pinStdin               bool
	)
	checkPath := func(args []string, rest string) (string, error) {
		if len(args) < 1 {
			return "", exitf(ExitUsage, "expected ID")
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return "", exitf(ExitUsage, "check ID %q is not a positive number", args[0])
		}
		return fmt.Sprintf("/api/v1/checks/%d%s", id, rest), nil
	}
	show := func(c *CLI, ch register.Check, items bool) func(w io.Writer) {
		return func(w io.Writer) {
			c.checkTable(w, []register.Check{ch})
			if !items {
				return
			}
			line(w, "\n")
			fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t状态\t位置/持有人\t核对结果\t说明", "ID\tDOCUMENT\tCOPY\tSTATE\tWHERE\tOUTCOME\tNOTE"))
			for _, it := range ch.Items {
				where := it.Cabinet
				if it.Holder != "" {
					where = it.Holder
				}
				result := it.OutcomeText
				if c.en() {
					result = register.CheckOutcomeText(it.Outcome).EN
				}
				if it.Discrepancy {
					result = "!" + result
				}
				extra := ""
				if it.SeenIn != "" {
					extra = c.say("读到于 ", "read in ") + it.SeenIn
				} else if it.Confirmation != nil {
					extra = it.Confirmation.How + " " + it.Confirmation.By
				}
				fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", it.ID, it.Document, it.Copy, it.State.Text().In(c.lang), where, result, extra)
			}
			for _, s := range ch.Signatures {
				line(w, c.say("签字：%s（%s）%s %s\n", "signed: %s (%s) %s %s\n"), s.Name, s.Username, c.when(s.At), s.Note)
			}
		}
	}
	add(
		command{name: "check open", args: "", help: "open the periodic check (清查) of a unit: --unit CODE",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&unit, "unit", "", "unit code (required)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if unit == "" {
					return exitf(ExitUsage, "%s", c.say("需要 --unit 单位代码", "--unit is required"))
				}
				var ch register.Check
				if err := c.call(ctx, "POST", "/api/v1/checks", register.OpenCheckRequest{Unit: unit}, &ch); err != nil {
					return err
				}
				return c.output(ch, show(c, ch, false))
			}},
		command{name: "check list", help: "list periodic checks (--unit CODE)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&unit, "unit", "", "only this unit") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path := "/api/v1/checks"
				if unit != "" {
					path += "?unit=" + url.QueryEscape(unit)
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, cs []register.Check) { c.checkTable(w, cs) })
			}},
		command{name: "check show", args: "ID", help: "a check with every copy's outcome (discrepancies marked !) and its signatures",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "")
				if err != nil {
					return err
				}
				var ch register.Check
				if err := c.call(ctx, "GET", path, nil, &ch); err != nil {
					return err
				}
				return c.output(ch, show(c, ch, true))
			}},
		command{name: "check scan", args: "ID CODE...", help: "copies scanned at the desk during the check (label, EPC or item number)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/scans")
				if err != nil {
					return err
				}
				if len(args) < 2 {
					return exitf(ExitUsage, "expected ID CODE...")
				}
				var ch register.Check
				for _, code := range args[1:] {
					if err := c.call(ctx, "POST", path, map[string]string{"data": code}, &ch); err != nil {
						return err
					}
				}
				return c.output(ch, show(c, ch, false))
			}},
		command{name: "check inventory", args: "ID", help: "ask every cabinet of the check's unit for an inventory now (the reports after the opening are what the check judges by)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/inventory")
				if err != nil {
					return err
				}
				var sent []register.CheckInventoryCommand
				if err := c.call(ctx, "POST", path, nil, &sent); err != nil {
					return err
				}
				return c.output(sent, func(w io.Writer) {
					fmt.Fprintln(w, c.say("密码柜\t采集代理\t已下达\t原因", "CABINET\tAGENT\tSENT\tERROR"))
					for _, s := range sent {
						fmt.Fprintf(w, "%s\t%s\t%v\t%s\n", s.Cabinet, s.Agent, s.Sent, s.Error)
					}
				})
			}},
		command{name: "check confirm", args: "ID ITEM", help: "confirm a copy out with a person: the holder as themselves; or the custodian with --badge (the holder's) and the holder's PIN; in transit --note",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&badge, "badge", "", "the holder's badge code, scanned at the custodian's desk")
				fs.StringVar(&note, "note", "", "in transit: who confirmed it and how")
				fs.BoolVar(&pinStdin, "pin-stdin", false, "read the holder's PIN from standard input")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/confirmations")
				if err != nil {
					return err
				}
				if len(args) != 2 {
					return exitf(ExitUsage, "expected ID ITEM")
				}
				item, err := strconv.ParseInt(args[1], 10, 64)
				if err != nil || item <= 0 {
					return exitf(ExitUsage, "ITEM %q is not a positive number", args[1])
				}
				req := register.ConfirmRequest{Item: item, Badge: badge, Note: note}
				if badge != "" {
					if req.PIN, err = c.password(pinStdin, "持有人 PIN：", "Holder's PIN: "); err != nil {
						return err
					}
				}
				var ch register.Check
				if err := c.call(ctx, "POST", path, req, &ch); err != nil {
					return err
				}
				return c.output(ch, func(w io.Writer) {
					line(w, c.say("清查 %d：文件份 %d 已确认\n", "check %d: item %d confirmed\n"), ch.ID, item)
				})
			}},
		command{name: "check sign", args: "ID", help: "sign the check as yourself with your own badge PIN; --note is required over discrepancies",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&note, "note", "", "the signer's note: cause of the discrepancies and what is done")
				fs.BoolVar(&pinStdin, "pin-stdin", false, "read your PIN from standard input")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/sign")
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return exitf(ExitUsage, "expected ID")
				}
				req := register.SignRequest{Note: note}
				if req.PIN, err = c.password(pinStdin, "本人工作证 PIN：", "Your badge PIN: "); err != nil {
					return err
				}
				var ch register.Check
				if err := c.call(ctx, "POST", path, req, &ch); err != nil {
					return err
				}
				return c.output(ch, show(c, ch, false))
			}},
		command{name: "check close", args: "ID", help: "close a check signed by two people; the signed 清查记录 is stored",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/close")
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return exitf(ExitUsage, "expected ID")
				}
				var ch register.Check
				if err := c.call(ctx, "POST", path, nil, &ch); err != nil {
					return err
				}
				return c.output(ch, func(w io.Writer) {
					line(w, c.say("清查 %d 已结束，清查记录已存档。下载：custodyctl check report %d -o 清查记录.pdf\n",
						"check %d closed; its record is stored. Download: custodyctl check report %d -o check.pdf\n"), ch.ID, ch.ID)
					c.checkTable(w, []register.Check{ch})
				})
			}},
		command{name: "check report", args: "ID", help: "the signed 清查记录 (PDF, as stored when the check closed) to -o FILE",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&out, "o", "", "output file (default stdout)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := checkPath(args, "/report")
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return exitf(ExitUsage, "expected ID")
				}
				return c.download(ctx, path, out)
			}},
	)
}

func (c *CLI) checkTable(w io.Writer, cs []register.Check) {
	fmt.Fprintln(w, c.say("编号\t单位\t周期\t状态\t开始时间\t应查\t在柜\t扫描\t确认\t差异\t签字", "ID\tUNIT\tPERIOD\tSTATE\tOPENED\tTOTAL\tFOUND\tSCANNED\tCONFIRMED\tDISCREPANCIES\tSIGNED"))
	for _, ch := range cs {
		st := map[string]string{"open": c.say("进行中", "open"), "signing": c.say("签字中", "signing"), "closed": c.say("已结束", "closed")}[ch.State]
		period := ch.PeriodText
		if c.en() {
			period = ch.Period
		}
		n := ch.Counts
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", ch.ID, ch.Unit, period, st, c.when(ch.Opened), n.Total, n.Found, n.Scanned, n.Confirmed, n.Discrepancies, len(ch.Signatures))
	}
}
