package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
)

// The paper's later life (issue 14): loss cases (追查), secrecy terms ending soon, 密级变更, 解密
// and 解除管理. The shapes below are the API's JSON as custodyctl reads it — declared here rather
// than taken from the server's packages, so this file links no server code.

type lossCase struct {
	ID         int64      `json:"id"`
	State      string     `json:"state"`
	ReportedBy string     `json:"reported_by"`
	ReportedAt string     `json:"reported_at"`
	Note       string     `json:"note"`
	ClosedBy   string     `json:"closed_by,omitempty"`
	ClosedAt   string     `json:"closed_at,omitempty"`
	Conclusion string     `json:"conclusion,omitempty"`
	Items      []copyInfo `json:"items"`
	History    []struct {
		At    string `json:"at"`
		Actor string `json:"actor,omitempty"`
		Event string `json:"event"`
		Note  string `json:"note,omitempty"`
	} `json:"history,omitempty"`
}

// copyInfo is one numbered copy as the API answers it.
type copyInfo struct {
	ID           int64         `json:"id"`
	Document     string        `json:"document"`
	Copy         int           `json:"copy"`
	Copies       int           `json:"copies"`
	Level        custody.Level `json:"level"`
	State        custody.State `json:"state"`
	Cabinet      string        `json:"cabinet,omitempty"`
	Holder       string        `json:"holder,omitempty"`
	Term         string        `json:"term,omitempty"`
	Reproduction int           `json:"reproduction,omitempty"`
}

// name is how the 机要员 names a copy: 第037份, 第037份之复制件1 (the 份号 padded to the total's width).
func (it copyInfo) name(c *CLI) string {
	n := fmt.Sprintf("%0*d", len(strconv.Itoa(it.Copies)), it.Copy)
	if it.Reproduction > 0 {
		return c.say(fmt.Sprintf("第%s份之复制件%d", n, it.Reproduction), fmt.Sprintf("copy %s, reproduction %d", n, it.Reproduction))
	}
	return c.say("第"+n+"份", "copy "+n)
}

type documentInfo struct {
	ID           int64         `json:"id"`
	Number       string        `json:"number"`
	Title        string        `json:"title"`
	IssuingUnit  string        `json:"issuing_unit"`
	Level        custody.Level `json:"level"`
	IssuedOn     string        `json:"issued_on"`
	SecrecyTerm  string        `json:"secrecy_term"`
	TermStart    string        `json:"term_start,omitempty"`
	TermEnd      string        `json:"term_end,omitempty"`
	Declassified string        `json:"declassified_at,omitempty"`
}

var lossEvents = map[string]custody.Text{
	"reported": {ZH: "报失", EN: "reported"}, "progress": {ZH: "追查情况", EN: "progress"}, "recovered": {ZH: "找回入柜", EN: "recovered"},
	"alert_linked": {ZH: "关联告警", EN: "alert linked"}, "closed": {ZH: "结案", EN: "closed"},
}

func (c *CLI) lossState(s string) string {
	if s == "open" {
		return c.say("追查中", "open")
	}
	return c.say("已结案", "closed")
}

func (c *CLI) copyTable(w io.Writer, items []copyInfo) {
	fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t密级\t状态\t位置", "ID\tDOCUMENT\tCOPY\tLEVEL\tSTATE\tPLACE"))
	for _, it := range items {
		place := firstNonEmpty(it.Holder, it.Cabinet)
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Document, it.name(c), c.levelName(it.Level), it.State.Text().In(c.lang), place)
	}
}

