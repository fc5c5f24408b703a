package apitype

import (
	"fmt"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
)

// Item is one numbered copy.
type Item struct {
	ID         int64         `json:"id"`
	DocumentID int64         `json:"document_id"`
	Document   string        `json:"document"` // 发文字号
	Copy       int           `json:"copy"`     // 份号
	Copies     int           `json:"copies"`
	Level      custody.Level `json:"level"`
	State      custody.State `json:"state"`
	Cabinet    string        `json:"cabinet,omitempty"`
	Holder     string        `json:"holder,omitempty"`
	Due        string        `json:"due,omitempty"`
	EPC        string        `json:"epc,omitempty"`
	Barcode    string        `json:"barcode,omitempty"`
	Purpose    string        `json:"purpose,omitempty"` // why it is out: borrow, circulate, reading_room, take_out
	Place      string        `json:"place,omitempty"`   // reading room or destination while out
	Source     int64         `json:"source,omitempty"`  // the item a reproduction was copied from
	Term       string        `json:"term,omitempty"`    // the document's 保密期限, for the mark (机密★10年)
	// Reproduction is the number of a 复制件 within its original (第{Copy}份之复制件{Reproduction});
	// 0 for an original. ReproUnit and ReproOn are the 复制单位 and the date it was made.
	Reproduction int    `json:"reproduction,omitempty"`
	ReproUnit    string `json:"repro_unit,omitempty"`
	ReproOn      string `json:"repro_on,omitempty"`
}

// Name is how people and refusals name a copy: document number and 份号 as printed, and for a
// reproduction its number within the original — never the title.
func (it Item) Name() custody.Text {
	c := it.CopyName()
	return custody.Text{ZH: it.Document + " " + c.ZH, EN: it.Document + " " + c.EN}
}

// CopyName is the copy within its document as printed: 第037份, 第3份之复制件1.
func (it Item) CopyName() custody.Text {
	n := CopyNo(it.Copy, it.Copies)
	if it.Reproduction > 0 {
		return custody.Text{ZH: fmt.Sprintf("第%s份之复制件%d", n, it.Reproduction), EN: fmt.Sprintf("copy %s, reproduction %d", n, it.Reproduction)}
	}
	return custody.Text{ZH: fmt.Sprintf("第%s份", n), EN: fmt.Sprintf("copy %s", n)}
}

// StateText is the copy's state as the 机要员 words it: a copy out with a reader reads 借出 only
// when it was lent; circulated it is 传阅中, in the reading room 在阅文室阅读 (issue 14 point 8).
func (it Item) StateText() custody.Text {
	if it.State == custody.CheckedOut {
		switch it.Purpose {
		case PurposeCirculate:
			return custody.Text{ZH: "传阅中", EN: "In circulation"}
		case PurposeReadingRoom:
			return custody.Text{ZH: "在阅文室阅读", EN: "In the reading room"}
		}
	}
	return it.State.Text()
}

// CopyNo prints a 份号 as the issuer does: zero-padded to the width of the total (第037份 of 200).
func CopyNo(n, total int) string {
	return fmt.Sprintf("%0*d", len(strconv.Itoa(total)), n)
}
