package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/wire"
)

// Cabinet alarms (issue 15). The agent reports what a cabinet's controller and readers say as
// fault observations ({device: cabinet code, code, message, cleared}) and door observations; the
// checker keeps, per cabinet, the alarms raised and not cleared and the recent events, and turns
// each change into a finding at once: a finding is the live condition, its alert is resolved only
// by a person (manualOnly). Door openings are judged here too, each from its own event (after
// hours; on battery), never from a periodic look at the door cycles that a reconciled round may
// already have discarded.

// faultKinds maps the agent's fault codes (internal/agent/devices.go, firmware-protocol/mqtt.md
// §5.5) to alarm kinds. Codes not listed (outbox, round_failed …) are the agent's own health.
var faultKinds = map[string]reconcile.Kind{
	"tamper":            reconcile.Tamper,
	"power_lost":        reconcile.PowerLost,
	"lock_fault":        reconcile.LockFault,
	"forced_door":       reconcile.ForcedDoor,
	"controller_silent": reconcile.ControllerOffline,
	"reader_fault":      reconcile.ReaderFault,
}

// keepEvents bounds the recent events kept per cabinet for the evidence.
const keepEvents = 16

type raised struct {
	since     time.Time
	fault     string
	agent     string
	fromRound bool // reader_fault seen in an inventory's antenna health, not raised by the agent
}

// cabinetState is what the checker knows of one cabinet's hardware.
type cabinetState struct {
	events []reconcile.DeviceEvent
	active map[reconcile.Kind]raised
	door   bool // open
	// alarmAt: a forced door, tamper or power alarm was raised then, and the round after it has
	// not been noted in its alert yet (zero: nothing to note).
	alarmAt time.Time
}

func (c *Checker) cab(code string) *cabinetState {
	s := c.cabs[code]
	if s == nil {
		s = &cabinetState{active: map[reconcile.Kind]raised{}}
		c.cabs[code] = s
	}
	return s
}

func (s *cabinetState) note(e reconcile.DeviceEvent) {
	s.events = append(s.events, e)
	if n := len(s.events); n > keepEvents {
		s.events = slices.Clone(s.events[n-keepEvents:])
	}
}

// SetHours sets the working hours that door openings are judged against (the inventory
// schedule's). Until it is called no opening is after hours.
func (c *Checker) SetHours(h reconcile.Hours) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hours = &h
}

// Fault records a device fault from an agent and raises or clears the cabinet alarm it means.
// Faults that are no cabinet alarm are ignored.
func (c *Checker) Fault(ctx context.Context, agent string, f wire.Fault, at time.Time) error {
	kind, ok := faultKinds[f.Code]
	if !ok {
		return nil
	}
	cleared := f.Cleared != nil && *f.Cleared
	c.mu.Lock()
	s := c.cab(f.Device)
	ev := "raised"
	if cleared {
		ev = "cleared"
	}
	s.note(reconcile.DeviceEvent{At: at, Source: "controller", Event: f.Code + " " + ev, Detail: f.Message})
	var eval Evaluation
	if cleared {
		delete(s.active, kind)
		eval.Cleared = append(eval.Cleared, alarmKey(kind, f.Device))
	} else {
		if r, ok := s.active[kind]; !ok || r.fault != f.Message {
			since := at
			if ok {
				since = r.since
			}
			s.active[kind] = raised{since: since, fault: f.Message, agent: agent}
		}
		eval.Findings = append(eval.Findings, c.alarmFinding(f.Device, kind, at))
		if slices.Contains(incidentKinds, kind) && s.alarmAt.IsZero() {
			s.alarmAt = at
		}
		if kind == reconcile.ControllerOffline {
			eval.Findings = append(eval.Findings, c.urgentPower(f.Device, at)...)
		}
	}
	c.mu.Unlock()
	return c.book.Apply(ctx, eval)
}

