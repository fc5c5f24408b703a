package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// The 清查记录 names the unit, the period, the counts, each discrepancy by 份号 and both signers
// with their times in the site's zone, under the level mark of its copies.
func TestCheckRecord(t *testing.T) {
	c := register.Check{ID: 3, Unit: "BGS", UnitName: "办公室", Period: "2026-Q4", PeriodText: "2026年第4季度", State: "closed",
		OpenedBy: "wang.fang", OpenedByName: "王芳", Opened: "2026-12-01T01:00:00Z", ClosedBy: "wang.fang", ClosedByName: "王芳", Closed: "2026-12-03T08:30:00Z",
		Cabinets:   []register.CheckCabinet{{Cabinet: "C-01", Round: "r-9", Ended: "2026-12-02T18:00:00Z", Tags: 1}},
		Signatures: []register.CheckSignature{{Username: "wang.fang", Name: "王芳", Role: "custodian", Note: "第2份柜内未读到，已报告领导并组织查找；其余各份经盘点和持有人确认无误，特此说明并签字确认", At: "2026-12-03T08:00:00Z"}, {Username: "li.ming", Name: "李明", Role: "leader", At: "2026-12-03T08:20:00Z"}}}
	for i, o := range []string{register.CheckFound, register.CheckNotFound, register.CheckConfirmed} {
		it := register.CheckItem{Item: register.Item{ID: int64(i + 1), Document: "国保〔2026〕7号", Copy: i + 1, Copies: 3, Level: custody.TopSecret, State: custody.InCabinet, Cabinet: "C-01", Term: "长期"},
			Outcome: o, OutcomeText: register.CheckOutcomeText(o).ZH}
		it.Discrepancy = o == register.CheckNotFound
		c.Items = append(c.Items, it)
		c.Counts.Total++
	}
	c.Counts.Found, c.Counts.NotFound, c.Counts.Confirmed, c.Counts.Discrepancies = 1, 1, 1, 1
	var buf bytes.Buffer
	if err := PDF(&buf, Check(c, sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"涉密载体清查记录", "绝密★长期", "办公室（BGS）", "2026年第4季度", "应查份数：3", "差异：1",
		"国保〔2026〕7号 第2份：未找到", "密码柜 C-01 2026-12-03 02:00 完整盘点，读到 1 个标签（轮次 r-9）", "签字人1：王芳（wang.fang），机要员，2026-12-03 16:00", "签字（登录本人账号并输入本人工作证 PIN）；说明：第2份柜内未读到", "特此说明并签字确认",
		"签字人2：李明（li.ming），领导，2026-12-03 16:20", "北京时间"} {
		// A long note wraps: read it as one line.
		if !strings.Contains(text, want) && !strings.Contains(strings.ReplaceAll(text, "\n", ""), want) {
			t.Errorf("清查记录 lacks %q; got:\n%s", want, text)
		}
	}
}

// A long 清查记录 runs over several pages; each page carries the level mark.
func TestCheckRecordMarksEveryPage(t *testing.T) {
	c := register.Check{ID: 4, Unit: "BGS", UnitName: "办公室", PeriodText: "2026年12月", State: "closed", Opened: "2026-12-01T01:00:00Z"}
	for i := 1; i <= 120; i++ {
		c.Items = append(c.Items, register.CheckItem{Item: register.Item{ID: int64(i), Document: "国保〔2026〕9号", Copy: i, Copies: 120, Level: custody.Secret, State: custody.InCabinet, Cabinet: "C-01", Term: "10年"},
			Outcome: register.CheckFound, OutcomeText: register.CheckOutcomeText(register.CheckFound).ZH})
	}
	var buf bytes.Buffer
	if err := PDF(&buf, Check(c, sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	pages := strings.Split(strings.TrimRight(pdfText(t, buf.Bytes()), "\f\n"), "\f")
	if len(pages) < 3 {
		t.Fatalf("got %d pages, want a record of several", len(pages))
	}
	for i, p := range pages {
		if !strings.Contains(p, "机密★10年") {
			t.Errorf("page %d of %d has no level mark:\n%s", i+1, len(pages), p)
		}
	}
}
