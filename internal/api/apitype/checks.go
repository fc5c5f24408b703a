package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Check is a check session with its copies, the inventories it used, and its signatures.
type Check struct {
	ID           int64            `json:"id"`
	Unit         string           `json:"unit"`
	UnitName     string           `json:"unit_name"`
	Period       string           `json:"period"`
	PeriodText   string           `json:"period_text"`
	State        string           `json:"state"` // open, signing (outcomes fixed), closed
	OpenedBy     string           `json:"opened_by"`
	OpenedByName string           `json:"opened_by_name"`
	Opened       string           `json:"opened_at"`
	Fixed        string           `json:"fixed_at,omitempty"`
	ClosedBy     string           `json:"closed_by,omitempty"`
	ClosedByName string           `json:"closed_by_name,omitempty"`
	Closed       string           `json:"closed_at,omitempty"`
	Counts       CheckCounts      `json:"counts"`
	Items        []CheckItem      `json:"items,omitempty"`
	Cabinets     []CheckCabinet   `json:"cabinets,omitempty"`
	Signatures   []CheckSignature `json:"signatures"`
	// ReportSHA256 is the digest of the stored 清查记录 PDF (closed checks).
	ReportSHA256 string `json:"report_sha256,omitempty"`
}

// CheckCounts are the check's totals by outcome.
type CheckCounts struct {
	Total         int `json:"total"`
	Found         int `json:"found"`
	Scanned       int `json:"scanned"`
	Confirmed     int `json:"confirmed"`
	Left          int `json:"left"`
	Discrepancies int `json:"discrepancies"`
	NotFound      int `json:"not_found"`
	Elsewhere     int `json:"found_elsewhere"`
	Unconfirmed   int `json:"unconfirmed"`
	Unchecked     int `json:"unchecked"`
	Lost          int `json:"lost"`
}

// CheckItem is one copy of the check and its outcome.
type CheckItem struct {
	Item
	StateAtOpen  custody.State      `json:"state_at_open"`
	HeldBy       string             `json:"held_by,omitempty"` // who held it when the check opened
	Outcome      string             `json:"outcome"`
	OutcomeText  string             `json:"outcome_text"`
	Discrepancy  bool               `json:"discrepancy"`
	SeenIn       string             `json:"seen_in,omitempty"` // the cabinet that read it, when elsewhere
	Confirmation *CheckConfirmation `json:"confirmation,omitempty"`
}

// CheckConfirmation is how a copy was confirmed during the check.
type CheckConfirmation struct {
	How    string `json:"how"` // desk_scan, holder, holder_pin, recorded
	By     string `json:"by"`
	Holder string `json:"holder,omitempty"`
	Note   string `json:"note,omitempty"`
	At     string `json:"at"`
}

// CheckCabinet is the inventory a cabinet's copies are judged by: its latest complete one
// stored after the opening (none: Round is empty).
type CheckCabinet struct {
	Cabinet string `json:"cabinet"`
	Round   string `json:"round,omitempty"`
	Ended   string `json:"ended_at,omitempty"`
	Tags    int    `json:"tags"`
}

// CheckSignature is one person's signature of the check.
type CheckSignature struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     string `json:"role"` // custodian or leader
	Note     string `json:"note,omitempty"`
	At       string `json:"at"`
}

// OpenCheckRequest opens a check of a unit.
type OpenCheckRequest struct {
	Unit string `json:"unit"`
}

// ConfirmRequest confirms that a copy out with a person is with them.
type ConfirmRequest struct {
	Item int64 `json:"item"`
	// Badge and PIN: the holder confirms at the custodian's desk with their own badge and PIN.
	Badge string `json:"badge,omitempty"`
	PIN   string `json:"pin,omitempty"`
	// Note: a custodian recording the confirmation of a copy in transit says who confirmed it.
	Note string `json:"note,omitempty"`
}

// SignRequest is a signature of a check: the signer's own badge PIN, and a note (required when
// the check has discrepancies).
type SignRequest struct {
	PIN  string `json:"pin"`
	Note string `json:"note,omitempty"`
}

// CheckInventoryCommand is one cabinet's inventory commanded for a check, and how sending went.
type CheckInventoryCommand struct {
	Cabinet string `json:"cabinet"`
	Agent   string `json:"agent,omitempty"`
	Sent    bool   `json:"sent"`
	Error   string `json:"error,omitempty"`
}

// Check outcomes of one copy (CheckItem.Outcome).
const (
	CheckFound       = "found"           // read in its cabinet by a complete inventory after the opening
	CheckScanned     = "scanned"         // scanned at the desk during the check
	CheckConfirmed   = "confirmed"       // out with a person, who confirmed holding it
	CheckLeft        = "left"            // left custody by a recorded step during the check
	CheckNotFound    = "not_found"       // its cabinet was inventoried and did not read it
	CheckElsewhere   = "found_elsewhere" // read in another cabinet than the register says
	CheckUnconfirmed = "unconfirmed"     // out with a person who has not confirmed it
	CheckUnchecked   = "unchecked"       // no inventory of its cabinet since the opening, no tag, or not scanned
	CheckLost        = "lost"            // reported lost (报失): listed apart, never as found
)

// checkOutcomeText words the outcomes: the one place of these words, which the register's table
// of outcomes (register/checks.go) takes as well.
var checkOutcomeText = map[string]custody.Text{
	CheckFound:       {ZH: "在柜，盘点读到", EN: "in its cabinet, read by the inventory"},
	CheckScanned:     {ZH: "工作台扫描核对", EN: "scanned at the desk"},
	CheckConfirmed:   {ZH: "持有人确认", EN: "confirmed by its holder"},
	CheckLeft:        {ZH: "清查期间已办结离开", EN: "left custody during the check"},
	CheckNotFound:    {ZH: "未找到", EN: "not found"},
	CheckElsewhere:   {ZH: "在他处发现", EN: "found elsewhere"},
	CheckUnconfirmed: {ZH: "持有人未确认", EN: "not confirmed by its holder"},
	CheckUnchecked:   {ZH: "未核对", EN: "not checked"},
	CheckLost:        {ZH: "已报失", EN: "reported lost"},
}

// CheckOutcomeText is the display text of an outcome.
func CheckOutcomeText(o string) custody.Text { return checkOutcomeText[o] }
