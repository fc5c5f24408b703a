// Package alert turns reconciliation findings into alerts and gets them to the right people:
// it stores findings and alerts, runs their lifecycle (open → acknowledged → resolved), groups,
// inhibits, escalates and re-notifies, and hands notices to channels (package alert/notify).
//
// Contract:
//   - Book is the store-backed lifecycle. Apply records findings and derives alerts in one audited
//     transaction: one open alert per (kind, subject), where per-item findings are grouped by
//     cabinet (30 missing items of a cabinet are one alert with a count). A suspected finding is
//     kept and shown but raises no alert (a single missed read must never wake anyone); confirmed
//     findings do, and a destroyed item's tag does at once. An alert resolves itself when its last
//     finding clears — except destroyed_seen, which a person must resolve. Acknowledge and Resolve
//     are a person's steps, with a note. Every change is an audit record (store.Change).
//   - Escalator delivers: the MQTT topic custody/alerts gets every change of every alert
//     (identifiers only: ref, kind, severity, cabinet and room codes, register item ids, count,
//     time, state, console link — never a document number, title, holder or level word); people get notices through external
//     channels that carry only the opaque alert ref, severity, cabinet or room code, time and a
//     console link (DESIGN.md §5 rule 11), per the escalation policy: the custodian at once,
//     leaders at once for top-secret items, confirmed losses and destroyed tags seen, otherwise
//     after an unacknowledged delay; the secrecy office (保密办) for confirmed losses; again at
//     re-notification intervals while unacknowledged. An offline agent's alert inhibits the
//     per-item and inventory alerts of its cabinets.
//   - Nothing here reads time.Now directly: the clock is injected, so tests run hours in a moment.
package alert

import (
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
)

// Severity orders alerts.
type Severity string

const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Major    Severity = "major"
	Critical Severity = "critical"
)

var severityText = map[Severity]custody.Text{
	Info:     {ZH: "提示", EN: "info"},
	Warning:  {ZH: "警告", EN: "warning"},
	Major:    {ZH: "严重", EN: "major"},
	Critical: {ZH: "紧急", EN: "critical"},
}

// Text is the display name of the severity.
func (s Severity) Text() custody.Text { return severityText[s] }

// Rank orders severities, 1 (info) to 4 (critical).
func (s Severity) Rank() int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Major:
		return 3
	case Critical:
		return 4
	}
	return 0
}

func bump(s Severity) Severity {
	switch s {
	case Info:
		return Warning
	case Warning:
		return Major
	}
	return Critical
}

// SeverityOf is severity from kind × level: a base per kind, one step up for top-secret items;
// a confirmed loss and a destroyed item's tag are critical whatever the level.
func SeverityOf(kind reconcile.Kind, level custody.Level, confirmedLoss, ours bool) Severity {
	var s Severity
	switch kind {
	case reconcile.DestroyedSeen, reconcile.NotBound, reconcile.ReportedLost, reconcile.AuditBroken:
		return Critical
	case reconcile.AccountLocked:
		return Major
	case reconcile.Missing, reconcile.UnrecordedRemoval:
		if confirmedLoss {
			return Critical
		}
		s = Major
	case reconcile.Misplaced, reconcile.Overdue, reconcile.InventoryIncomplete:
		s = Warning
	case reconcile.SentSeen:
		s = Major // the handover to the bureau and the cabinet disagree; top-secret: critical
	case reconcile.TermExpiring:
		return Info // a reminder: a decision is due, nothing is wrong yet
	case reconcile.CheckDue:
		return Warning // a rule of the office not (yet) followed; no copy is known to be wrong
	case reconcile.TransitOverdue:
		s = Major // copies between here and another unit that nobody has signed for; top-secret: critical
	case reconcile.UnrecordedReturn:
		s = Info
	case reconcile.UnknownTag:
		s = Info
		if ours {
			s = Warning // one of our labels that no register entry explains
		}
	case reconcile.InventoryMissed, reconcile.DoorLeftOpen, reconcile.DoorAfterHours, reconcile.AgentOffline:
		s = Major
	case reconcile.Tamper, reconcile.ForcedDoor:
		return Critical // the most serious events after a missing copy, whatever the level
	case reconcile.LockFault, reconcile.ControllerOffline:
		s = Major
	case reconcile.PowerLost, reconcile.ReaderFault:
		s = Warning // critical when urgent: see Book.syncAlert
	default:
		s = Warning
	}
	if level == custody.TopSecret {
		s = bump(s)
	}
	return s
}

// Audience is who an escalation step tells.
type Audience string

const (
	Custodians    Audience = "custodian"      // 机要员
	Leaders       Audience = "leaders"        // 领导
	SecrecyOffice Audience = "secrecy_office" // 保密办
)

