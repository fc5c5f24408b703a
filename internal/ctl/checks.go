package ctl

import (
	"fmt"
	"io"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// Periodic checks (清查, issue 14 point 7): the custodian opens, scans and closes; holders
// confirm their copies; the custodian and a second custodian or leader sign, each as themselves
// with their own badge PIN; the signed 清查记录 is downloaded as stored.

func (c *CLI) checkTable(w io.Writer, cs []apitype.Check) {
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

func checkPath(args []string, rest string) (string, error) {
	if len(args) < 1 {
		return "", exitf(ExitUsage, "expected ID")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return "", exitf(ExitUsage, "check ID %q is not a positive number", args[0])
	}
	return fmt.Sprintf("/api/v1/checks/%d%s", id, rest), nil
}

func showCheck(c *CLI, ch apitype.Check, items bool) func(w io.Writer) {
	return func(w io.Writer) {
		c.checkTable(w, []apitype.Check{ch})
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
				result = apitype.CheckOutcomeText(it.Outcome).EN
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
