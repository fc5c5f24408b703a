package ctl

// Alerts, findings and the nightly inventory: custodians and leaders read and acknowledge,
// auditors read.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// alertsArgs are the arguments of custodyctl alerts.
type alertsArgs struct {
	filter   alertFilter
	state    string
	severity string
	format   string
	out      string
}

func init() {
	add(define[alertsArgs]("alerts", "",
		"list alerts (open and acknowledged unless --all); --format csv|pdf -o FILE for the printed, marked alert list"))
}

func (a *alertsArgs) flags(fs *flag.FlagSet) {
	a.filter.flags(fs)
	fs.StringVar(&a.state, "state", "", "only this state (open, acknowledged, resolved)")
	fs.StringVar(&a.severity, "severity", "", "only this severity (info, warning, major, critical)")
	fs.StringVar(&a.format, "format", "", "csv or pdf (default: a table)")
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
}

func (a *alertsArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.format != "" {
		return c.download(ctx, "/api/v1/alerts?"+a.filter.query(map[string]string{"state": a.state, "severity": a.severity, "format": a.format}), a.out)
	}
	return callAndPrint(c, ctx, "GET", "/api/v1/alerts?"+a.filter.query(map[string]string{"state": a.state, "severity": a.severity}), nil, func(w io.Writer, as []apitype.Alert) { c.alertTable(w, as) })
}

// alertFilter is the filter flags the alert and finding listings share.
type alertFilter struct {
	kind, cabinet string
	all           bool
}

func (f *alertFilter) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "kind", "", "only this kind (missing, misplaced, unrecorded_removal, …)")
	fs.StringVar(&f.cabinet, "cabinet", "", "only this cabinet")
	fs.BoolVar(&f.all, "all", false, "include resolved alerts / cleared findings")
}

// query is the filter, and the non-empty values of extra, as a URL query.
func (f *alertFilter) query(extra map[string]string) string {
	q := url.Values{}
	for k, v := range extra {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.kind != "" {
		q.Set("kind", f.kind)
	}
	if f.cabinet != "" {
		q.Set("cabinet", f.cabinet)
	}
	if !f.all {
		q.Set("active", "1")
	}
	return q.Encode()
}

// alertDetail and inventoryRun mirror the API's answers (api.AlertDetail, schedule.Night)
// without linking the server's packages into custodyctl.
type alertDetail struct {
	Alert    apitype.Alert        `json:"alert"`
	Findings []apitype.Finding    `json:"findings"`
	History  []apitype.AlertEvent `json:"history"`
	Incident []apitype.Alert      `json:"incident,omitempty"`
}

type inventoryRun struct {
	Start     time.Time `json:"start"`
	Commanded []struct {
		Cabinet string `json:"cabinet"`
	} `json:"commanded"`
	Summary []struct {
		Unit       string   `json:"unit"`
		Cabinets   int      `json:"cabinets"`
		Reported   int      `json:"reported"`
		Missed     []string `json:"missed"`
		OpenAlerts int      `json:"open_alerts"`
	} `json:"summary"`
}

var severityZH = map[apitype.Severity]string{apitype.Info: "提示", apitype.Warning: "警告", apitype.Major: "严重", apitype.Critical: "紧急"}

func (c *CLI) alertTable(w io.Writer, as []apitype.Alert) {
	fmt.Fprintln(w, c.say("编号\t告警号\t类型\t级别\t状态\t位置\t件数\t密级\t开始\t确认收到人", "ID\tREF\tKIND\tSEVERITY\tSTATE\tPLACE\tCOUNT\tLEVEL\tOPENED\tACKED BY"))
	for _, a := range as {
		sev := string(a.Severity)
		if !c.en() {
			sev = severityZH[a.Severity]
		}
		st := a.State.Text().In(c.lang)
		if a.SuppressedBy != "" {
			st += c.say("（已抑制）", " (suppressed)")
		}
		place := firstNonEmpty(a.Cabinet, a.Room, a.Agent)
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.Ref, a.KindText.In(c.lang), sev, st, place, a.Count, c.levelName(a.Level), c.when(a.OpenedAt), a.AckedBy)
	}
}

func (c *CLI) findingTable(w io.Writer, fs []apitype.Finding) {
	fmt.Fprintln(w, c.say("编号\t类型\t可信度\t柜\t文件\t密级\t漏读概率\t次数\t说明", "ID\tKIND\tCONFIDENCE\tCABINET\tITEM\tLEVEL\tP(UNREAD)\tMISSES\tTEXT"))
	for _, f := range fs {
		conf := string(f.Confidence)
		if !c.en() {
			conf = map[string]string{"suspected": "疑似", "confirmed": "已复核"}[conf]
		}
		p := "-"
		if f.Evidence.PUnread > 0 {
			p = fmt.Sprintf("%.2g", f.Evidence.PUnread)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.Kind.Text().In(c.lang), conf, f.Cabinet, f.Item, c.levelName(f.Level), p, f.Evidence.Misses, f.Text.In(c.lang))
	}
}