// DoorEvent judges one door opening or closing from the event itself: an opening outside working
// hours is door_after_hours; an opening while on battery makes power_lost critical; a closing
// ends the live condition of door_after_hours and forced_door (their alerts stay for a person).
func (c *Checker) DoorEvent(ctx context.Context, agent, cabinet, state, badge string, at time.Time) error {
	c.mu.Lock()
	s := c.cab(cabinet)
	detail := ""
	if badge != "" {
		detail = "badge " + badge
	}
	s.note(reconcile.DeviceEvent{At: at, Source: "controller", Event: "door " + state, Detail: detail})
	var eval Evaluation
	key := reconcile.Key{Kind: reconcile.DoorAfterHours, Subject: "cabinet/" + cabinet}
	switch state {
	case "open":
		s.door = true
		if c.hours != nil && !c.hours.Within(at) {
			d := reconcile.Door{Cabinet: cabinet, Open: at, By: badge}
			eval.Findings = append(eval.Findings, reconcile.Finding{Kind: reconcile.DoorAfterHours, Subject: key.Subject, Confidence: reconcile.Confirmed,
				Cabinet: cabinet, Agent: agent, At: at,
				Evidence: reconcile.Evidence{Door: &d, Since: at, Events: slices.Clone(s.events)},
				Text: custody.Text{ZH: fmt.Sprintf("柜 %s 在非工作时间被打开（%s）", cabinet, c.local(at)),
					EN: fmt.Sprintf("cabinet %s was opened outside working hours (%s)", cabinet, c.local(at))}})
		}
		eval.Findings = append(eval.Findings, c.urgentPower(cabinet, at)...)
	case "closed":
		s.door = false
		eval.Cleared = append(eval.Cleared, key, alarmKey(reconcile.ForcedDoor, cabinet))
		delete(s.active, reconcile.ForcedDoor)
	}
	c.mu.Unlock()
	if len(eval.Findings) == 0 && len(eval.Cleared) == 0 {
		return nil
	}
	return c.book.Apply(ctx, eval)
}

// LockResult records a lock or unlock custodyd commanded and what came of it; a failed command,
// or no answer, is a lock_fault; a successful one ends a lock_fault's live condition.
func (c *Checker) LockResult(ctx context.Context, agent, cabinet, kind string, at time.Time, failure string) error {
	c.mu.Lock()
	s := c.cab(cabinet)
	var eval Evaluation
	if failure == "" {
		s.note(reconcile.DeviceEvent{At: at, Source: "command", Event: kind + " ok"})
		delete(s.active, reconcile.LockFault)
		eval.Cleared = append(eval.Cleared, alarmKey(reconcile.LockFault, cabinet))
	} else {
		s.note(reconcile.DeviceEvent{At: at, Source: "command", Event: kind + " failed", Detail: failure})
		if _, ok := s.active[reconcile.LockFault]; !ok {
			s.active[reconcile.LockFault] = raised{since: at, fault: failure, agent: agent}
		}
		eval.Findings = append(eval.Findings, c.alarmFinding(cabinet, reconcile.LockFault, at))
	}
	c.mu.Unlock()
	return c.book.Apply(ctx, eval)
}

// Commanded notes a lock command custodyd sends, for the evidence of a later alarm.
func (c *Checker) Commanded(cabinet, kind, detail string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cab(cabinet).note(reconcile.DeviceEvent{At: at, Source: "command", Event: kind + " sent", Detail: detail})
}

// alarmFollowUp records, in the history of the cabinet's unresolved forced-door, tamper and
// power alarms, the first inventory round that ended after each (the agent rounds at once after
// a tamper, a power return and a door closing): the alert's evidence of what the cabinet held.
// Only a complete round says what it holds; one cut short by the open door waits for the next.
func (c *Checker) alarmFollowUp(ctx context.Context, r reconcile.Report, res reconcile.Result, complete bool) error {
	c.mu.Lock()
	s := c.cab(r.Cabinet)
	due := complete && !s.alarmAt.IsZero() && !r.End.Before(s.alarmAt)
	c.mu.Unlock()
	if !due {
		return nil // nothing waits for a round: no store work on the ordinary path
	}
	detail := fmt.Sprintf("round %s at %s: %d of %d expected copies read, complete=%v", r.Round, r.End.UTC().Format(time.RFC3339), res.Stats.Read, res.Stats.Expected, r.Complete)
	if _, err := c.book.noteInventory(ctx, r.Cabinet, r.End, detail); err != nil {
		return err
	}
	c.mu.Lock()
	s.note(reconcile.DeviceEvent{At: r.End, Source: "inventory", Event: "inventory after alarm", Detail: detail})
	s.alarmAt = time.Time{}
	c.mu.Unlock()
	return nil
}