// Audiences lists them in escalation order.
var Audiences = []Audience{Custodians, Leaders, SecrecyOffice}

// Policy is the escalation policy. Zero fields take the defaults.
type Policy struct {
	// LeaderDelay: an alert nobody acknowledged by then goes to the leaders too.
	LeaderDelay time.Duration
	// Renotify is, per severity, how often an unacknowledged alert is sent again; 0: never.
	Renotify map[Severity]time.Duration
	// ConsoleURL is the console's base address for links in notices (…/alerts/<ref> is appended).
	ConsoleURL string
	// Tick is how often the escalator looks at the clock when nothing else wakes it.
	Tick time.Duration
}

// Defaults fills zero fields.
func (p Policy) Defaults() Policy {
	if p.LeaderDelay == 0 {
		p.LeaderDelay = 30 * time.Minute
	}
	if p.Renotify == nil {
		p.Renotify = map[Severity]time.Duration{Critical: 30 * time.Minute, Major: 2 * time.Hour, Warning: 12 * time.Hour}
	}
	if p.Tick == 0 {
		p.Tick = 10 * time.Second
	}
	return p
}

// alertable: a finding that should reach people. Suspected findings wait for the confirming round,
// except a destroyed item's tag, which is critical on any read.
func alertable(f reconcile.Finding) bool {
	return f.Confidence == reconcile.Confirmed || f.Kind == reconcile.DestroyedSeen
}

// groupOf is the alert subject a finding belongs to: per-item findings of one cabinet make one
// alert; an overdue loan groups by holder; everything else is its own subject.
func groupOf(f reconcile.Finding) string {
	switch {
	case f.Kind.PerItem() && f.Cabinet != "":
		return "cabinet/" + f.Cabinet
	case f.Kind == reconcile.Overdue && f.Holder != "":
		return "holder/" + f.Holder
	case f.Kind == reconcile.ReportedLost || f.Kind == reconcile.TransitOverdue:
		g, _, _ := strings.Cut(f.Subject, "#") // losscase/<id>#item/<id>, transit/<id>#item/<id>: one alert per case or envelope
		return g
	}
	return f.Subject
}

// inhibited kinds: an offline agent explains them for its cabinets.
func inhibitable(k reconcile.Kind) bool {
	return k.PerItem() || k == reconcile.InventoryMissed || k == reconcile.InventoryIncomplete || k == reconcile.DoorLeftOpen
}

// manualOnly kinds are never resolved by the condition clearing: a destroyed item's tag that is
// no longer read is a reason to look harder, not to stop looking; a cabinet alarm that clears
// (tamper switch closed, mains back) is exactly what an intruder leaves behind; a door opened
// after hours or left open happened whatever the door does next. A person resolves them, with
// an explanation; an agent that spoke for a place not its own (not_bound) stays an alert until a
// person has looked into it.
func manualOnly(k reconcile.Kind) bool {
	return k == reconcile.DestroyedSeen || k.Alarm() || k == reconcile.DoorAfterHours || k == reconcile.DoorLeftOpen || k == reconcile.NotBound ||
		k == reconcile.AccountLocked || k == reconcile.AuditBroken
}

// leadersAtOnce: top-secret, a confirmed loss, a destroyed item's tag, or a critical cabinet
// alarm (tamper, forced door, power lost with the door open or the controller silent), and an
// envelope overdue in transit (issue 14: it reaches the custodian and the leaders).
func leadersAtOnce(a Alert) bool {
	return a.Level == custody.TopSecret || a.ConfirmedLoss || a.Kind == reconcile.DestroyedSeen ||
		a.Kind.Alarm() && a.Severity == Critical || a.Kind == reconcile.ReportedLost || a.Kind == reconcile.SentSeen ||
		a.Kind == reconcile.TransitOverdue || a.Kind == reconcile.AuditBroken
}

// secrecyOffice: the secrecy office hears of confirmed losses (and a destroyed tag seen, which
// means a destruction record is wrong), and of an agent speaking for a place not bound to it — the
// security administrator (安全保密管理员) hears through this audience.
func secrecyOffice(a Alert) bool {
	return a.ConfirmedLoss || a.Kind == reconcile.DestroyedSeen || a.Kind == reconcile.NotBound || a.Kind == reconcile.ReportedLost ||
		a.Kind == reconcile.AccountLocked ||
		a.Kind == reconcile.TermExpiring || // the security administrator hears of terms ending
		a.Kind == reconcile.CheckDue || // and of units late with their periodic check
		a.Kind == reconcile.AuditBroken // and of a register whose history was edited
}
