package apitype

import (
	"time"
)

// LockOutcome is what a remote lock or unlock did: OK is the controller's answer; Error its
// reason when it failed (a failed command is also a lock_fault alarm).
type LockOutcome struct {
	Cabinet string    `json:"cabinet"`
	Agent   string    `json:"agent"`
	Action  string    `json:"action"` // lock or unlock
	Seconds int       `json:"seconds,omitempty"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// DefaultUnlockS is how long a remote unlock lasts when no time is given.
const DefaultUnlockS = 30
