package report

import (
	"fmt"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// DestructionList is the destruction list (涉密载体销毁清册) of a batch: what the leader approves
// and the secrecy bureau receives with the copies. It is marked like every paper.
func DestructionList(l register.DestructionList, z sitetime.Zone) Table {
	b := l.Batch
	t := Table{Title: "涉密载体销毁清册", Landscape: true, Columns: []string{"序号", "编号", "发文字号", "标题", "密级", "份号", "保密期限", "发文单位", "状态"}}
	decision := map[string]string{"pending": "待领导审批", "approved": "已批准", "rejected": "未批准"}[l.Decision]
	if l.ApprovedBy != "" {
		decision += "（" + l.ApprovedBy + "，" + z.FormatStored(l.ApprovedAt, stamp) + "）"
	}
	t.Fields = []Field{{"清册编号", fmt.Sprint(b.ID)}, {"单位", b.Unit}, {"销毁理由", b.Reason}, {"造册人", b.CreatedBy},
		{"造册时间", z.FormatStored(b.Created, stamp)}, {"审批", decision}, {"时区", z.Label("zh-CN")}}
	if b.Sent != "" {
		t.Fields = append(t.Fields, Field{"送销时间", z.FormatStored(b.Sent, stamp)}, Field{"保密局交接人员", b.Courier}, Field{"保密局回执编号", b.BureauReceipt}, Field{"监销人", b.Supervisor})
	}
	if b.CertificateNo != "" {
		t.Fields = append(t.Fields, Field{"保密局销毁证明编号", b.CertificateNo})
	}
	var levels []custody.Level
	var terms []string
	for i, r := range l.Items {
		levels, terms = append(levels, r.Level), append(terms, r.SecrecyTerm)
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1), fmt.Sprint(r.ID), r.Document, r.Title, level(r.Level), r.CopyName().ZH, r.SecrecyTerm, r.IssuingUnit, r.StateText().ZH})
	}
	t.Marking = mark(levels, terms)
	t.Notes = []string{fmt.Sprintf("共 %d 份。经领导批准后整批交市保密局统一销毁，不得逐份自行销毁；保密局出具销毁证明后登记为已销毁。", len(l.Items))}
	t.Signatures = []string{"造册机要员（签字）", "批准领导（签字）", "保密局交接人员（签字）"}
	return t
}
