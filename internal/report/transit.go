package report

import (
	"fmt"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// The handover receipt of 机要交通 and of transfers to units outside the register (issue 14 point
// 5): the courier or the other unit's receiver has no account here, so the paper names them and
// has them sign it by hand; the envelope number, the receiving unit and the expected arrival are
// on it as on the register.

// transitParties names who gives and who receives when the other side has no account.
func transitParties(s register.Session, giver, receiver string) (string, string) {
	switch {
	case s.Purpose == register.PurposeDispatch:
		return giver, s.Courier + "（机要交通员）"
	case s.Purpose == register.PurposeTransfer && s.Destination != "":
		return giver, s.Receiver + "（" + s.Destination + "）"
	case s.Purpose == register.PurposeReceive:
		return "传递退回", giver // the custodian who scanned it back in
	}
	return giver, receiver
}

func transitFields(t *Table, s register.Session, z sitetime.Zone) {
	switch {
	case s.Purpose == register.PurposeDispatch:
		t.Title = "涉密文件机要交通交接单"
		t.Fields = append(t.Fields, Field{"机要交通员", s.Courier}, Field{"信封编号（封号）", s.Envelope}, Field{"接收单位", s.Destination},
			Field{"预计送达", z.FormatStored(s.Expected, stamp)})
	case s.Purpose == register.PurposeTransfer && s.Destination != "":
		t.Fields = append(t.Fields, Field{"接收单位", s.Destination}, Field{"签收人", s.Receiver})
	}
}

// transitNotes writes the notes and signature lines of these moves; false for any other.
func transitNotes(t *Table, s register.Session) bool {
	second := func() {
		if s.Second != "" {
			t.Signatures = append(t.Signatures, "监交机要员（签字）")
		}
	}
	switch {
	case s.Purpose == register.PurposeDispatch:
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上文件经机要员在工作台逐份扫描，装入封号 %s 的信封，交机要交通员 %s 送 %s；交通员在本单签字。对方回执登记后文件登记为已移交。", s.Count, s.Envelope, s.Courier, s.Destination)}
		t.Signatures = []string{"交付机要员（签字）", "机要交通员（签字）"}
		second()
	case s.Purpose == register.PurposeTransfer && s.Destination != "":
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上文件经双方当面清点无误，移交 %s，签收人 %s，对方回执编号 %s，已在系统中登记。", s.Count, s.Destination, s.Receiver, s.Receipt)}
		t.Signatures = []string{"交付机要员（签字）", "接收单位签收人（签字）"}
		second()
	case s.Purpose == register.PurposeReceive:
		t.Notes = []string{fmt.Sprintf("共 %d 份。以上文件传递退回，经机要员在工作台逐份扫描入柜，已在系统中登记。", s.Count)}
		t.Signatures = []string{"机要员（签字）"}
	default:
		return false
	}
	return true
}
