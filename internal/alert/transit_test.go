package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
)

// An envelope overdue in transit (issue 14 point 5) reaches the custodian and the leaders at once,
// as one alert per envelope naming the home cabinet and room, with external channels and MQTT
// free of the document number; it resolves itself when the receipt is recorded (the register no
// longer lists the copies as overdue).
func TestTransitOverdueReachesCustodianAndLeadersContentFree(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id1, id2 := r.site.Items["C-03/5"], r.site.Items["C-03/6"]
	due := r.clk.Now().Add(-2 * time.Hour)
	over := []reconcile.Transit{
		{Transit: 7, Expected: due, Item: reconcile.Item{ID: id1, Number: "京机密〔2026〕3号/5", Level: custody.Secret, State: custody.InTransit, Cabinet: "C-03"}},
		{Transit: 7, Expected: due, Item: reconcile.Item{ID: id2, Number: "京机密〔2026〕3号/6", Level: custody.Secret, State: custody.InTransit, Cabinet: "C-03"}},
	}
	r.chk.SetTransits(func(context.Context) ([]reconcile.Transit, error) { return over, nil })
	site := func() {
		t.Helper()
		if err := r.chk.Site(ctx, reconcile.Hours{Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Hour, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	site()
	r.tick(t)
	as := r.alerts(t, Filter{Active: true})
	if len(as) != 1 {
		t.Fatalf("got %d alerts, want one for the envelope", len(as))
	}
	a := as[0]
	if a.Kind != reconcile.TransitOverdue || a.Subject != "transit/7" || a.Count != 2 || a.Severity != Major || a.Cabinet != "C-03" {
		t.Errorf("got alert %+v, want a major transit_overdue for transit/7 counting 2 from C-03", a)
	}
	got := r.mailsTo(0)
	if got["custodian@unit.test"] != 1 || got["leaders@unit.test"] != 1 || got["bmb@unit.test"] != 0 {
		t.Errorf("got mails %v, want the custodian and the leaders told at once", got)
	}
	for _, m := range r.smtp.Messages() {
		subject, body := m.Body(t)
		if !strings.Contains(subject+body, a.Ref) || strings.Contains(subject+body, "京机密") || strings.Contains(body, "3号") {
			t.Errorf("got mail %q / %q, want the alert ref and no document number", subject, body)
		}
	}
	msgs := r.mqtt(t, 1)
	if m := msgs[0]; m.Kind != reconcile.TransitOverdue || len(m.Items) != 2 || m.ID != a.Ref || strings.Contains(string(r.raw[0]), "京机密") {
		t.Errorf("got MQTT alert %+v (%s), want both item ids under %s and no document number", m, r.raw[0], a.Ref)
	}

	// A person may resolve it, with an explanation; while the copies are still in transit the
	// next site check raises it again.
	if _, err := r.book.Resolve(ctx, "wang.fang", a.ID, ""); err == nil {
		t.Error("resolving without an explanation: got no error, want one")
	}
	if _, err := r.book.Resolve(ctx, "wang.fang", a.ID, "已电话联系对方，回执在邮寄中"); err != nil {
		t.Fatal(err)
	}
	site()
	if as := r.alerts(t, Filter{Active: true}); len(as) != 1 || as[0].Kind != reconcile.TransitOverdue || as[0].ID == a.ID {
		t.Fatalf("after a person resolved it with the copies still in transit: got %+v, want a new transit_overdue alert", as)
	}

	// The receipt is recorded: nothing is overdue any more and the alert resolves itself.
	over = nil
	site()
	if as := r.alerts(t, Filter{Active: true}); len(as) != 0 {
		t.Errorf("got %d open alerts after the receipt, want none", len(as))
	}
}
