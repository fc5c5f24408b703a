package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Session is a handover session and what has been scanned into it.
type Session struct {
	ID              int64         `json:"id"`
	Desk            string        `json:"desk"`
	Room            string        `json:"room,omitempty"`
	Purpose         string        `json:"purpose"`
	State           string        `json:"state"` // open, closed, abandoned
	Custodian       string        `json:"custodian"`
	CustodianName   string        `json:"custodian_name"`
	Counterpart     string        `json:"counterpart,omitempty"`
	CounterpartName string        `json:"counterpart_name,omitempty"`
	CounterpartUnit string        `json:"counterpart_unit,omitempty"`
	Second          string        `json:"second_custodian,omitempty"`
	SecondName      string        `json:"second_custodian_name,omitempty"`
	Due             string        `json:"due,omitempty"`
	Approval        int64         `json:"approval,omitempty"`
	Batch           int64         `json:"batch,omitempty"`
	Cabinet         string        `json:"cabinet,omitempty"`
	TargetUnit      string        `json:"target_unit,omitempty"`
	Place           string        `json:"place,omitempty"`
	Note            string        `json:"note,omitempty"`
	Receipt         string        `json:"receipt,omitempty"`
	Courier         string        `json:"courier,omitempty"`     // destroy: the bureau's courier, by name (no account here)
	Supervisor      string        `json:"supervisor,omitempty"`  // destroy: 监销人
	Envelope        string        `json:"envelope,omitempty"`    // dispatch: 信封编号（封号）
	Destination     string        `json:"destination,omitempty"` // dispatch, transfer outside: the receiving unit, by name
	Receiver        string        `json:"receiver,omitempty"`    // transfer outside: who signed the receipt, by name
	Expected        string        `json:"expected,omitempty"`    // dispatch: expected arrival
	Transit         int64         `json:"transit,omitempty"`     // the transit this handover made (dispatch, transfer outside)
	Opened          string        `json:"opened_at"`
	Closed          string        `json:"closed_at,omitempty"`
	Count           int           `json:"count"`
	Items           []SessionItem `json:"items"`
	// Rejected are the scans this handover refused while open, the desk scanner's and typed ones
	// (a typed scan is also refused in the answer), unreadable reads among them.
	Rejected []RejectedScan `json:"rejected,omitempty"`
	// Signatures are the badge confirmations that closed the handover: badge, person, time, desk.
	Signatures []Signature `json:"signatures,omitempty"`
}

// Signature is one person's confirmation of a handover with their badge and PIN.
type Signature struct {
	Part     string `json:"part"` // counterpart, companion, second_custodian
	Username string `json:"username"`
	Name     string `json:"name"`
	Badge    string `json:"badge"`
	Desk     string `json:"desk"`
	At       string `json:"at"`
}

// SessionItem is an item scanned into a session.
type SessionItem struct {
	Item
	Title  string `json:"title,omitempty"` // only for people who may see titles
	Scan   string `json:"scan"`
	Source string `json:"source"`
	At     string `json:"scanned_at"`
}

// OpenRequest opens a session.
type OpenRequest struct {
	Desk       string `json:"desk"`
	Purpose    string `json:"purpose"`
	Due        string `json:"due,omitempty"`         // borrow (required), circulate, reading_room
	Approval   int64  `json:"approval,omitempty"`    // take_out
	Batch      int64  `json:"batch,omitempty"`       // destroy
	Cabinet    string `json:"cabinet,omitempty"`     // return: where the items go (default: their home cabinet)
	TargetUnit string `json:"target_unit,omitempty"` // transfer
	Place      string `json:"place,omitempty"`       // reading room, destination
	Receipt    string `json:"receipt,omitempty"`     // transfer/archive receipt number (default generated); destroy: the bureau's receipt number
	Courier    string `json:"courier,omitempty"`     // destroy: the secrecy bureau's courier, by name
	Supervisor string `json:"supervisor,omitempty"`  // destroy: the person supervising the destruction (监销人)
	// Dispatch (交机要交通): Courier, Envelope, Destination and Expected are required. Transfer to
	// a unit outside the register: Destination, Receiver and Receipt instead of target_unit.
	Envelope    string `json:"envelope,omitempty"`    // 信封编号（封号）
	Destination string `json:"destination,omitempty"` // the receiving unit, by name (no account here)
	Receiver    string `json:"receiver,omitempty"`    // who signed for it there, by name
	Expected    string `json:"expected,omitempty"`    // expected arrival, in the site's zone
	Note        string `json:"note,omitempty"`
}

