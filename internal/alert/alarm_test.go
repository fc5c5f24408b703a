package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/wire"
)

func fault(device, code, msg string, cleared bool) wire.Fault {
	return wire.Fault{Device: device, Code: code, Message: msg, Cleared: &cleared}
}

func (r *rig) one(t *testing.T, kind reconcile.Kind, cabinet string) Alert {
	t.Helper()
	as := r.alerts(t, Filter{Kind: kind, Cabinet: cabinet})
	if len(as) != 1 {
		t.Fatalf("got %d %s alerts of %s, want 1: %+v", len(as), kind, cabinet, as)
	}
	return as[0]
}

// A tamper is critical at once, reaches the leaders at once (mail carries only the opaque id,
// severity, cabinet, room, time and link), and when the switch closes again the live condition
// ends but the alert stays open until a person resolves it with an explanation.
func TestTamperStaysOpenUntilAPersonResolvesIt(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.chk.Fault(ctx, "agent-a", fault("C-01", "tamper", "tamper switch of cabinet C-01", false), night); err != nil {
		t.Fatal(err)
	}
	a := r.one(t, reconcile.Tamper, "C-01")
	if a.Severity != Critical || a.State != Open || a.Count != 1 || a.Room == "" {
		t.Fatalf("tamper alert: got %+v, want critical, open, count 1, with its room", a)
	}
	r.tick(t)
	got := r.mqtt(t, 1)
	if got[0].Kind != reconcile.Tamper || got[0].Severity != Critical || got[0].Cabinet != "C-01" || len(got[0].Items) != 0 {
		t.Fatalf("on MQTT: got %+v, want the tamper of C-01 with no items", got[0])
	}
	mails := r.mailsTo(0)
	if mails["custodian@unit.test"] != 1 || mails["leaders@unit.test"] != 1 {
		t.Fatalf("mails: got %v, want the custodian and the leaders at once", mails)
	}
	for _, m := range r.smtp.Messages() {
		_, body := m.Body(t)
		if !strings.Contains(body, a.Ref) || !strings.Contains(body, "C-01") || strings.Contains(body, "tamper switch") {
			t.Fatalf("mail body: want the alert id and cabinet only, got:\n%s", body)
		}
	}
	fs, _ := r.book.Findings(ctx, Filter{Kind: reconcile.Tamper}, 0)
	if len(fs) != 1 || fs[0].Evidence.Fault == "" || len(fs[0].Evidence.Events) == 0 {
		t.Fatalf("evidence: got %+v, want the agent's fault text and the controller events", fs)
	}

	// The switch closes: the condition ends, the alert does not resolve itself.
	r.clk.Add(30 * time.Second)
	if err := r.chk.Fault(ctx, "agent-a", fault("C-01", "tamper", "", true), r.clk.Now()); err != nil {
		t.Fatal(err)
	}
	a = r.one(t, reconcile.Tamper, "C-01")
	if a.State == Resolved || a.Count != 0 {
		t.Fatalf("after the switch closed: got state %s count %d, want still open with the condition ended (count 0)", a.State, a.Count)
	}
	if _, err := r.book.Resolve(ctx, "wang.fang", a.ID, " "); err != ErrNoNote {
		t.Fatalf("resolve without an explanation: got %v, want ErrNoNote", err)
	}
	if a, err := r.book.Resolve(ctx, "wang.fang", a.ID, "检查柜体：维修人员误触，已复位"); err != nil || a.State != Resolved || a.ResolvedBy != "wang.fang" {
		t.Fatalf("resolve by a person: got %+v, %v", a, err)
	}
}

// Power lost is a warning; the door opening while on battery makes it critical and tells people
// again.
func TestPowerLostTurnsCriticalWhenTheDoorOpensOnBattery(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.chk.Fault(ctx, "agent-a", fault("C-02", "power_lost", "cabinet C-02 runs on its battery", false), night)
	if a := r.one(t, reconcile.PowerLost, "C-02"); a.Severity != Warning {
		t.Fatalf("power lost: got %s, want warning", a.Severity)
	}
	r.tick(t)
	r.mqtt(t, 1)
	r.clk.Add(time.Minute)
	if err := r.chk.DoorEvent(ctx, "agent-a", "C-02", "open", "", r.clk.Now()); err != nil {
		t.Fatal(err)
	}
	a := r.one(t, reconcile.PowerLost, "C-02")
	if a.Severity != Critical || a.State != Open {
		t.Fatalf("door opened on battery: got %s %s, want critical and open", a.Severity, a.State)
	}
	r.tick(t)
	if m := r.mqtt(t, 1); m[0].Severity != Critical {
		t.Fatalf("on MQTT: got %+v, want critical", m[0])
	}
}