// readerHealth raises reader_fault for a round whose antennas failed (antenna missing, RF
// error), and clears such a fault when a complete round has every antenna well.
func (c *Checker) readerHealth(ctx context.Context, r reconcile.Report) error {
	var bad []string
	for _, a := range r.Antennas {
		if !a.OK {
			bad = append(bad, fmt.Sprintf("antenna %d: %s", a.Port, a.Fault))
		}
	}
	fault := strings.Join(bad, "; ")
	c.mu.Lock()
	s := c.cab(r.Cabinet)
	cur, active := s.active[reconcile.ReaderFault]
	var eval Evaluation
	switch {
	case fault != "" && (!active || cur.fault != fault):
		since := r.End
		if active {
			since = cur.since
		}
		s.active[reconcile.ReaderFault] = raised{since: since, fault: fault, agent: r.Agent, fromRound: true}
		s.note(reconcile.DeviceEvent{At: r.End, Source: "inventory", Event: "antenna fault", Detail: "round " + r.Round + ": " + fault})
		eval.Findings = append(eval.Findings, c.alarmFinding(r.Cabinet, reconcile.ReaderFault, r.End))
	case fault == "" && active && cur.fromRound && r.Complete:
		delete(s.active, reconcile.ReaderFault)
		s.note(reconcile.DeviceEvent{At: r.End, Source: "inventory", Event: "antennas well", Detail: "round " + r.Round})
		eval.Cleared = append(eval.Cleared, alarmKey(reconcile.ReaderFault, r.Cabinet))
	}
	c.mu.Unlock()
	if len(eval.Findings) == 0 && len(eval.Cleared) == 0 {
		return nil
	}
	return c.book.Apply(ctx, eval)
}

// urgentPower re-raises power_lost as urgent when the cabinet is on battery. Call with c.mu held.
func (c *Checker) urgentPower(cabinet string, at time.Time) []reconcile.Finding {
	s := c.cab(cabinet)
	if _, ok := s.active[reconcile.PowerLost]; !ok {
		return nil
	}
	return []reconcile.Finding{c.alarmFinding(cabinet, reconcile.PowerLost, at)}
}

func alarmKey(k reconcile.Kind, cabinet string) reconcile.Key {
	return reconcile.Key{Kind: k, Subject: "cabinet/" + cabinet}
}

// alarmText is each alarm's sentence, zh-CN and English.
var alarmText = map[reconcile.Kind]custody.Text{
	reconcile.Tamper:            {ZH: "柜 %s 的防拆开关被触发（柜体或线缆被破坏），自 %s 起", EN: "the tamper switch of cabinet %s opened (enclosure or cable) at %s"},
	reconcile.PowerLost:         {ZH: "柜 %s 市电中断，自 %s 起由电池供电", EN: "cabinet %s lost mains power at %s and runs on its battery"},
	reconcile.LockFault:         {ZH: "柜 %s 的门锁未到达指令位置（%s）", EN: "the lock of cabinet %s did not reach the commanded position (%s)"},
	reconcile.ForcedDoor:        {ZH: "柜 %s 的柜门在上锁状态下被打开（未下达开锁指令，也无刷卡开锁），%s", EN: "the door of cabinet %s opened while locked, with no unlock commanded or badged, at %s"},
	reconcile.ControllerOffline: {ZH: "柜 %s 的门控器自 %s 起不再应答心跳", EN: "the controller of cabinet %s stopped answering its heartbeat at %s"},
	reconcile.ReaderFault:       {ZH: "柜 %s 的读写器故障，自 %s 起", EN: "the reader of cabinet %s has failed since %s"},
}

// alarmFinding builds the finding of an active alarm. Call with c.mu held.
func (c *Checker) alarmFinding(cabinet string, k reconcile.Kind, at time.Time) reconcile.Finding {
	s := c.cab(cabinet)
	a := s.active[k]
	since := a.since
	if since.IsZero() {
		since = at
	}
	t := alarmText[k]
	f := reconcile.Finding{Kind: k, Subject: "cabinet/" + cabinet, Confidence: reconcile.Confirmed, Cabinet: cabinet, Agent: a.agent, At: since,
		Text:     custody.Text{ZH: fmt.Sprintf(t.ZH, cabinet, c.local(since)), EN: fmt.Sprintf(t.EN, cabinet, c.local(since))},
		Evidence: reconcile.Evidence{Fault: a.fault, Since: since, Events: slices.Clone(s.events)}}
	if k == reconcile.PowerLost {
		_, silent := s.active[reconcile.ControllerOffline]
		if s.door || silent {
			f.Urgent = true
			why := custody.Text{ZH: "；电池供电期间柜门被打开", EN: "; the door opened while on battery"}
			if silent {
				why = custody.Text{ZH: "；电池供电期间门控器失联", EN: "; the controller went silent while on battery"}
			}
			f.Text.ZH += why.ZH
			f.Text.EN += why.EN
		}
	}
	if f.Evidence.Fault != "" {
		f.Text.EN += ": " + f.Evidence.Fault
	}
	return f
}

// local is a time as people of the site read it: in the working hours' zone (the site's), and
// before those are set, Asia/Shanghai as everywhere else a zone is missing — never UTC.
func (c *Checker) local(t time.Time) string {
	loc := sitetime.Default().Location()
	if c.hours != nil && c.hours.Location != nil {
		loc = c.hours.Location
	}
	return t.In(loc).Format("01-02 15:04:05")
}
