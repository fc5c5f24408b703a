package duration

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestReadsWhatAnOperatorWrites(t *testing.T) {
	var c struct {
		Grace Duration `toml:"grace"`
	}
	if _, err := toml.Decode(`grace = "1m30s"`, &c); err != nil || c.Grace.Duration != 90*time.Second {
		t.Fatalf("got %v %v, want 1m30s", c.Grace, err)
	}
	_, err := toml.Decode(`grace = "ninety seconds"`, &c)
	if err == nil || !strings.Contains(err.Error(), `"ninety seconds" is not a duration like "90s"`) {
		t.Fatalf("got %v, want the value named and an example", err)
	}
	b, _ := Duration{90 * time.Second}.MarshalText()
	if string(b) != "1m30s" {
		t.Fatalf("marshal: got %s", b)
	}
}
