package ledger

import (
	"bytes"
	"fmt"

	"github.com/xuri/excelize/v2"
)

// TemplateSheet is the name of the template's data sheet; HelpSheet explains each column.
const (
	TemplateSheet = "台账"
	HelpSheet     = "填写说明"
)

// Template writes the ledger template: a sheet 台账 with the headings (required ones marked *,
// which Decode ignores), 密级 as a drop-down, and the 份号, 份数 and date columns formatted as
// text so Excel neither drops leading zeros nor turns a date into a serial; and a sheet 填写说明
// explaining each column with an example in both languages.
func Template() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", TemplateSheet); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	textFmt, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": text
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	for i, c := range Columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		h := c.ZH
		if c.Required {
			h = "*" + h
		}
		if err := f.SetCellStr(TemplateSheet, col+"1", h); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		width := 12.0
		switch c.Key {
		case Title:
			width = 36
		case Number, From:
			width = 20
		}
		if err := f.SetColWidth(TemplateSheet, col, col, width); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		if err := f.SetColStyle(TemplateSheet, col, textFmt); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		if c.Key == Level {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = col + "2:" + col + fmt.Sprint(MaxRows+1)
			if err := dv.SetDropList([]string{"绝密", "机密", "秘密"}); err != nil {
				return nil, fmt.Errorf("template: %w", err)
			}
			if err := f.AddDataValidation(TemplateSheet, dv); err != nil {
				return nil, fmt.Errorf("template: %w", err)
			}
		}
	}
	last, _ := excelize.ColumnNumberToName(len(Columns))
	if err := f.SetCellStyle(TemplateSheet, "A1", last+"1", bold); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if err := f.SetPanes(TemplateSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if _, err := f.NewSheet(HelpSheet); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	help := [][]any{{"列名", "必填", "说明", "示例", "Column", "Notes"}}
	for _, c := range Columns {
		req := ""
		if c.Required {
			req = "是"
		}
		help = append(help, []any{c.ZH, req, c.Help.ZH, c.Example, c.Key, c.Help.EN})
	}
	for i, row := range help {
		if err := f.SetSheetRow(HelpSheet, fmt.Sprintf("A%d", i+1), &row); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
	}
	_ = f.SetColWidth(HelpSheet, "C", "C", 60)
	_ = f.SetColWidth(HelpSheet, "F", "F", 60)
	if err := f.SetCellStyle(HelpSheet, "A1", "F1", bold); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return buf.Bytes(), nil
}
