package apitype

import "time"

// Clients a sign-in is for: the API (a bearer token, as custodyctl holds) or the console (a
// browser's cookie).
const (
	ClientAPI     = "api"
	ClientConsole = "console"
)

// SignIn is one live sign-in as the security administrator lists it: who, through what, since
// when, last seen when and from where. It carries no secret.
type SignIn struct {
	ID       int64     `json:"id"`
	Username string    `json:"username"`
	Name     string    `json:"name"`
	Client   string    `json:"client"`           // ClientAPI or ClientConsole
	Remote   string    `json:"remote,omitempty"` // the address of its latest request, as custodyd's front door saw it
	Since    time.Time `json:"since"`
	SeenAt   time.Time `json:"seen_at"` // to the minute
	Expires  time.Time `json:"expires_at"`
}

// Revoked is what a revocation ended: how many sign-ins of whom.
type Revoked struct {
	Username string `json:"username"`
	Count    int    `json:"revoked"`
}
