package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// Check is the 清查记录 of a periodic check (issue 14 point 7): the unit, the period, the
// inventories used, the counts, every copy with its outcome (discrepancies listed again by 份号
// after the table) and the two signatures with names and times. Times in the site's zone.
func Check(c register.Check, z sitetime.Zone) Table {
	t := Table{Title: "涉密载体清查记录", Columns: []string{"序号", "发文字号", "份号", "密级", "登记状态", "位置/持有人", "核对结果", "说明"}}
	status := map[string]string{"open": "进行中（未生效）", "signing": "签字中（未生效）", "closed": "已结束"}[c.State]
	t.Fields = []Field{
		{"清查编号", fmt.Sprint(c.ID)}, {"单位", strings.TrimSpace(c.UnitName + "（" + c.Unit + "）")},
		{"清查周期", c.PeriodText}, {"状态", status},
		{"发起人", person(c.OpenedByName, c.OpenedBy)}, {"开始时间", z.FormatStored(c.Opened, stamp)},
	}
	if c.Closed != "" {
		t.Fields = append(t.Fields, Field{"结束人", person(c.ClosedByName, c.ClosedBy)}, Field{"结束时间", z.FormatStored(c.Closed, stamp)})
	}
	n := c.Counts
	t.Fields = append(t.Fields, Field{"时区", z.Label("zh-CN")},
		Field{"应查份数", fmt.Sprint(n.Total)}, Field{"盘点在柜", fmt.Sprint(n.Found)},
		Field{"工作台扫描", fmt.Sprint(n.Scanned)}, Field{"持有人确认", fmt.Sprint(n.Confirmed)},
		Field{"清查期间办结离开", fmt.Sprint(n.Left)}, Field{"差异", fmt.Sprint(n.Discrepancies)})
	var levels []custody.Level
	var terms []string
	var diffs []string
	for i, it := range c.Items {
		levels, terms = append(levels, it.Level), append(terms, it.Term)
		where := it.Cabinet
		if it.Holder != "" {
			where = it.Holder
		}
		note := ""
		switch {
		case it.SeenIn != "":
			note = "读到于密码柜 " + it.SeenIn
		case it.Confirmation != nil:
			note = confirmText(it.Confirmation, z)
		}
		name := it.Name().ZH
		copyNo := strings.TrimPrefix(name, it.Document+" ")
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1), it.Document, copyNo, level(it.Level), state(it.State), where, it.OutcomeText, note})
		if it.Discrepancy {
			d := fmt.Sprintf("%s：%s", name, it.OutcomeText)
			if where != "" {
				d += "（登记为" + state(it.State) + "，" + where + "）"
			}
			if it.SeenIn != "" {
				d += "，读到于密码柜 " + it.SeenIn
			}
			diffs = append(diffs, d)
		}
	}
	t.Marking = mark(levels, terms)
	t.Notes = append(t.Notes, fmt.Sprintf("共 %d 份：盘点在柜 %d 份，工作台扫描 %d 份，持有人确认 %d 份，清查期间办结离开 %d 份，差异 %d 处。",
		n.Total, n.Found, n.Scanned, n.Confirmed, n.Left, n.Discrepancies))
	// Which inventory each cabinet's copies were judged by: a line each, too long for a field.
	for _, cb := range c.Cabinets {
		v := "开始清查后无完整盘点"
		if cb.Round != "" {
			v = fmt.Sprintf("%s 完整盘点，读到 %d 个标签（轮次 %s）", z.FormatStored(cb.Ended, stamp), cb.Tags, cb.Round)
		}
		t.Notes = append(t.Notes, "盘点依据：密码柜 "+cb.Cabinet+" "+v)
	}
	if len(diffs) == 0 {
		t.Notes = append(t.Notes, "差异清单：无。")
	} else {
		t.Notes = append(t.Notes, "差异清单：")
		for i, d := range diffs {
			t.Notes = append(t.Notes, fmt.Sprintf("%d. %s", i+1, d))
		}
	}
	for i, s := range c.Signatures {
		line := fmt.Sprintf("签字人%d：%s，%s，%s 签字（登录本人账号并输入本人工作证 PIN）", i+1, person(s.Name, s.Username), custody.Role(s.Role).Text().ZH, z.FormatStored(s.At, stamp))
		if s.Note != "" {
			line += "；说明：" + s.Note
		}
		t.Notes = append(t.Notes, line)
	}
	t.Signatures = []string{"机要员（签字）", "复核人（签字）"}
	return t
}

func confirmText(cf *register.CheckConfirmation, z sitetime.Zone) string {
	how := map[string]string{"desk_scan": "工作台扫描", "holder": "持有人本人确认", "holder_pin": "持有人刷工作证输入 PIN 确认", "recorded": "机要员记录确认"}[cf.How]
	s := fmt.Sprintf("%s，%s", how, z.FormatStored(cf.At, stamp))
	if cf.Note != "" {
		s += "：" + cf.Note
	}
	return s
}

// CheckPDF renders a check's 清查记录 as a PDF in the zone with the font at fontPath ("" for
// DefaultFontPath): what the API and the console hand the register when a check closes.
func CheckPDF(z sitetime.Zone, fontPath string) register.CheckRenderer {
	return func(c register.Check) ([]byte, error) {
		var buf bytes.Buffer
		if err := PDF(&buf, Check(c, z), fontPath); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
}
