package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Transit is one envelope handed to a courier, or one handover to an outside unit, with its copies.
type Transit struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"` // courier (机要交通) or handover (当面移交)
	Session     int64  `json:"session"`
	Destination string `json:"destination"`
	Courier     string `json:"courier,omitempty"`
	Envelope    string `json:"envelope,omitempty"`
	Expected    string `json:"expected,omitempty"`
	Sent        string `json:"sent_at"`
	SentBy      string `json:"sent_by"`
	Receipt     string `json:"receipt,omitempty"`
	Receiver    string `json:"receiver,omitempty"`
	Received    string `json:"received_at,omitempty"`
	RecordedBy  string `json:"recorded_by,omitempty"`
	Note        string `json:"note,omitempty"`
	// State: in_transit (a copy still with the courier), received (the receipt is recorded), or
	// ended (every copy came back or was reported lost). Overdue: in transit past Expected.
	State   string `json:"state"`
	Overdue bool   `json:"overdue"`
	Items   []Item `json:"items"`
}

// ReceiptRequest records the other unit's receipt (回执) of a dispatched envelope.
type ReceiptRequest struct {
	Receipt  string `json:"receipt"`  // the receipt's number
	Receiver string `json:"receiver"` // who signed it there, by name
	Note     string `json:"note,omitempty"`
}

// Transit states.
const (
	TransitOpen     = "in_transit"
	TransitReceived = "received"
	TransitEnded    = "ended"
)

// TransitStateText is how the console and custodyctl name a transit's state.
func TransitStateText(state string, overdue bool) custody.Text {
	switch {
	case state == TransitOpen && overdue:
		return custody.Text{ZH: "在途（逾期未收到回执）", EN: "in transit (overdue, no receipt)"}
	case state == TransitOpen:
		return custody.Text{ZH: "在途", EN: "in transit"}
	case state == TransitReceived:
		return custody.Text{ZH: "已签收", EN: "received"}
	}
	return custody.Text{ZH: "已结束（退回或报失）", EN: "ended (returned or lost)"}
}
