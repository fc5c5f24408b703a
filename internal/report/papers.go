package report

import (
	"fmt"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// The papers, built from what package register returns. Titles appear only when the register
// filled them, which it does only for people allowed to read them.

func level(l custody.Level) string { return l.Text().ZH }

func state(s custody.State) string { return s.Text().ZH }

// stamp is how papers show a time: to the minute, in the site's zone (named in a 时区 field).
const stamp = "2006-01-02 15:04"

// mark is the paper's secrecy mark (机密★10年) from its rows' levels and terms.
func mark(levels []custody.Level, terms []string) string { return custody.Mark(levels, terms) }

func person(name, username string) string {
	if name == "" {
		return username
	}
	return name + "（" + username + "）"
}

// Receipt is the handover receipt (交接单) of a session: what was handed over, between whom, why,
// and lines for both parties' signatures.
func Receipt(s register.Session, z sitetime.Zone) Table {
	t := Table{Title: "涉密文件交接单", Columns: []string{"序号", "发文字号", "份号", "密级", "标题", "交接后状态"}}
	giver, receiver := person(s.CustodianName, s.Custodian), person(s.CounterpartName, s.Counterpart)
	if s.Purpose == register.PurposeReturn {
		giver, receiver = receiver, giver
	}
	giver, receiver = transitParties(s, giver, receiver)
	t.Fields = []Field{
		{"交接编号", fmt.Sprint(s.ID)}, {"用途", register.PurposeText(s.Purpose).ZH},
		{"交付人", giver}, {"接收人", receiver},
		{"工作台", s.Desk}, {"完成时间", z.FormatStored(s.Closed, stamp)},
	}
	if s.Due != "" {
		t.Fields = append(t.Fields, Field{"归还期限", z.FormatStored(s.Due, stamp)})
	}
	t.Fields = append(t.Fields, Field{"时区", z.Label("zh-CN")})
	if s.Second != "" {
		t.Fields = append(t.Fields, Field{"第二机要员", person(s.SecondName, s.Second)})
	}
	if s.Purpose == register.PurposeDestroy {
		t.Title = "涉密载体送销交接单"
		t.Fields = append(t.Fields, Field{"保密局交接人员", s.Courier}, Field{"监销人", s.Supervisor})
	}
	if s.Receipt != "" {
		t.Fields = append(t.Fields, Field{"回执编号", s.Receipt})
	}
	if s.TargetUnit != "" {
		t.Fields = append(t.Fields, Field{"接收单位", s.TargetUnit})
	}
	transitFields(&t, s, z)
	if s.State != "closed" {
		t.Fields = append(t.Fields, Field{"状态", map[string]string{"open": "进行中（未生效）", "abandoned": "已放弃（未生效）"}[s.State]})
	}
	var levels []custody.Level
	var terms []string
	for i, it := range s.Items {
		levels, terms = append(levels, it.Level), append(terms, it.Term)
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1), it.Document, fmt.Sprint(it.Copy), level(it.Level), it.Title, it.StateText().ZH})
	}
	t.Marking = mark(levels, terms)
	for _, sg := range s.Signatures {
		t.Fields = append(t.Fields, Field{map[string]string{"counterpart": "签字确认", "companion": "同行人签字", "second_custodian": "第二机要员签字"}[sg.Part],
			fmt.Sprintf("%s 工作证 %s，%s，工作台 %s", person(sg.Name, sg.Username), sg.Badge, z.FormatStored(sg.At, stamp), sg.Desk)})
	}
	// What was confirmed and who signs depends on the move: a scan-in has no counterpart, and
	// the bureau's courier carries no badge of ours — the second custodian signed in the system.
	if transitNotes(&t, s) {
		return t
	}
	switch s.Purpose {
	case register.PurposeStore:
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上复制件经机要员在工作台逐份扫描入柜，已在系统中登记。", s.Count)}
		t.Signatures = []string{"机要员（签字）"}
	case register.PurposeDestroy:
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上文件按经批准的销毁清册整批清点无误，交保密局交接人员送销；第二机要员已刷工作证并输入 PIN 确认。文件在保密局出具销毁证明后登记为已销毁。", s.Count)}
		t.Signatures = []string{"送销机要员（签字）", "监交机要员（签字）", "保密局交接人员（签字）", "监销人（签字）"}
	default:
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上文件经双方当面清点无误，已在系统中登记；交付人与接收人已刷工作证并输入 PIN 确认。", s.Count)}
		t.Signatures = []string{"交付人（签字）", "接收人（签字）"}
		if s.Second != "" {
			t.Signatures = append(t.Signatures, "监交机要员（签字）")
		}
	}
	return t
}

