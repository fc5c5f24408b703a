package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert"
)

// Alerts, findings and the nightly inventory: custodians and leaders read and acknowledge,
// auditors read.
func init() {
	var (
		state, kind, cabinet, severity, note string
		format, out                          string
		all                                  bool
	)
	filter := func(fs *flag.FlagSet) {
		fs.StringVar(&kind, "kind", "", "only this kind (missing, misplaced, unrecorded_removal, …)")
		fs.StringVar(&cabinet, "cabinet", "", "only this cabinet")
		fs.BoolVar(&all, "all", false, "include resolved alerts / cleared findings")
	}
	query := func(extra map[string]string) string {
		q := url.Values{}
		for k, v := range extra {
			if v != "" {
				q.Set(k, v)
			}
		}
		if kind != "" {
			q.Set("kind", kind)
		}
		if cabinet != "" {
			q.Set("cabinet", cabinet)
		}
		if !all {
			q.Set("active", "1")
		}
		return q.Encode()
	}
	step := func(name, path, zh, en string) command {
		return command{name: "alert " + name, args: "ID", help: en + " an alert, with a note (required)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "what was done (required)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "ID"); err != nil {
					return err
				}
				if strings.TrimSpace(note) == "" {
					return exitf(ExitUsage, "%s", c.say("需要 --note 说明处理情况", "--note is required"))
				}
				var a alert.Alert
				if err := c.call(ctx, "POST", "/api/v1/alerts/"+url.PathEscape(args[0])+"/"+path, map[string]string{"note": note}, &a); err != nil {
					return err
				}
				return c.output(a, func(w io.Writer) {
					fmt.Fprintf(w, c.say("告警 %s 已%s\n", "alert %s %s\n"), a.Ref, c.say(zh, en+"d"))
				})
			}}
	}
	add(
		command{name: "alerts", help: "list alerts (open and acknowledged unless --all); --format csv|pdf -o FILE for the printed, marked alert list",
			flags: func(fs *flag.FlagSet) {
				filter(fs)
				fs.StringVar(&state, "state", "", "only this state (open, acknowledged, resolved)")
				fs.StringVar(&severity, "severity", "", "only this severity (info, warning, major, critical)")
				fs.StringVar(&format, "format", "", "csv or pdf (default: a table)")
				fs.StringVar(&out, "o", "", "output file (default stdout)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if format != "" {
					return c.download(ctx, "/api/v1/alerts?"+query(map[string]string{"state": state, "severity": severity, "format": format}), out)
				}
				return callAndPrint(c, ctx, "GET", "/api/v1/alerts?"+query(map[string]string{"state": state, "severity": severity}), nil, func(w io.Writer, as []alert.Alert) { c.alertTable(w, as) })
			}},
		command{name: "alert show", args: "ID", help: "show an alert, the evidence of its findings and its escalation history",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "ID"); err != nil {
					return err
				}
				var d alertDetail
				if err := c.call(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(args[0]), nil, &d); err != nil {
					return err
				}
				return c.output(d, func(w io.Writer) {
					c.alertTable(w, []alert.Alert{d.Alert})
					fmt.Fprintln(w)
					c.findingTable(w, d.Findings)
					fmt.Fprintln(w)
					fmt.Fprintln(w, c.say("时间\t事件\t对象\t渠道\t操作人\t说明", "TIME\tEVENT\tAUDIENCE\tCHANNEL\tACTOR\tDETAIL"))
					for _, h := range d.History {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.when(h.At), h.Event, h.Audience, h.Channel, h.Actor, h.Detail)
					}
				})
			}},
		step("ack", "ack", "确认", "acknowledge"),
		step("resolve", "resolve", "解除", "resolve"),
		command{name: "findings", help: "list reconciliation findings with their confidence and evidence (open unless --all)",
			flags: filter,
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return callAndPrint(c, ctx, "GET", "/api/v1/findings?"+query(nil), nil, func(w io.Writer, fsx []alert.Finding) { c.findingTable(w, fsx) })
			}},
		command{name: "inventory runs", help: "the latest nightly inventories and their morning summaries",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var runs []inventoryRun
				if err := c.call(ctx, "GET", "/api/v1/inventory/runs", nil, &runs); err != nil {
					return err
				}
				return c.output(runs, func(w io.Writer) {
					fmt.Fprintln(w, c.say("开始\t单位\t柜数\t已清点\t未清点\t未解除告警", "START\tUNIT\tCABINETS\tREPORTED\tMISSED\tOPEN ALERTS"))
					for _, r := range runs {
						for _, u := range r.Summary {
							fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%d\n", c.when(r.Start), u.Unit, u.Cabinets, u.Reported, strings.Join(u.Missed, ","), u.OpenAlerts)
						}
						if len(r.Summary) == 0 {
							fmt.Fprintf(w, "%s\t-\t%d\t-\t-\t-\n", c.when(r.Start), len(r.Commanded))
						}
					}
				})
			}},
	)
}

// alertDetail and inventoryRun mirror the API's answers (api.AlertDetail, schedule.Night)
// without linking the server's packages into custodyctl.
type alertDetail struct {
	Alert    alert.Alert     `json:"alert"`
	Findings []alert.Finding `json:"findings"`
	History  []alert.Event   `json:"history"`
	Incident []alert.Alert   `json:"incident,omitempty"`
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

var severityZH = map[alert.Severity]string{alert.Info: "提示", alert.Warning: "警告", alert.Major: "严重", alert.Critical: "紧急"}

func (c *CLI) alertTable(w io.Writer, as []alert.Alert) {
	fmt.Fprintln(w, c.say("编号\t告警号\t类型\t级别\t状态\t位置\t件数\t密级\t开始\t确认人", "ID\tREF\tKIND\tSEVERITY\tSTATE\tPLACE\tCOUNT\tLEVEL\tOPENED\tACKED BY"))
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

func (c *CLI) findingTable(w io.Writer, fs []alert.Finding) {
	fmt.Fprintln(w, c.say("编号\t类型\t可信度\t柜\t文件\t密级\t漏读概率\t次数\t说明", "ID\tKIND\tCONFIDENCE\tCABINET\tITEM\tLEVEL\tP(UNREAD)\tMISSES\tTEXT"))
	for _, f := range fs {
		conf := string(f.Confidence)
		if !c.en() {
			conf = map[string]string{"suspected": "疑似", "confirmed": "已确认"}[conf]
		}
		p := "-"
		if f.Evidence.PUnread > 0 {
			p = fmt.Sprintf("%.2g", f.Evidence.PUnread)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.Kind.Text().In(c.lang), conf, f.Cabinet, f.Item, c.levelName(f.Level), p, f.Evidence.Misses, f.Text.In(c.lang))
	}
}
