package sim

import (
	"encoding/hex"
	"strings"
)

// Field is the simulator's model of what a reader hears, without the wire protocol: the very draw
// the simulated R2000 and M6e answer each inventory command with (each tag independently, with
// its ReadProbability). The miss-estimate calibration (internal/reconcile/calibrate) runs
// thousands of rounds through it, where a pseudo-terminal per command would take hours; the
// ground truth it compares against is this model's.
type Field struct{ d *device }

// NewField builds the field of a scenario (its tags and its seed).
func NewField(s Scenario) (*Field, error) {
	d, err := newDevice(s)
	if err != nil {
		return nil, err
	}
	return &Field{d: d}, nil
}

// Pass draws one inventory command on an antenna and returns the EPCs (upper-case hex) that
// answered.
func (f *Field) Pass(antenna int) []string {
	reads := f.d.round(antenna)
	out := make([]string, len(reads))
	for i, r := range reads {
		out[i] = strings.ToUpper(hex.EncodeToString(r.epc))
	}
	return out
}

// SetTags replaces the tags in the field: a copy taken out, or put back.
func (f *Field) SetTags(ts []Tag) error { return f.d.SetTags(ts) }
