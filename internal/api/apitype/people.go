package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Unit is an organisational unit (单位).
type Unit struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	// Parent is the unit above (a department under an office): approvals that nobody in a unit
	// may decide go up to it.
	Parent string `json:"parent,omitempty"`
}

// Person is someone with an account.
type Person struct {
	ID       int64          `json:"id"`
	Username string         `json:"username"`
	Name     string         `json:"name"`
	Unit     string         `json:"unit,omitempty"`
	Roles    []custody.Role `json:"roles"`
	Active   bool           `json:"active"`
}

// NewPerson is an account to create.
type NewPerson struct {
	Username string         `json:"username"`
	Name     string         `json:"name"`
	Unit     string         `json:"unit"`
	Roles    []custody.Role `json:"roles"`
	Password string         `json:"password"` // empty: a one-time password is generated and returned
}
