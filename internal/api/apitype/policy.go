package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// PolicyRule is one line of the approval policy.
type PolicyRule struct {
	Kind        string       `json:"kind"`
	Level       string       `json:"level"`          // top-secret, secret, confidential or "*"
	Unit        string       `json:"unit,omitempty"` // "" for every unit
	Decider     string       `json:"decider"`
	DeciderText custody.Text `json:"decider_text"`
	UpdatedBy   string       `json:"updated_by,omitempty"`
	UpdatedAt   string       `json:"updated_at,omitempty"`
}

// GrantRequest grants or revokes a role or an authority.
type GrantRequest struct {
	Username string       `json:"username"`
	Role     custody.Role `json:"role,omitempty"`  // a role, or
	Grant    string       `json:"grant,omitempty"` // principal_leader, secrecy_leader or backup
	Unit     string       `json:"unit,omitempty"`  // for principal_leader and secrecy_leader: the unit
}

// PersonGrant is an authority or right a person holds.
type PersonGrant struct {
	Username  string       `json:"username"`
	Grant     string       `json:"grant"`
	Text      custody.Text `json:"text"`
	Unit      string       `json:"unit,omitempty"`
	GrantedBy string       `json:"granted_by"`
	GrantedAt string       `json:"granted_at"`
}
