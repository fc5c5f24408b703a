package ctl

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

// The custodian's desk: handover sessions, approvals and the flows built on them.

var purposeNames = map[string]string{
	"借阅": apitype.PurposeBorrow, "传阅": apitype.PurposeCirculate, "阅文室": apitype.PurposeReadingRoom, "携带外出": apitype.PurposeTakeOut,
	"归还": apitype.PurposeReturn, "移交": apitype.PurposeTransfer, "归档": apitype.PurposeArchive, "销毁": apitype.PurposeDestroy,
	"送销": apitype.PurposeDestroy, "入柜": apitype.PurposeStore, "扫描入柜": apitype.PurposeStore,
	"机要交通": apitype.PurposeDispatch, "交机要交通": apitype.PurposeDispatch, "退回入柜": apitype.PurposeReceive, "上交": apitype.PurposeTransfer,
}

// line prints free text between tables: it flushes the rows so far, so a long sentence neither
// widens the columns around it nor joins a table with different columns.
func line(w io.Writer, format string, args ...any) {
	if t, ok := w.(*table); ok {
		t.Flush()
		fmt.Fprintf(t.w, format, args...)
		return
	}
	fmt.Fprintf(w, format, args...)
}

func (c *CLI) decide(ctx context.Context, args []string, approve bool, note string) error {
	return c.decideWith(ctx, args, approve, note, "")
}

func (c *CLI) decideWith(ctx context.Context, args []string, approve bool, note, consent string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", "/api/v1/approvals/"+url.PathEscape(args[0])+"/decide", map[string]any{"approve": approve, "note": note, "consent": consent}, func(w io.Writer, ap apitype.Approval) { c.approvalTable(w, []apitype.Approval{ap}) })
}

// download writes a paper (PDF or CSV) from the API to path, or to stdout for "".
func (c *CLI) download(ctx context.Context, path, out string) error {
	resp, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := c.receive(resp, out, "下载", "downloading"); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintln(c.Stderr, c.say("已写入 "+out, "written to "+out))
	}
	return nil
}

func (c *CLI) purposeName(p string) string {
	if t := apitype.PurposeText(p); t.ZH != "" {
		return t.In(c.lang)
	}
	return p
}

func (c *CLI) actionName(a string) string {
	if t := custody.Action(a).Text(); t.ZH != "" {
		return t.In(c.lang)
	}
	if a == "reproduce" {
		return c.say("复制", "reproduce")
	}
	return a
}

func zeroBlank(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func (c *CLI) sessionTable(w io.Writer, s apitype.Session) {
	state := map[string]string{"open": c.say("进行中", "open"), "closed": c.say("已完成", "closed"), "abandoned": c.say("已放弃", "abandoned")}[s.State]
	line(w, c.say("交接 %d  %s  工作台 %s  %s\n", "handover %d  %s  desk %s  %s\n"), s.ID, c.purposeName(s.Purpose), s.Desk, state)
	if s.Counterpart != "" {
		line(w, c.say("对方：%s（%s）\n", "counterpart: %s (%s)\n"), s.CounterpartName, s.Counterpart)
	}
	if s.Due != "" {
		line(w, c.say("归还期限：%s\n", "due: %s\n"), c.when(s.Due))
	}
	c.transitLines(w, s)
	line(w, c.say("已扫描：%d 份\n", "scanned: %d items\n"), s.Count)
	for _, x := range s.Rejected {
		line(w, c.say("未接受的扫描 %s（%s）：%s\n", "scan not accepted %s (%s): %s\n"), x.Scan, c.when(x.At), x.Reason.In(c.lang))
	}
	if len(s.Items) > 0 {
		items := make([]apitype.Item, len(s.Items))
		for i, si := range s.Items {
			items[i] = si.Item
		}
		c.itemTable(w, items)
	}
}

func (c *CLI) approvalTable(w io.Writer, aps []apitype.Approval) {
	fmt.Fprintln(w, c.say("编号\t类型\t状态\t审批单位\t申请人\t对象\t事由\t决定人\t意见\t有效期至", "ID\tKIND\tSTATE\tUNIT\tREQUESTED BY\tSUBJECT\tREASON\tDECIDED BY\tNOTE\tEXPIRES"))
	kinds := map[string][2]string{"take_out": {"携带外出", "take out"}, "reproduce": {"复制", "reproduce"}, "destruction": {"销毁", "destruction"}, "scope": {"扩大知悉范围", "widen scope"}}
	states := map[string][2]string{"pending": {"待审批", "pending"}, "approved": {"已批准", "approved"}, "rejected": {"已驳回", "rejected"}, "used": {"已使用", "used"}}
	for _, ap := range aps {
		if dt := ap.DeciderText; dt.ZH != "" {
			ap.Unit += " " + c.say(dt.ZH, dt.EN)
		}
		subject := ap.Document
		if len(ap.Items) > 0 {
			subject = fmt.Sprintf(c.say("%d 份", "%d items"), len(ap.Items))
		}
		if ap.For != "" {
			subject += " → " + ap.For
		}
		k, s := kinds[ap.Kind], states[ap.State]
		st := c.say(s[0], s[1])
		if ap.Expired && ap.State == "pending" {
			st = c.say("已过期", "expired")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ap.ID, c.say(k[0], k[1]), st, ap.Unit, ap.RequestedBy, subject, ap.Reason, ap.DecidedBy, ap.Note, c.when(ap.Expires))
	}
}

func (c *CLI) recallTable(w io.Writer, rcs []apitype.Recall) {
	fmt.Fprintln(w, c.say("编号\t名称\t截止时间\t状态\t进度", "ID\tNAME\tDEADLINE\tSTATE\tPROGRESS"))
	for _, rc := range rcs {
		st := c.say("进行中", "open")
		if rc.State == "closed" {
			st = c.say("已结束", "closed")
		}
		if rc.Overdue {
			st += c.say("（已逾期）", " (overdue)")
		}
		progress := fmt.Sprintf("%d/%d", rc.Returned, rc.Total)
		if rc.Lost > 0 {
			progress += c.say(fmt.Sprintf("（已报失 %d）", rc.Lost), fmt.Sprintf(" (%d reported lost)", rc.Lost))
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", rc.ID, rc.Name, c.when(rc.Deadline), st, progress)
	}
}

func sessionPath(args []string, rest string) (string, error) {
	if len(args) < 1 {
		return "", exitf(ExitUsage, "expected the handover ID")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return "", exitf(ExitUsage, "handover ID %q is not a positive number", args[0])
	}
	return fmt.Sprintf("/api/v1/sessions/%d%s", id, rest), nil
}

func idPath(args []string, prefix, rest string) (string, error) {
	if err := needArgs(args, 1, "ID"); err != nil {
		return "", err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return "", exitf(ExitUsage, "ID %q is not a positive number", args[0])
	}
	return fmt.Sprintf("%s/%d%s", prefix, id, rest), nil
}
