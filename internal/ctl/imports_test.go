package ctl

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/register"
)

// TestImportCommand: a custodian fetches the template, fills it in Excel (here: excelize), tries
// it with --dry-run, corrects it, imports it and prints the labels of the new copies; a leader
// is refused.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhang.wei", "张伟", custody.Holder})
	as := func(user string, args ...string) (int, string, string) { return o.run(user, "", args...) }
	if code, out, errOut := as("wang.fang", "cabinet", "add", "C-01", "一号柜", "--unit", "BGS"); code != 0 {
		t.Fatalf("cabinet add: %d %s%s", code, out, errOut)
	}

	tpl := filepath.Join(dir, "台账.xlsx")
	if code, out, errOut := as("wang.fang", "import", "--template", tpl); code != 0 || !strings.Contains(out, "已写出台账模板") {
		t.Fatalf("import --template: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := as("wang.fang", "import", "--template", tpl); code != ExitConflict || !strings.Contains(errOut, "未覆盖") {
		t.Errorf("a second --template onto the same file: got %d %q, want exit 5 and not overwritten", code, errOut)
	}
	// Fill the template as a 机要员 would in Excel: one row with a wrong level and a copy number
	// past the total, one copy lent to 张伟 (by name).
	fill := func(rows ...[]any) string {
		f, err := excelize.OpenFile(tpl)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := f.SetSheetRow("台账", cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "filled.xlsx")
		if err := f.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	due := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	//             发文字号 标题 密级 份数 份号 保密期限 发文单位 成文日期 来文单位 收文日期 存放柜 持有人 应还日期
	row1 := []any{"京办发〔2025〕12号", "关于做好年度保密检查工作的通知", "机密", "20", "3-4", "10年", "BGS", "2025-03-01", "市委机要局", "2025-03-03", "C-01"}
	row2 := []any{"京办发〔2025〕13号", "关于会议安排的通知", "秘密", "5", "2", "5年", "办公室", "2025-03-02", "市委机要局", "", "C-01", "张伟", due}
	bad := []any{"京办发〔2025〕14号", "关于经费的通知", "特密", "5", "9", "5年", "BGS", "2025-03-02", "市委机要局", "", "C-01"}

	path := fill(row1, row2, bad)
	code, out, errOut := as("wang.fang", "import", path, "--dry-run")
	if code != ExitConflict || !regexp.MustCompile(`(?m)^4 +密级 +"特密" 无效`).MatchString(out) || !regexp.MustCompile(`(?m)^4 +份号 +份号 9 不在 1 到 5`).MatchString(out) || !strings.Contains(out, "试导入，未写入任何内容") || !strings.Contains(errOut, "台账第 4 行") {
		t.Errorf("dry run with a bad row: got %d\n%s%s\nwant exit 5, row 4's 密级 and 份号 problems", code, out, errOut)
	}
	if code, out, _ := as("wang.fang", "--lang", "en", "import", path); code != ExitConflict || !strings.Contains(out, "nothing was imported") {
		t.Errorf("import with a bad row: got %d\n%s", code, out)
	}
	if code, out, _ := as("wang.fang", "item", "list"); code != 0 || strings.Contains(out, "京办发") {
		t.Errorf("after the refused import the register shows:\n%s", out)
	}
	if code, _, errOut := as("liu.qiang", "import", path, "--dry-run"); code != ExitAuth || !strings.Contains(errOut, "机要员") {
		t.Errorf("a leader's import: got %d %q, want exit 3 naming 机要员", code, errOut)
	}

	path = fill(row1, row2, make([]any, len(bad)))
	if code, out, errOut := as("wang.fang", "import", path, "--dry-run"); code != 0 || !strings.Contains(out, "试导入通过：2 个新文件，3 份（其中 1 份借出）") {
		t.Fatalf("dry run of the corrected ledger: got %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = as("wang.fang", "import", path)
	if code != 0 || !strings.Contains(out, "已导入：2 个新文件，3 份") || len(regexp.MustCompile(`[0-9A-F]{24}`).FindAllString(out, -1)) != 3 || !strings.Contains(out, "custodyctl labels print --document '京办发〔2025〕13号'") {
		t.Fatalf("import: got %d\n%s%s", code, out, errOut)
	}
	code, out, _ = as("wang.fang", "item", "list")
	if code != 0 || strings.Count(out, "京办发〔2025〕12号") != 2 || !strings.Contains(out, "zhang.wei") {
		t.Errorf("item list after the import:\n%s", out)
	}
	labelsPDF := filepath.Join(dir, "labels.zpl")
	if code, _, errOut := as("wang.fang", "labels", "print", "--document", "京办发〔2025〕12号", "--format", "zpl", "-o", labelsPDF, "--labels-dir", filepath.Join("..", "..", "labels")); code != 0 {
		t.Fatalf("labels print after the import: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(labelsPDF); err != nil || bytes.Count(b, []byte("^XA")) != 2 {
		t.Errorf("labels: got %v, want two ZPL labels", err)
	}
}
