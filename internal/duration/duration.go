// Package duration is the length of time written in custody's TOML files — custodyd's and the
// agent's configuration and cabinet-sim's scenarios — as a Go duration ("90s", "12h", "1m30s").
// It imports only the standard library, so every floor may use it; a value it cannot read is an
// error in an operator's words, which the config loaders prefix with the key.
package duration

import (
	"fmt"
	"time"
)

// Duration is a time.Duration read from text.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"90s\", \"5m\" or \"12h\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes it back as Go writes durations.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
