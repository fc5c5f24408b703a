package report

import (
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/sitetime"
)

// AlertRow is one alert as the alert list prints it: the caller (the API, which reads the alert
// book) puts it in words; this package lays it out.
type AlertRow struct {
	Ref, Kind, Severity, Level, Place, State string
	Count                                    int
	Opened                                   time.Time
	Handled                                  string // who acknowledged or resolved it, and the note
}

// Alerts is the printed alert list (告警清单). It names copies by number only, yet it is marked
// like every paper: mark is the highest level it names with its term (issue 14 point 9).
func Alerts(fields []Field, rows []AlertRow, mark string, z sitetime.Zone) Table {
	t := Table{Title: "告警清单", Fields: append(fields, Field{"时区", z.Label("zh-CN")}), Marking: mark, Landscape: true,
		Columns: []string{"告警编号", "类型", "级别", "密级", "柜/房间", "状态", "份数", "发生时间", "处理"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{r.Ref, r.Kind, r.Severity, r.Level, r.Place, r.State, fmt.Sprint(r.Count), z.Format(r.Opened, stamp), r.Handled})
	}
	t.Notes = []string{fmt.Sprintf("共 %d 条。", len(rows))}
	return t
}
