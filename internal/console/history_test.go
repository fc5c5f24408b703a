package console

import (
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
)

// A flood of "no channel" rows written before the escalator recorded them once shows as one step
// per audience; every other step stays, in order.
func TestAlertHistoryShowsNoChannelOncePerAudience(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	var h []alert.Event
	h = append(h, alert.Event{At: at, Event: "opened"})
	for i := range 30 {
		for _, aud := range alert.Audiences {
			h = append(h, alert.Event{At: at.Add(time.Duration(i) * 10 * time.Second), Event: "unrouted", Audience: aud})
		}
	}
	h = append(h, alert.Event{At: at.Add(5 * time.Minute), Event: "acknowledged", Actor: "wang.fang"})
	got := onceUnrouted(h)
	var events []string
	for _, e := range got {
		events = append(events, e.Event+"/"+string(e.Audience))
	}
	want := "opened/ unrouted/custodian unrouted/leaders unrouted/secrecy_office acknowledged/"
	if s := strings.Join(events, " "); s != want {
		t.Errorf("got history %q, want %q", s, want)
	}
	if len(h) != 92 {
		t.Errorf("the book's history was changed: got %d steps, want 92", len(h))
	}
}
