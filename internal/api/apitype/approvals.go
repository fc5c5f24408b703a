package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Approval is a request and its decision. Who decides (Decider in Unit) comes from the approval
// policy, never from the request.
type Approval struct {
	ID          int64        `json:"id"`
	Kind        string       `json:"kind"`
	Level       string       `json:"level,omitempty"`
	Unit        string       `json:"unit"`    // the unit whose authority decides
	Decider     string       `json:"decider"` // principal_leader, leader, secrecy_leader, issuing_unit
	DeciderText custody.Text `json:"decider_text"`
	State       string       `json:"state"` // pending, approved, rejected, used
	RequestedBy string       `json:"requested_by"`
	For         string       `json:"for,omitempty"`  // the person taking items out
	With        string       `json:"with,omitempty"` // the second person of a top-secret carry-out
	Document    string       `json:"document,omitempty"`
	Items       []int64      `json:"items,omitempty"`
	Copies      int          `json:"copies,omitempty"`
	Due         string       `json:"due,omitempty"`
	ScopeUnits  []string     `json:"scope_units,omitempty"`
	ScopePeople []string     `json:"scope_people,omitempty"`
	Reason      string       `json:"reason"`
	DecidedBy   string       `json:"decided_by,omitempty"`
	DecidedAt   string       `json:"decided_at,omitempty"`
	Note        string       `json:"note,omitempty"`
	Consent     string       `json:"consent,omitempty"` // scope widening: the issuing unit's consent (document number)
	Expires     string       `json:"expires_at"`
	Created     string       `json:"created_at"`
	Expired     bool         `json:"expired"`
}

// ApprovalRequest asks for an approval: what and for whom. Unit and ApproverRole exist only to
// refuse a request that names its own decider (issue 13): the approval policy decides who
// decides. Expires defaults to seven days.
type ApprovalRequest struct {
	Kind         string       `json:"kind"`
	Unit         string       `json:"unit,omitempty"`
	ApproverRole custody.Role `json:"approver_role,omitempty"`
	For          string       `json:"for,omitempty"`
	With         string       `json:"with,omitempty"` // top-secret carry-out: the second named person
	Document     string       `json:"document,omitempty"`
	Items        []int64      `json:"items,omitempty"`
	Copies       int          `json:"copies,omitempty"`
	Due          string       `json:"due,omitempty"`
	ScopeUnits   []string     `json:"scope_units,omitempty"`
	ScopePeople  []string     `json:"scope_people,omitempty"`
	Reason       string       `json:"reason"`
	Expires      string       `json:"expires_at,omitempty"`
}
