package apitype

// Zone is a part of a cabinet covered by some of its reader's antennas.
type Zone struct {
	Name     string `json:"zone"`
	Antennas []int  `json:"antennas"`
}

// Cabinet is a steel cabinet (密码柜) watched by an agent.
type Cabinet struct {
	ID    int64  `json:"id"`
	Code  string `json:"code"`
	Name  string `json:"name"`
	Room  string `json:"room,omitempty"`
	Unit  string `json:"unit,omitempty"`
	Agent string `json:"agent,omitempty"`
	Zones []Zone `json:"zones"`
}

// Desk is a custodian's desk with its scanner.
type Desk struct {
	ID    int64  `json:"id"`
	Code  string `json:"code"`
	Name  string `json:"name"`
	Room  string `json:"room,omitempty"`
	Unit  string `json:"unit,omitempty"` // default: the custodian's unit`
	Agent string `json:"agent,omitempty"`
}

// Agent is an enrolled custody-agent.
type Agent struct {
	ID      string `json:"id"`
	Created string `json:"created_at"`
	Revoked string `json:"revoked_at,omitempty"`
}
