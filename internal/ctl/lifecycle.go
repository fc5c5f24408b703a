package ctl

import (
	"flag"
	"fmt"
	"io"
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

// decisionArgs are the flags of a recorded decision (密级变更, 解密): who decided, in which
// document, and a remark.
type decisionArgs struct {
	authority, decision, note string
}

func (d *decisionArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&d.authority, "authority", "", "the deciding authority (决定机关: 定密机关 or the issuing unit)")
	fs.StringVar(&d.decision, "decision", "", "the decision's document number (决定文号)")
	fs.StringVar(&d.note, "note", "", "remark (备注)")
}

func casePath(c *CLI, args []string, rest string) (string, error) {
	if err := needArgs(args, 1, "the loss case number (追查编号)"); err != nil {
		return "", err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return "", exitf(ExitUsage, "%s", c.say("追查编号 "+strconv.Quote(args[0])+" 应为正整数", "loss case number "+strconv.Quote(args[0])+" is not a positive number"))
	}
	return fmt.Sprintf("/api/v1/losses/%d%s", id, rest), nil
}