// ScanResult is what one scan did to a session.
type ScanResult struct {
	Kind    string  `json:"kind"` // "badge" or "item"
	Item    *Item   `json:"item,omitempty"`
	Session Session `json:"session"`
}

// CloseRequest confirms a handover: the counterpart's PIN, and for top-secret items the second
// custodian's badge and PIN (two-person rule).
type CloseRequest struct {
	PIN         string `json:"pin"`
	SecondBadge string `json:"second_badge,omitempty"`
	SecondPIN   string `json:"second_pin,omitempty"`
	// NewPIN is set by the counterpart at the first use of a badge that has no PIN yet (new or
	// reset): it becomes the badge's PIN and signs this handover.
	NewPIN string `json:"new_pin,omitempty"`
	// CompanionBadge and CompanionPIN: the second named person of a top-secret carry-out.
	CompanionBadge string `json:"companion_badge,omitempty"`
	CompanionPIN   string `json:"companion_pin,omitempty"`
}

// Handover purposes: what a handover (交接) is for. custodyctl sends them in OpenRequest and shows
// them with PurposeText.
const (
	PurposeBorrow      = "borrow"       // 借阅
	PurposeCirculate   = "circulate"    // 传阅 (always back through the custodian)
	PurposeReadingRoom = "reading_room" // 阅文室阅读
	PurposeTakeOut     = "take_out"     // 携带外出 (leader's approval, due time)
	PurposeReturn      = "return"       // 归还
	PurposeTransfer    = "transfer"     // 移交另一单位 (with a receipt)
	PurposeArchive     = "archive"      // 归档
	PurposeDestroy     = "destroy"      // 送销: an approved batch to the bureau's courier, two custodians
	PurposeStore       = "store"        // 扫描入柜: registered copies (reproductions) scanned in, no counterpart
	PurposeDispatch    = "dispatch"     // 交机要交通: an envelope to a courier, no account here
	PurposeReceive     = "receive"      // 退回入柜: copies back from transit scanned in, no counterpart
)

// purposeText names the purposes: the one place of these words, which the register's table of
// purposes (register/sessions.go) takes as well.
var purposeText = map[string]custody.Text{
	PurposeBorrow:      {ZH: "借阅", EN: "borrowing"},
	PurposeCirculate:   {ZH: "传阅", EN: "circulation"},
	PurposeReadingRoom: {ZH: "阅文室阅读", EN: "reading-room use"},
	PurposeTakeOut:     {ZH: "携带外出", EN: "taking out of the office"},
	PurposeReturn:      {ZH: "归还", EN: "return"},
	PurposeTransfer:    {ZH: "移交", EN: "transfer to another unit"},
	PurposeArchive:     {ZH: "归档", EN: "archiving"},
	PurposeDestroy:     {ZH: "送销", EN: "handover to the secrecy bureau for destruction"},
	PurposeStore:       {ZH: "扫描入柜", EN: "scanning in"},
	PurposeDispatch:    {ZH: "交机要交通", EN: "dispatch by courier"},
	PurposeReceive:     {ZH: "退回入柜", EN: "receiving back from transit"},
}

// PurposeText is the display name of a handover purpose; zero for an unknown one.
func PurposeText(p string) custody.Text { return purposeText[p] }