// Every after-hours opening is judged from its own event: five openings in a night, each
// recorded in the alert's history, none lost to a timer.
func TestEveryAfterHoursOpeningCounts(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	r.chk.SetHours(reconcile.Hours{Location: loc, Start: 8*time.Hour + 30*time.Minute, End: 18 * time.Hour})
	for i := range 5 {
		at := night.Add(time.Duration(i) * 3 * time.Second)
		if err := r.chk.DoorEvent(ctx, "agent-a", "C-03", "open", "", at); err != nil {
			t.Fatal(err)
		}
		if err := r.chk.DoorEvent(ctx, "agent-a", "C-03", "closed", "", at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	a := r.one(t, reconcile.DoorAfterHours, "C-03")
	if a.State == Resolved {
		t.Fatal("the after-hours alert resolved itself when the door closed")
	}
	fs, _ := r.book.Findings(ctx, Filter{Kind: reconcile.DoorAfterHours, Cabinet: "C-03"}, 0)
	if len(fs) != 5 {
		t.Fatalf("got %d after-hours openings recorded, want 5", len(fs))
	}
	for _, f := range fs {
		if f.AlertID != a.ID {
			t.Fatalf("opening %d not linked to the alert %d", f.ID, a.ID)
		}
	}
	// The periodic site check neither raises it again nor clears it.
	if err := r.chk.Site(ctx, reconcile.Hours{Location: loc, Start: 8*time.Hour + 30*time.Minute, End: 18 * time.Hour}, time.Minute, time.Minute); err != nil {
		t.Fatal(err)
	}
	if a := r.one(t, reconcile.DoorAfterHours, "C-03"); a.State == Resolved {
		t.Fatal("the site check resolved the after-hours alert")
	}
}

// A failed lock command is a lock_fault; the next successful one ends the condition, and the
// alert waits for a person.
func TestFailedLockCommandIsALockFault(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.chk.Commanded("C-04", "lock", "by wang.fang", night)
	if err := r.chk.LockResult(ctx, "agent-b", "C-04", "lock", night.Add(time.Second), "lock cabinet C-04: controller refused: lock_fault"); err != nil {
		t.Fatal(err)
	}
	a := r.one(t, reconcile.LockFault, "C-04")
	if a.Severity != Major {
		t.Fatalf("lock fault: got %s, want major", a.Severity)
	}
	fs, _ := r.book.Findings(ctx, Filter{Kind: reconcile.LockFault}, a.ID)
	if len(fs) != 1 || len(fs[0].Evidence.Events) != 2 || fs[0].Evidence.Events[0].Event != "lock sent" {
		t.Fatalf("evidence: got %+v, want the command sent and its failure", fs)
	}
	r.chk.LockResult(ctx, "agent-b", "C-04", "lock", night.Add(time.Minute), "")
	if a := r.one(t, reconcile.LockFault, "C-04"); a.State == Resolved || a.Count != 0 {
		t.Fatalf("after a good lock: got %s count %d, want open with the condition ended", a.State, a.Count)
	}
}

// A forced door, then a copy gone: the removal's alert joins the forced door's incident, and the
// round after the alarm is in the alarm's history.
func TestForcedDoorAndRemovalAreOneIncident(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.chk.Report(ctx, r.round(1, "n0", night.Add(-time.Hour), func(int) bool { return true })); err != nil {
		t.Fatal(err)
	}
	open := night
	r.chk.Door("C-01", "open", "", open)
	r.chk.DoorEvent(ctx, "agent-a", "C-01", "open", "", open)
	r.chk.Fault(ctx, "agent-a", fault("C-01", "forced_door", "opened while locked", false), open)
	r.chk.Door("C-01", "closed", "", open.Add(20*time.Second))
	r.chk.DoorEvent(ctx, "agent-a", "C-01", "closed", "", open.Add(20*time.Second))
	forced := r.one(t, reconcile.ForcedDoor, "C-01")
	if forced.Severity != Critical || forced.State == Resolved {
		t.Fatalf("forced door: got %+v, want critical and unresolved after the close", forced)
	}
	// Rounds after the close without item 9, past the removal grace: confirmed.
	r.clk.Add(16 * time.Minute)
	for i, id := range []string{"a1", "a2", "a3"} {
		if _, err := r.chk.Report(ctx, r.round(1, id, r.clk.Now().Add(time.Duration(i)*time.Second), func(i int) bool { return i != 9 })); err != nil {
			t.Fatal(err)
		}
	}
	var loss []Alert
	for _, a := range r.alerts(t, Filter{Cabinet: "C-01"}) {
		if a.Kind.Loss() {
			loss = append(loss, a)
		}
	}
	if len(loss) != 1 || loss[0].IncidentID != forced.ID {
		t.Fatalf("loss alerts: got %+v, want one in the forced door's incident (%d)", loss, forced.ID)
	}
	inc, err := r.book.Incident(ctx, forced.ID)
	if err != nil || len(inc) != 1 || inc[0].ID != loss[0].ID {
		t.Fatalf("incident of the forced door: got %+v, %v", inc, err)
	}
	h, _ := r.book.History(ctx, forced.ID)
	var inventory bool
	for _, e := range h {
		inventory = inventory || e.Event == "inventory" && strings.Contains(e.Detail, "round a1")
	}
	if !inventory {
		t.Fatalf("the forced door's history lacks the round after it: %+v", h)
	}
}

// A round cut short by a door that is still open orders no confirming round into the open door
// and raises nothing; once the door is shut, an incomplete round is only suspected until the
// confirming rounds have had their chance.
func TestInterruptedRoundWaitsForTheDoorToClose(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	open := night
	r.chk.Door("C-02", "open", "", open)
	rep := r.round(2, "cut", open.Add(2*time.Second), func(int) bool { return true })
	rep.Complete = false
	res, err := r.chk.Report(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.Confirm || len(r.cmd.list()) != 0 {
		t.Fatalf("confirming rounds ordered into an open door: %v", r.cmd.list())
	}
	if fs, _ := r.book.Findings(ctx, Filter{Kind: reconcile.InventoryIncomplete}, 0); len(fs) != 0 {
		t.Fatalf("got %+v, want no inventory_incomplete while the door is open", fs)
	}
	r.chk.Door("C-02", "closed", "", open.Add(5*time.Second))
	rep = r.round(2, "after", open.Add(8*time.Second), func(int) bool { return true })
	rep.Complete = false
	if _, err := r.chk.Report(ctx, rep); err != nil {
		t.Fatal(err)
	}
	if len(r.cmd.list()) != 1 {
		t.Fatalf("after the close: got commands %v, want one confirming round", r.cmd.list())
	}
	if as := r.alerts(t, Filter{Active: true}); len(as) != 0 {
		t.Fatalf("got alerts %+v, want none before the confirming rounds", as)
	}
}

// A controller going silent while the cabinet is on battery makes power_lost critical — also
// after custodyd restarted in between (the checker's memory comes back from the open findings).
func TestPowerLostTurnsCriticalWhenTheControllerGoesSilentAfterARestart(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.chk.Fault(ctx, "agent-a", fault("C-01", "power_lost", "cabinet C-01 runs on its battery", false), night)
	restarted := NewChecker(r.st, r.book, r.cmd, reconcile.Policy{}, "", nil)
	if err := restarted.Restore(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Fault(ctx, "agent-a", fault("C-01", "controller_silent", "does not answer", false), night.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a := r.one(t, reconcile.PowerLost, "C-01"); a.Severity != Critical {
		t.Fatalf("power lost with the controller silent: got %s, want critical", a.Severity)
	}
	if a := r.one(t, reconcile.ControllerOffline, "C-01"); a.Severity != Major {
		t.Fatalf("controller offline: got %s, want major", a.Severity)
	}
}
