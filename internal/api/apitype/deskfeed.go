package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// RejectedScan is a scanner read that the handover refused.
type RejectedScan struct {
	At     string       `json:"at"`
	Scan   string       `json:"scan"`
	Source string       `json:"source"`
	Reason custody.Text `json:"reason"`
}
