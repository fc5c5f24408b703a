package daemon

import (
	"strings"
	"testing"
)

// [check] period is monthly or quarterly (default quarterly); anything else stops custodyd at
// start with an error naming the key.
func TestCheckPeriodConfig(t *testing.T) {
	if got := Default().Check.Period; got != "quarterly" {
		t.Errorf("default check.period: got %q, want quarterly", got)
	}
	c, err := Parse(sampleWith(t, `period = "monthly"`))
	if err != nil || c.Check.Period != "monthly" {
		t.Errorf("monthly: got %q, %v", c.Check.Period, err)
	}
	for _, bad := range []string{`period = "weekly"`, `period = ""`, `period = "每月"`} {
		_, err := Parse(sampleWith(t, bad))
		if err == nil || !strings.Contains(err.Error(), "check.period") {
			t.Errorf("%s: got %v, want an error naming check.period", bad, err)
		}
	}
}

// sampleWith is the sample config with its [check] period line replaced.
func sampleWith(t *testing.T, line string) string {
	t.Helper()
	const def = `period = "quarterly"`
	if !strings.Contains(Sample, def) {
		t.Fatal("the sample config has no [check] period line")
	}
	return strings.Replace(Sample, def, line, 1)
}
