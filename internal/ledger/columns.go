// Package ledger reads an office's existing 台账 (ledger) — an Excel workbook (.xlsx) or a CSV
// file — into rows of cells named by the template's columns, and writes that template. It knows
// the file formats and the column names, never the register's rules: whether a row may be
// received is decided by package register (ImportLedger), with exactly the checks of receiving a
// document by hand, so the rules stay in one place.
//
// Decoding is bounded (MaxFileBytes, MaxRows, MaxCellRunes, excelize's unzip limits), since the
// bytes come from an upload: a zip bomb or a million-row sheet is refused, not read.
package ledger

import "github.com/custodyhq/custody/internal/custody"

// Column keys: the names the register reads a row's cells by.
const (
	Number      = "number"       // 发文字号
	Title       = "title"        // 标题
	Level       = "level"        // 密级
	Copies      = "copies"       // 份数: the total the issuer printed (共 N 份)
	Copy        = "copy"         // 份号: one number, or a range 3-5
	Term        = "term"         // 保密期限
	IssuingUnit = "issuing_unit" // 发文单位: a unit of the register, by code or name
	IssuedOn    = "issued_on"    // 成文日期
	From        = "from"         // 来文单位: who delivered it
	ReceivedOn  = "received_on"  // 收文日期
	Cabinet     = "cabinet"      // 存放柜
	Holder      = "holder"       // 持有人
	Due         = "due"          // 应还日期
	Scope       = "scope"        // 知悉范围
	Note        = "note"         // 备注
)

// Column is one column of the template.
type Column struct {
	Key      string
	ZH       string   // the heading in the template
	Aliases  []string // other headings offices use for it (and the English key)
	Required bool
	Date     bool // Excel keeps dates as serial numbers; these are turned into YYYY-MM-DD
	Example  string
	Help     custody.Text
}

// Columns are the template's columns in order. The register reads cells by Key.
var Columns = []Column{
	{Key: Number, ZH: "发文字号", Aliases: []string{"文号", "文件编号"}, Required: true, Example: "京办发〔2025〕12号",
		Help: custody.Text{ZH: "发文机关的发文字号，同一文件的各份填相同的字号", EN: "the document number; the same on every row of one document"}},
	{Key: Title, ZH: "标题", Aliases: []string{"文件标题", "文件名称"}, Required: true, Example: "关于做好年度保密检查工作的通知",
		Help: custody.Text{ZH: "文件标题（仅机要员、领导、阅文人可见）", EN: "the title (seen only by custodians, leaders and readers)"}},
	{Key: Level, ZH: "密级", Required: true, Example: "机密",
		Help: custody.Text{ZH: "绝密、机密 或 秘密；也可写 机密★10年（保密期限列留空）", EN: "绝密, 机密 or 秘密; 机密★10年 also works (leave 保密期限 empty)"}},
	{Key: Copies, ZH: "份数", Aliases: []string{"总份数", "印制份数", "共几份"}, Required: true, Example: "20",
		Help: custody.Text{ZH: "发文单位印制的总份数（共 N 份）", EN: "the total the issuer printed"}},
	{Key: Copy, ZH: "份号", Required: true, Example: "3",
		Help: custody.Text{ZH: "本单位收到的份号：一份写 3，连续多份写 3-5，不连续的用顿号分开 3、5、7-9", EN: "the copy numbers held: 3, a range 3-5, or a list 3、5、7-9"}},
	{Key: Term, ZH: "保密期限", Required: true, Example: "10年",
		Help: custody.Text{ZH: "如 10年、6个月、长期 或截止日期 2035-12-31", EN: "e.g. 10年, 6个月, 长期 or an end date 2035-12-31"}},
	{Key: IssuingUnit, ZH: "发文单位", Aliases: []string{"发文机关"}, Required: true, Example: "BGS",
		Help: custody.Text{ZH: "登记簿中的单位（代码或名称）", EN: "a unit of the register (code or name)"}},
	{Key: IssuedOn, ZH: "成文日期", Aliases: []string{"发文日期", "印发日期"}, Required: true, Date: true, Example: "2025-03-01",
		Help: custody.Text{ZH: "YYYY-MM-DD", EN: "YYYY-MM-DD"}},
	{Key: From, ZH: "来文单位", Aliases: []string{"来文机关", "送件人"}, Required: true, Example: "市委机要局",
		Help: custody.Text{ZH: "文件从哪里送来（机要交通、外单位）", EN: "who delivered it"}},
	{Key: ReceivedOn, ZH: "收文日期", Aliases: []string{"收到日期", "登记日期"}, Date: true, Example: "2025-03-03",
		Help: custody.Text{ZH: "YYYY-MM-DD，本地时间，不晚于今天；留空为今天", EN: "YYYY-MM-DD in the site's zone, not after today; empty: today"}},
	{Key: Cabinet, ZH: "存放柜", Aliases: []string{"存放位置", "密码柜", "柜号"}, Required: true, Example: "C-01",
		Help: custody.Text{ZH: "本单位登记簿中的密码柜代码", EN: "a cabinet code of your unit in the register"}},
	{Key: Holder, ZH: "持有人", Aliases: []string{"借阅人", "领用人"}, Example: "",
		Help: custody.Text{ZH: "现在借出给谁（登记簿中的人员账号或姓名）；在柜留空", EN: "who has it now (a username or name in the register); empty when in the cabinet"}},
	{Key: Due, ZH: "应还日期", Aliases: []string{"归还期限"}, Date: true, Example: "",
		Help: custody.Text{ZH: "借出的应还时间（2025-03-10 或 2025-03-10 18:00，本地时间）；留空按借阅期限", EN: "when a lent copy is due back (site's zone); empty: the borrowing limit"}},
	{Key: Scope, ZH: "知悉范围", Example: "BGS",
		Help: custody.Text{ZH: "可阅读的单位代码或人员账号，用 、 或 , 分隔；留空为发文单位", EN: "units or usernames allowed to read, separated by 、 or ,; empty: the issuing unit"}},
	{Key: Note, ZH: "备注", Example: "",
		Help: custody.Text{ZH: "记入该份的流转记录", EN: "written into each copy's chain of custody"}},
}

// ColumnByKey returns the column with key k.
func ColumnByKey(k string) (Column, bool) {
	for _, c := range Columns {
		if c.Key == k {
			return c, true
		}
	}
	return Column{}, false
}
