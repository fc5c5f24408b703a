package ctl

import (
	"io"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// Transit (机要交通) and handovers to outside units (issue 14 point 5). The dispatch is a desk
// handover (handover open --purpose dispatch --courier … --envelope … --destination … --expected …);
// these commands list the transits and record the other unit's receipt.

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

func (c *CLI) transitTable(w io.Writer, t apitype.Transit) {
	line(w, c.say("传递 %d  %s  送 %s  %s\n", "transit %d  %s  to %s  %s\n"), t.ID, c.transitKind(t.Kind), t.Destination, apitype.TransitStateText(t.State, t.Overdue).In(c.lang))
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
func (c *CLI) transitLines(w io.Writer, s apitype.Session) {
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

func transitPath(args []string, rest string) (string, error) {
	if err := needArgs(args, 1, "ID"); err != nil {
		return "", err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return "", exitf(ExitUsage, "transit ID %q is not a positive number", args[0])
	}
	return "/api/v1/transits/" + strconv.FormatInt(id, 10) + rest, nil
}
