package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// A typed note is held to docs/limits.md through the API: an oversized loss report and one with
// a bidi override are refused 400 with a message naming the field, and no loss case is opened.
func TestHostileNotesRefusedThroughAPI(t *testing.T) {
	e, items := lifecycleEnv(t)
	for name, note := range map[string]string{
		"oversized":     strings.Repeat("丢", custody.MaxNote+1),
		"bidi override": "在会议室遗失\u202e失遗室议会在",
	} {
		body, _ := json.Marshal(map[string]any{"items": []int64{items[0].ID}, "note": note})
		status, eb := e.errorOf(e.do("wang.fang", "POST", "/api/v1/losses", string(body), nil))
		if status != 400 || !strings.Contains(eb.Error.Message, "丢失经过") {
			t.Errorf("%s loss note: got %d %q, want 400 naming 丢失经过", name, status, eb.Error.Message)
		}
	}
	var cases []register.LossCase
	e.decode(e.do("wang.fang", "GET", "/api/v1/losses", "", nil), 200, &cases)
	if len(cases) != 0 {
		t.Fatalf("refused loss reports left %d loss cases", len(cases))
	}
	var it register.Item
	e.decode(e.do("wang.fang", "GET", fmt.Sprintf("/api/v1/items/%d", items[0].ID), "", nil), 200, &it)
	if it.State != custody.InCabinet {
		t.Errorf("copy %d is %s after refused loss reports, want still in its cabinet", items[0].ID, it.State)
	}
}
