package e2e

import (
	"testing"
	"time"
)

// alertWithin bounds the wait for the confirmed alert: the target is 60 s; past three
// minutes something is broken, and the failure shows what crossed the broker.
const alertWithin = 3 * time.Minute

// BenchmarkDoorCloseToConfirmedAlert reports door_close_to_confirmed_alert_s: the seconds from the
// door of a simulated cabinet closing, after an item's tag was taken out with no checkout, to
// the confirmed alert on MQTT {base}/alerts. The whole chain runs as processes (startRoom):
// cabinet-sim on pseudo-terminals → custody-agent (door-triggered round, outbox, MQTT) →
// Mosquitto → custodyd (ingest, reconcile, the first miss suspected, a confirming inventory
// commanded, the second miss confirmed, the alert published). The simulator and the agent run
// with their shipped timings (deploy/cabinet-sim: rounds after a door close at 2 s, 12 s and
// 60 s; the agent's default round lengths).
//
// custodyd runs with [reconcile] removal_grace = "1ms" — in effect 0, the strict rule "checkout
// before removal" (the key must be positive). The ≈2.3 s are then: the agent sees the close at
// its next controller poll (≈0.25 s), rounds 2 s after that, custodyd suspects the item and
// commands a confirming round at once, and the confirming round and the alert take ≈0.05 s (the
// simulated readers answer a pass at once; real ones take longer per pass).
//
// With the default grace of 15 min the rounds after the close raise nothing, since the custodian
// may still record the checkout; custodyd rechecks when the grace ends (counted from the close
// the agent reported), suspects, confirms and publishes: 15 min + ≈0.3 s (with removal_grace
// "20s" this chain measured 20.3 s).
//
// A fresh room is set up for every iteration, outside the timer. Skips without Mosquitto on
// 127.0.0.1:1883 or when custody-agent or cabinet-sim do not build; fails after 3 minutes
// without the alert.
//
// What limits it: the configuration — poll interval, the 2 s delay before a door round, removal
// grace; the machine — little (the simulated readers answer at once); the code — the confirming
// round being commanded at once rather than at the next schedule.
func BenchmarkDoorCloseToConfirmedAlert(b *testing.B) {
	var total time.Duration
	for range b.N {
		b.StopTimer()
		r := startRoom(b, "1ms")
		b.StartTimer()
		closed, from := r.doorCycleWithoutCheckout()
		m, _ := r.wait(from, alertWithin, "confirmed alert of item 5 taken out of C-01", r.confirmedRemoval)
		b.StopTimer()
		took := m.at.Sub(closed)
		total += took
		b.Logf("door close → confirmed alert %.2f s: %s", took.Seconds(), r.phases(closed, from))
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "door_close_to_confirmed_alert_s")
}

// An item taken out of C-01 without a checkout raises exactly one alert: the confirmed removal,
// within the 60 s — no misplaced (C-01's reader hears a C-02 tag through the wall),
// no unknown_tag, nothing else, through every round the door cycle causes (2 s, 12 s and 60 s
// after the close) and the confirming one.
func TestDoorCycleWithoutCheckoutRaisesOnlyTheConfirmedRemoval(t *testing.T) {
	if testing.Short() {
		t.Skip("takes over a minute: the agent rounds again 60 s after the door closes")
	}
	r := startRoom(t, "1ms")
	start := r.mark()
	closed, from := r.doorCycleWithoutCheckout()
	m, _ := r.wait(from, alertWithin, "confirmed alert of item 5 taken out of C-01", r.confirmedRemoval)
	if took := m.at.Sub(closed); took > 60*time.Second {
		t.Errorf("the confirmed alert came %.1f s after the door closed, want ≤ 60 s", took.Seconds())
	}
	// The last door-triggered round (60 s after the close) and what custodyd makes of it.
	rounds := 0
	r.wait(from, 2*time.Minute, "the round 60 s after the close", func(m busMsg) bool {
		if r.inventoryOf("C-01")(m) && m.at.Sub(closed) > 55*time.Second {
			return true
		}
		if r.inventoryOf("C-01")(m) {
			rounds++
		}
		return false
	})
	// The door-triggered rounds at 2 s and 12 s at least. The confirming one is a round of its
	// own unless it is asked for while another round of C-01 runs: the agent merges triggers
	// that arrive during a round into one next round (internal/agent/rounds.go), which on a
	// loaded machine can make two of these one.
	if rounds < 2 {
		t.Errorf("%d rounds of C-01 between the close and the one 60 s after, want at least 2 (2 s and 12 s, plus the confirming one)", rounds)
	}
	time.Sleep(3 * time.Second) // custodyd reconciles the last round and publishes what it raises

	var removal int
	for _, a := range r.alerts(start) {
		switch {
		case a.Kind == "unrecorded_removal" && a.Cabinet == "C-01":
			removal++
		case a.Kind == "door_after_hours" && afterHours(closed):
			// Working days are Monday to Friday; on a weekend the door cycle is after hours.
		default:
			t.Errorf("alert %s %s cabinet=%s items=%v: want none but the removal from C-01", a.Kind, a.Severity, a.Cabinet, a.Items)
		}
	}
	if removal == 0 {
		t.Error("the removal's alert is gone from what was published")
	}
	if t.Failed() {
		t.Logf("on the broker:\n%s", r.timeline(closed))
	}
}

// afterHours tells whether custodyd, working 00:00–23:59 on Monday to Friday in its default time
// zone (startRoom), calls t after hours.
func afterHours(t time.Time) bool {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return true // cannot tell: allow it
	}
	t = t.In(loc)
	return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday || t.Hour() == 23 && t.Minute() == 59
}