// Ledger is the register (台账) of the given rows.
func Ledger(title string, fields []Field, rows []register.LedgerRow, z sitetime.Zone) Table {
	t := Table{Title: title, Fields: fields, Landscape: true,
		Columns: []string{"编号", "发文字号", "标题", "密级", "份号", "发文单位", "保管单位", "成文日期", "保密期限", "状态", "柜/持有人", "归还期限"}}
	var levels []custody.Level
	var terms []string
	for _, r := range rows {
		levels, terms = append(levels, r.Level), append(terms, r.SecrecyTerm)
		place := r.Cabinet
		if r.Holder != "" {
			place = person(r.HolderName, r.Holder)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.ID), r.Document, r.Title, level(r.Level), fmt.Sprintf("%d/%d", r.Copy, r.Copies), r.IssuingUnit, r.Unit,
			r.IssuedOn, r.SecrecyTerm, r.StateText().ZH, place, z.FormatStored(r.Due, stamp)})
	}
	t.Marking = mark(levels, terms)
	t.Notes = []string{fmt.Sprintf("共 %d 份。时间均为%s。", len(rows), z.Label("zh-CN"))}
	return t
}

// Recall is the progress of a recall campaign (清退进度).
func Recall(rc register.Recall, z sitetime.Zone) Table {
	t := Table{Title: "涉密文件清退进度", Columns: []string{"编号", "发文字号", "份号", "密级", "清退开始时持有人", "当前状态", "是否收回"}}
	status := "进行中"
	if rc.State == "closed" {
		status = "已结束"
	}
	if rc.Overdue {
		status += "（已超过截止时间）"
	}
	t.Fields = []Field{{"清退名称", rc.Name}, {"截止时间", z.FormatStored(rc.Deadline, stamp)}, {"进度", fmt.Sprintf("%d / %d", rc.Returned, rc.Total)}, {"状态", status}, {"时区", z.Label("zh-CN")}}
	if rc.Lost > 0 {
		t.Fields = append(t.Fields, Field{"已报失（未收回）", fmt.Sprint(rc.Lost)})
	}
	if rc.CloseNote != "" {
		t.Fields = append(t.Fields, Field{"领导处理意见", rc.CloseNote + "（" + rc.ClosedBy + "）"})
	}
	var levels []custody.Level
	var terms []string
	for _, it := range rc.Items {
		levels, terms = append(levels, it.Level), append(terms, it.Term)
		back := "未收回"
		switch {
		case it.Lost:
			back = "已报失"
		case it.Returned:
			back = "已收回"
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(it.ID), it.Document, fmt.Sprint(it.Copy), level(it.Level), it.HeldBy, state(it.State), back})
	}
	t.Marking = mark(levels, terms)
	return t
}

// Certificate is the destruction certificate (销毁证明) of a destroyed batch.
func Certificate(c register.Certificate, z sitetime.Zone) Table {
	t := Table{Title: "涉密载体销毁证明", Columns: []string{"编号", "发文字号", "标题", "密级", "份号", "发文单位"}}
	t.Fields = []Field{{"销毁批次", fmt.Sprint(c.Batch.ID)}, {"销毁理由", c.Batch.Reason},
		{"造册人", c.Batch.CreatedBy}, {"批准人", c.ApprovedBy}, {"批准时间", z.FormatStored(c.ApprovedAt, stamp)}, {"销毁时间", z.FormatStored(c.Batch.Destroyed, stamp)}, {"时区", z.Label("zh-CN")}}
	for i, name := range c.Custodians {
		t.Fields = append(t.Fields, Field{fmt.Sprintf("交接机要员%d", i+1), name})
	}
	b := c.Batch
	t.Fields = append(t.Fields, Field{"送销时间", z.FormatStored(b.Sent, stamp)}, Field{"保密局交接人员", b.Courier}, Field{"保密局回执编号", b.BureauReceipt},
		Field{"监销人", b.Supervisor}, Field{"保密局销毁证明编号", b.CertificateNo})
	var levels []custody.Level
	var terms []string
	for _, r := range c.Items {
		levels, terms = append(levels, r.Level), append(terms, r.SecrecyTerm)
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.ID), r.Document, r.Title, level(r.Level), fmt.Sprintf("%d/%d", r.Copy, r.Copies), r.IssuingUnit})
	}
	t.Marking = mark(levels, terms)
	t.Notes = []string{fmt.Sprintf("共 %d 份，按经批准的销毁清册整批送交保密局集中销毁，未逐份自行销毁。", len(c.Items))}
	t.Signatures = []string{"机要员（签字）", "机要员（签字）", "批准领导（签字）", "销毁单位（盖章）"}
	return t
}