func (c *CLI) lossTable(w io.Writer, cs []lossCase) {
	fmt.Fprintln(w, c.say("追查编号\t状态\t报失人\t报失时间\t文件份\t结论", "CASE\tSTATE\tREPORTED BY\tREPORTED\tCOPIES\tCONCLUSION"))
	for _, lc := range cs {
		var names []string
		for _, it := range lc.Items {
			names = append(names, it.Document+" "+it.name(c))
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", lc.ID, c.lossState(lc.State), lc.ReportedBy, c.when(lc.ReportedAt), strings.Join(names, "；"), lc.Conclusion)
	}
}

func (c *CLI) showLoss(w io.Writer, lc lossCase) {
	line(w, c.say("追查 %d（%s）：%s 于 %s 报失\n", "loss case %d (%s): reported by %s at %s\n"), lc.ID, c.lossState(lc.State), lc.ReportedBy, c.when(lc.ReportedAt))
	line(w, c.say("丢失经过：%s\n", "what happened: %s\n"), lc.Note)
	c.copyTable(w, lc.Items)
	line(w, "%s\n", c.say("追查经过：", "history:"))
	fmt.Fprintln(w, c.say("时间\t办理人\t事项\t说明", "TIME\tBY\tEVENT\tNOTE"))
	for _, e := range lc.History {
		ev := e.Event
		if t, ok := lossEvents[e.Event]; ok {
			ev = t.In(c.lang)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.when(e.At), e.Actor, ev, e.Note)
	}
	if lc.State == "closed" {
		line(w, c.say("结案：%s（%s，%s）\n", "closed: %s (%s, %s)\n"), lc.Conclusion, lc.ClosedBy, c.when(lc.ClosedAt))
	}
}

func (c *CLI) documentTable(w io.Writer, ds []documentInfo) {
	fmt.Fprintln(w, c.say("发文字号\t密级\t保密期限\t起算日期\t届满日期\t发文单位\t标题", "NUMBER\tLEVEL\tTERM\tFROM\tENDS\tISSUER\tTITLE"))
	for _, d := range ds {
		end := d.TermEnd
		if end == "" {
			end = c.say("长期", "indefinite")
		}
		if d.Declassified != "" {
			end = c.say("已解密 ", "declassified ") + c.when(d.Declassified)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Number, c.levelName(d.Level), d.SecrecyTerm, firstNonEmpty(d.TermStart, d.IssuedOn), end, d.IssuingUnit, d.Title)
	}
}

func init() {
	var (
		state, note, level, term, termStart, authority, decision string
		format, out                                              string
		days                                                     int
	)
	casePath := func(c *CLI, args []string, rest string) (string, error) {
		if err := needArgs(args, 1, "the loss case number (追查编号)"); err != nil {
			return "", err
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return "", exitf(ExitUsage, "%s", c.say("追查编号 "+strconv.Quote(args[0])+" 应为正整数", "loss case number "+strconv.Quote(args[0])+" is not a positive number"))
		}
		return fmt.Sprintf("/api/v1/losses/%d%s", id, rest), nil
	}
	decisionFlags := func(fs *flag.FlagSet) {
		fs.StringVar(&authority, "authority", "", "the deciding authority (决定机关: 定密机关 or the issuing unit)")
		fs.StringVar(&decision, "decision", "", "the decision's document number (决定文号)")
		fs.StringVar(&note, "note", "", "remark (备注)")
	}
	add(
		command{name: "loss list", help: "loss cases (追查), newest first; --state open|closed",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&state, "state", "", "open (追查中) or closed (已结案)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path := "/api/v1/losses"
				if state != "" {
					path += "?state=" + url.QueryEscape(state)
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, cs []lossCase) { c.lossTable(w, cs) })
			}},
		command{name: "loss show", args: "CASE", help: "a loss case with its copies and the history of the search",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := casePath(c, args, "")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
			}},
		command{name: "loss note", args: "CASE", help: "record what the search found (--note; custodians and leaders)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "what the search found (追查情况)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := casePath(c, args, "/notes")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", path, map[string]string{"note": note}, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
			}},
		command{name: "loss close", args: "CASE", help: "close a loss case with the deciding leader's conclusion (--note; leaders only)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "the leader's conclusion (追查结论)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := casePath(c, args, "/close")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", path, map[string]string{"note": note}, func(w io.Writer, lc lossCase) { c.showLoss(w, lc) })
			}},
		command{name: "destruction paper", args: "ID", help: "the destruction list (销毁清册) of a batch in any state, marked (PDF, or --format csv) to -o FILE",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&out, "o", "", "output file (default stdout)")
				fs.StringVar(&format, "format", "pdf", "pdf or csv")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "the destruction batch ID (清册编号)"); err != nil {
					return err
				}
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id <= 0 {
					return exitf(ExitUsage, "%s", c.say("清册编号 "+strconv.Quote(args[0])+" 应为正整数", "batch ID "+strconv.Quote(args[0])+" is not a positive number"))
				}
				return c.download(ctx, fmt.Sprintf("/api/v1/destructions/%d/list?format=%s", id, url.QueryEscape(format)), out)
			}},
		command{name: "document expiring", help: "documents whose secrecy term (保密期限) ends within --days (default 30) or has ended without a decision",
			flags: func(fs *flag.FlagSet) { fs.IntVar(&days, "days", 30, "days ahead") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return callAndPrint(c, ctx, "GET", "/api/v1/documents/expiring?days="+strconv.Itoa(days), nil, func(w io.Writer, ds []documentInfo) { c.documentTable(w, ds) })
			}},
		command{name: "document level", args: "NUMBER", help: "record a 密级变更 decided by --authority in --decision: --level and/or --term (--term-start)",
			flags: func(fs *flag.FlagSet) {
				decisionFlags(fs)
				fs.StringVar(&level, "level", "", "the new level: 绝密|机密|秘密 or top-secret|secret|confidential")
				fs.StringVar(&term, "term", "", "the new secrecy term: 10年, 6个月, 长期 or 2030-12-31 (default: unchanged)")
				fs.StringVar(&termStart, "term-start", "", "the date the new term counts from (YYYY-MM-DD)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "the document number (发文字号)"); err != nil {
					return err
				}
				lvl := custody.Level(level)
				if level != "" {
					l, err := custody.ParseLevel(level)
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					lvl = l
				}
				body := map[string]any{"number": args[0], "level": lvl, "term": term, "term_start": termStart, "authority": authority, "decision_no": decision, "note": note}
				var d documentInfo
				if err := c.call(ctx, "POST", "/api/v1/level-changes", body, &d); err != nil {
					return err
				}
				return c.output(d, func(w io.Writer) {
					line(w, c.say("已登记密级变更：%s 现为 %s★%s；已打印的标签须重新打印\n", "level change recorded: %s is now %s★%s; reprint its labels\n"), d.Number, c.levelName(d.Level), d.SecrecyTerm)
				})
			}},
		command{name: "document declassify", args: "NUMBER", help: "record a 解密 decided by --authority in --decision; the copies can then be released (item release)",
			flags: decisionFlags,
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "the document number (发文字号)"); err != nil {
					return err
				}
				body := map[string]any{"number": args[0], "authority": authority, "decision_no": decision, "note": note}
				var d documentInfo
				if err := c.call(ctx, "POST", "/api/v1/declassifications", body, &d); err != nil {
					return err
				}
				return c.output(d, func(w io.Writer) {
					line(w, c.say("已登记解密：%s 退出涉密文件台账；在柜文件份可解除管理：custodyctl item release ID…\n", "declassification recorded: %s leaves the classified register; release its copies with custodyctl item release ID…\n"), d.Number)
				})
			}},
		command{name: "item release", args: "ID...", help: "release copies of a declassified document from custody (解除管理; they must be in their cabinet)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "remark (备注)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				ids, err := parseIDs(args)
				if err != nil {
					return err
				}
				if len(ids) == 0 {
					return exitf(ExitUsage, "expected item IDs")
				}
				var its []copyInfo
				if err := c.call(ctx, "POST", "/api/v1/releases", map[string]any{"items": ids, "note": note}, &its); err != nil {
					return err
				}
				return c.output(its, func(w io.Writer) {
					line(w, "%s\n", c.say("已解除管理：", "released from custody:"))
					c.copyTable(w, its)
				})
			}},
	)
}
