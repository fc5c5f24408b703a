package schedule

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/wire"
)

// The morning summary lists the night's cabinet alarms of each unit — resolved ones too — by
// opaque id, kind, severity, cabinet, time and state, and fits summary.schema.json.
func TestSummaryListsTheNightsAlarms(t *testing.T) {
	ctx := context.Background()
	st := alerttest.OpenStore(t)
	alerttest.Seed(t, st, 2, 10, func(int) string { return "agent-a" })
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)) // 00:00 Beijing
	book := alert.NewBook(st, nil, clk.Now)
	chk := alert.NewChecker(st, book, nil, reconcile.Policy{}, alerttest.TestPrefix, nil)
	s, err := New(st, chk, book, nil, nil, Config{}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	no, yes := false, true
	if err := chk.Fault(ctx, "agent-a", wire.Fault{Device: "C-01", Code: "tamper", Message: "tamper switch of cabinet C-01", Cleared: &no}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	chk.Fault(ctx, "agent-a", wire.Fault{Device: "C-01", Code: "tamper", Cleared: &yes}, clk.Now())
	clk.Add(time.Hour)
	chk.Fault(ctx, "agent-a", wire.Fault{Device: "C-02", Code: "power_lost", Message: "on battery", Cleared: &no}, clk.Now())
	as, _ := book.Alerts(ctx, alert.Filter{Kind: reconcile.Tamper})
	if _, err := book.Resolve(ctx, "custodian1", as[0].ID, "维修人员误触，已复位"); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)

	cabs, err := s.cabinets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := &Night{Start: clk.Now().Add(-time.Hour), Deadline: clk.Now(), cabinets: cabs}
	sum, err := s.summary(ctx, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum) != 1 || len(sum[0].Alarms) != 2 {
		t.Fatalf("got summary %+v, want unit U1 with two alarms", sum)
	}
	got := sum[0].Alarms
	if got[0].Kind != "power_lost" || got[0].Cabinet != "C-02" || got[0].State != "open" || got[1].Kind != "tamper" || got[1].State != "resolved" || got[1].Severity != "critical" {
		t.Errorf("got alarms %+v, want power_lost C-02 open, then tamper C-01 critical resolved", got)
	}
	b, _ := json.Marshal(summaryMessage(n, sum))
	if err := alerttest.Schema(t, "summary.schema.json")(b); err != nil {
		t.Errorf("the summary does not fit summary.schema.json: %v\n%s", err, b)
	}
	if strings.Contains(string(b), "battery") || strings.Contains(string(b), "tamper switch") {
		t.Errorf("the summary carries the agent's fault text: %s", b)
	}
}
