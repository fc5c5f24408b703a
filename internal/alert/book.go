package alert

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// State is where an alert is in its lifecycle.
type State string

const (
	Open         State = "open"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

var stateText = map[State]custody.Text{
	Open:         {ZH: "未处理", EN: "open"},
	Acknowledged: {ZH: "已确认收到", EN: "acknowledged"},
	Resolved:     {ZH: "已解除", EN: "resolved"},
}

// Text is the display name of the state.
func (s State) Text() custody.Text { return stateText[s] }

// Alert is one alert as the console shows it (the secure network).
type Alert struct {
	ID            int64          `json:"id"`
	Ref           string         `json:"ref"`
	Kind          reconcile.Kind `json:"kind"`
	KindText      custody.Text   `json:"kind_text"`
	Subject       string         `json:"subject"`
	Severity      Severity       `json:"severity"`
	State         State          `json:"state"`
	Cabinet       string         `json:"cabinet,omitempty"`
	Room          string         `json:"room,omitempty"`
	Agent         string         `json:"agent,omitempty"`
	Level         custody.Level  `json:"level,omitempty"`
	ConfirmedLoss bool           `json:"confirmed_loss"`
	Count         int            `json:"count"`
	SuppressedBy  string         `json:"suppressed_by,omitempty"`
	OpenedAt      time.Time      `json:"opened_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	AckedBy       string         `json:"acked_by,omitempty"`
	AckedAt       time.Time      `json:"acked_at,omitzero"`
	AckNote       string         `json:"ack_note,omitempty"`
	ResolvedBy    string         `json:"resolved_by,omitempty"`
	ResolvedAt    time.Time      `json:"resolved_at,omitzero"`
	ResolveNote   string         `json:"resolve_note,omitempty"`
	NotifiedAt    time.Time      `json:"notified_at,omitzero"`
	// IncidentID is the cabinet alarm (forced door, tamper, power) this alert belongs to: the
	// copies found missing by the inventory that alarm triggered are one story with it.
	IncidentID int64 `json:"incident_id,omitempty"`
	// LossCase is the loss case (追查) a confirmed missing alert was handed to when its item was
	// reported lost: such an alert stays until a person resolves it (issue 14 point 3).
	LossCase  int64 `json:"loss_case,omitempty"`
	version   int64
	published int64
}

// Finding is a stored finding.
type Finding struct {
	ID      int64 `json:"id"`
	AlertID int64 `json:"alert_id,omitempty"`
	reconcile.Finding
	OpenedAt  time.Time `json:"opened_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ClearedAt time.Time `json:"cleared_at,omitzero"`
}

// Event is one step of an alert's history.
type Event struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"`
	Audience Audience  `json:"audience,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Errors a caller acts on.
var (
	ErrNotFound = errors.New("no such alert")
	ErrResolved = errors.New("the alert is already resolved")
	ErrNoNote   = errors.New("a note is required")
)

// System is the actor of automatic steps in the audit log.
const System = "system"

// Book keeps findings and alerts in the store.
type Book struct {
	st       *store.Store
	reg      register.Reads // cabinets' rooms and agents, loss cases: the register's to say
	log      *slog.Logger
	now      func() time.Time
	onMu     sync.Mutex // listeners may join while the book is in use (the console starts after ingest)
	onChange []func()
}

// NewBook returns a Book over st. now is the clock (nil: time.Now).
func NewBook(st *store.Store, log *slog.Logger, now func() time.Time) *Book {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Book{st: st, reg: register.NewReads(st), log: log, now: now}
}

// OnChange registers f to be called after every committed change (the escalator's wake-up, the
// console's live streams); f must not block.
func (b *Book) OnChange(f func()) {
	b.onMu.Lock()
	b.onChange = append(b.onChange, f)
	b.onMu.Unlock()
}

func (b *Book) changed() {
	b.onMu.Lock()
	fs := b.onChange
	b.onMu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Evaluation is one round of findings to record.
type Evaluation struct {
	Findings []reconcile.Finding
	// Cleared are keys whose condition ended (reconcile.Result.Cleared).
	Cleared []reconcile.Key
	// Scope, if set, clears every open finding of these kinds (within Cabinet, if set) that
	// Findings does not hold: the site checks return what holds now, not what ended.
	Scope *Scope
}

// Scope is what a site check speaks for.
type Scope struct {
	Kinds   []reconcile.Kind
	Cabinet string
}

// Apply records findings, clears ended ones and brings the alerts in line, in one transaction.
func (b *Book) Apply(ctx context.Context, ev Evaluation) error {
	now := b.now().UTC()
	ts := store.FormatTime(now)
	touched := false
	err := b.st.Change(ctx, func(tx *store.Tx) error {
		groups := map[reconcile.Key]bool{}
		raised := map[reconcile.Key]bool{}
		for _, f := range ev.Findings {
			raised[f.Key()] = true
		}
		clear := slices.Clone(ev.Cleared)
		if ev.Scope != nil {
			for _, k := range ev.Scope.Kinds {
				q := `SELECT subject FROM findings WHERE kind = ? AND cleared_at IS NULL`
				args := []any{string(k)}
				if ev.Scope.Cabinet != "" {
					q += ` AND cabinet = ?`
					args = append(args, ev.Scope.Cabinet)
				}
				subs, err := strings1(ctx, tx, q, args...)
				if err != nil {
					return err
				}
				for _, s := range subs {
					if key := (reconcile.Key{Kind: k, Subject: s}); !raised[key] {
						clear = append(clear, key)
					}
				}
			}
		}
		for _, k := range clear {
			var id int64
			var cabinet, holder string
			err := tx.QueryRowContext(ctx, `SELECT id, cabinet, holder FROM findings WHERE kind = ? AND subject = ? AND cleared_at IS NULL`, k.Kind, k.Subject).Scan(&id, &cabinet, &holder)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return fmt.Errorf("read finding %s %s: %w", k.Kind, k.Subject, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE findings SET cleared_at = ?, updated_at = ? WHERE id = ?`, ts, ts, id); err != nil {
				return fmt.Errorf("clear finding %d: %w", id, err)
			}
			if err := tx.Audit(store.Entry{Actor: System, Action: "finding.clear", Subject: fmt.Sprintf("finding/%d", id), After: map[string]string{"kind": string(k.Kind), "subject": k.Subject}}); err != nil {
				return err
			}
			groups[reconcile.Key{Kind: k.Kind, Subject: groupOf(reconcile.Finding{Kind: k.Kind, Subject: k.Subject, Cabinet: cabinet, Holder: holder})}] = true
			touched = true
		}
		for _, f := range ev.Findings {
			ch, err := b.upsertFinding(ctx, tx, f, ts)
			if err != nil {
				return err
			}
			touched = touched || ch
			groups[reconcile.Key{Kind: f.Kind, Subject: groupOf(f)}] = true
		}
		for g := range groups {
			ch, err := b.syncAlert(ctx, tx, g, ts)
			if err != nil {
				return err
			}
			touched = touched || ch
		}
		if len(groups) > 0 {
			ch, err := b.inhibit(ctx, tx, ts)
			if err != nil {
				return err
			}
			touched = touched || ch
		}
		if !touched {
			// Nothing changed; Change refuses a transaction without an audit record, and
			// an unchanged night should not grow the audit log either.
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record findings: %w", err)
	}
	b.changed()
	return nil
}

var errUnchanged = errors.New("unchanged")

// upsertFinding opens a finding or updates the open one; it reports whether anything that matters
// (a new finding, a change of confidence) changed, which is then audited.
func (b *Book) upsertFinding(ctx context.Context, tx *store.Tx, f reconcile.Finding, ts string) (bool, error) {
	ev, err := json.Marshal(f.Evidence)
	if err != nil {
		return false, fmt.Errorf("finding %s %s: evidence: %w", f.Kind, f.Subject, err)
	}
	var id int64
	var conf, oldEv string
	var urgent bool
	err = tx.QueryRowContext(ctx, `SELECT id, confidence, urgent, evidence FROM findings WHERE kind = ? AND subject = ? AND cleared_at IS NULL`, f.Kind, f.Subject).Scan(&id, &conf, &urgent, &oldEv)
	observed := store.FormatTime(f.At)
	switch {
	case err == sql.ErrNoRows:
		if err := tx.QueryRowContext(ctx, `INSERT INTO findings(kind, subject, confidence, cabinet, agent, item_id, item, level, epc, holder, ours, text_zh, text_en, evidence, opened_at, updated_at, observed_at, urgent)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			f.Kind, f.Subject, f.Confidence, f.Cabinet, f.Agent, nullID(f.ItemID), f.Item, f.Level, f.EPC, f.Holder, f.Ours, f.Text.ZH, f.Text.EN, string(ev), ts, ts, observed, f.Urgent).Scan(&id); err != nil {
			return false, fmt.Errorf("open finding %s %s: %w", f.Kind, f.Subject, err)
		}
		return true, tx.Audit(store.Entry{Actor: System, Action: "finding.open", Subject: fmt.Sprintf("finding/%d", id),
			After: map[string]any{"kind": f.Kind, "subject": f.Subject, "confidence": f.Confidence, "cabinet": f.Cabinet, "item": f.Item}})
	case err != nil:
		return false, fmt.Errorf("read finding %s %s: %w", f.Kind, f.Subject, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE findings SET confidence = ?, cabinet = ?, agent = ?, level = ?, holder = ?, text_zh = ?, text_en = ?, evidence = ?, updated_at = ?, observed_at = ?, urgent = ? WHERE id = ?`,
		f.Confidence, f.Cabinet, f.Agent, f.Level, f.Holder, f.Text.ZH, f.Text.EN, string(ev), ts, observed, f.Urgent, id); err != nil {
		return false, fmt.Errorf("update finding %d: %w", id, err)
	}
	if urgent != f.Urgent {
		return true, tx.Audit(store.Entry{Actor: System, Action: "finding.urgent", Subject: fmt.Sprintf("finding/%d", id),
			Before: map[string]bool{"urgent": urgent}, After: map[string]any{"urgent": f.Urgent, "text": f.Text.EN}})
	}
	if conf == string(f.Confidence) {
		// One more independent miss that does not yet confirm still has to be kept: the next
		// round multiplies its chance into this one (issue 22: a weakly read tag needs a third
		// miss, which must count as the third). It is audited, as the change of evidence it is.
		var was struct {
			Misses int `json:"misses"`
		}
		_ = json.Unmarshal([]byte(oldEv), &was)
		if f.Evidence.Misses == was.Misses {
			return false, nil
		}
		return true, tx.Audit(store.Entry{Actor: System, Action: "finding.miss", Subject: fmt.Sprintf("finding/%d", id),
			Before: map[string]int{"misses": was.Misses}, After: map[string]any{"misses": f.Evidence.Misses, "p_unread": f.Evidence.PUnread}})
	}
	return true, tx.Audit(store.Entry{Actor: System, Action: "finding.confidence", Subject: fmt.Sprintf("finding/%d", id),
		Before: map[string]string{"confidence": conf}, After: map[string]any{"confidence": f.Confidence, "misses": f.Evidence.Misses, "p_unread": f.Evidence.PUnread}})
}

// syncAlert makes the group's alert agree with its open alertable findings.
func (b *Book) syncAlert(ctx context.Context, tx *store.Tx, g reconcile.Key, ts string) (bool, error) {
	q := `SELECT id, confidence, cabinet, agent, level, kind, subject, holder, ours, urgent FROM findings WHERE kind = ? AND cleared_at IS NULL`
	args := []any{g.Kind}
	switch kind, val, _ := strings.Cut(g.Subject, "/"); kind {
	case "cabinet":
		q, args = q+` AND cabinet = ?`, append(args, val)
	case "holder":
		q, args = q+` AND holder = ?`, append(args, val)
	case "losscase", "transit": // one alert per loss case or envelope: <group>#item/<id>
		q, args = q+` AND subject LIKE ?`, append(args, g.Subject+"#%")
	default:
		q, args = q+` AND subject = ?`, append(args, g.Subject)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("read findings of %s: %w", g.Subject, err)
	}
	var ids []int64
	var cabinet, agent string
	var level custody.Level
	loss, ours, urgent := false, false, false
	for rows.Next() {
		var id int64
		var f reconcile.Finding
		var lv string
		if err := rows.Scan(&id, &f.Confidence, &f.Cabinet, &f.Agent, &lv, &f.Kind, &f.Subject, &f.Holder, &f.Ours, &f.Urgent); err != nil {
			rows.Close()
			return false, err
		}
		f.Level = custody.Level(lv)
		if groupOf(f) != g.Subject || !alertable(f) {
			continue
		}
		ids = append(ids, id)
		cabinet, agent = f.Cabinet, f.Agent
		if f.Level.Rank() > level.Rank() {
			level = f.Level
		}
		loss = loss || (f.Kind.Loss() && f.Confidence == reconcile.Confirmed)
		ours = ours || f.Ours
		urgent = urgent || f.Urgent
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	a, err := b.openAlert(ctx, tx, g)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	exists := err == nil
	if len(ids) == 0 {
		if !exists {
			return false, nil
		}
		if manualOnly(a.Kind) {
			if a.Count == 0 {
				return false, nil
			}
			// The live condition ended (tamper closed, mains back, door shut); the alert stays
			// until a person resolves it, and says the condition is over.
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET count = 0, updated_at = ?, version = version + 1 WHERE id = ?`, ts, a.ID); err != nil {
				return false, fmt.Errorf("alert %s: condition ended: %w", a.Ref, err)
			}
			return true, b.event(ctx, tx, a, ts, "condition_ended", "", "", System, "condition ended; a person resolves the alert", a.State)
		}
		if a.LossCase != 0 {
			return false, nil
		}
		if lc, err := b.lossCaseOf(ctx, tx, a); err != nil {
			return false, err
		} else if lc != 0 {
			// The item was reported lost: the missing alert is not answered by that — it is
			// handed to the loss case and stays until a person resolves it.
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET loss_case = ?, updated_at = ?, version = version + 1 WHERE id = ?`, lc, ts, a.ID); err != nil {
				return false, fmt.Errorf("link alert %s to loss case %d: %w", a.Ref, lc, err)
			}
			return true, b.event(ctx, tx, a, ts, "linked", "", "", System, fmt.Sprintf("loss case %d", lc), a.State)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', count = 0, resolved_by = ?, resolved_at = ?, resolve_note = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			System, ts, "condition cleared", ts, a.ID); err != nil {
			return false, fmt.Errorf("resolve alert %s: %w", a.Ref, err)
		}
		return true, b.event(ctx, tx, a, ts, "resolved", "", "", System, "condition cleared", Resolved)
	}
	room := ""
	if cabinet != "" {
		r, cabAgent, err := b.reg.CabinetPlace(ctx, cabinet)
		if err != nil {
			return false, fmt.Errorf("read cabinet %s: %w", cabinet, err)
		}
		room = r
		if agent == "" && cabAgent != "" {
			agent = cabAgent
		}
	}
	sev := SeverityOf(g.Kind, level, loss, ours)
	if urgent {
		sev = Critical
	}
	if !exists {
		ref, err := newRef()
		if err != nil {
			return false, err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO alerts(ref, kind, subject, severity, state, cabinet, room, agent, level, confirmed_loss, count, opened_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			ref, g.Kind, g.Subject, sev, Open, cabinet, room, agent, level, loss, len(ids), ts, ts).Scan(&a.ID); err != nil {
			return false, fmt.Errorf("open alert %s %s: %w", g.Kind, g.Subject, err)
		}
		a.Ref, a.Kind, a.Subject = ref, g.Kind, g.Subject
		if err := b.link(ctx, tx, a.ID, ids); err != nil {
			return false, err
		}
		if err := b.event(ctx, tx, a, ts, "opened", "", "", System, fmt.Sprintf("%s, %d", sev, len(ids)), Open); err != nil {
			return false, err
		}
		return true, b.joinIncident(ctx, tx, a, cabinet, ts)
	}
	if a.Count == len(ids) && a.Severity == sev && a.Level == level && a.ConfirmedLoss == loss {
		return false, b.link(ctx, tx, a.ID, ids)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET severity = ?, level = ?, confirmed_loss = ?, count = ?, agent = ?, room = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		sev, level, loss, len(ids), agent, room, ts, a.ID); err != nil {
		return false, fmt.Errorf("update alert %s: %w", a.Ref, err)
	}
	if err := b.link(ctx, tx, a.ID, ids); err != nil {
		return false, err
	}
	ev, detail := "updated", fmt.Sprintf("%s→%s, %d→%d", a.Severity, sev, a.Count, len(ids))
	if a.Count > 0 && len(ids) > a.Count {
		// The alert grew (a second copy gone from the same cabinet): its own step in the
		// history, with its time, not a silent change of the count.
		ev = "grew"
		if sev != a.Severity {
			detail = fmt.Sprintf("%d→%d, %s→%s", a.Count, len(ids), a.Severity, sev)
		} else {
			detail = fmt.Sprintf("%d→%d", a.Count, len(ids))
		}
	}
	if sev.Rank() > a.Severity.Rank() || (loss && !a.ConfirmedLoss) || (a.Count == 0 && manualOnly(g.Kind)) {
		// Worse than what people were told, or an alarm back after its condition ended: they
		// hear of it again, as if new.
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'open', notified_at = NULL WHERE id = ?`, a.ID); err != nil {
			return false, err
		}
		detail += ", escalated"
	}
	return true, b.event(ctx, tx, a, ts, ev, "", "", System, detail, a.State)
}

// incidentKinds are the alarms after which the cabinet is inventoried at once: what that
// inventory finds missing is part of the alarm's story.
var incidentKinds = []reconcile.Kind{reconcile.ForcedDoor, reconcile.Tamper, reconcile.PowerLost}

// joinIncident links a newly opened per-item or inventory alert of a cabinet to the cabinet's
// unresolved forced-door, tamper or power alarm, if there is one, so the leader reads one
// incident: the alarm and the copies found missing after it.
func (b *Book) joinIncident(ctx context.Context, tx *store.Tx, a Alert, cabinet, ts string) error {
	if cabinet == "" || !(a.Kind.PerItem() || a.Kind == reconcile.InventoryIncomplete) {
		return nil
	}
	heads, err := b.query(ctx, tx, `WHERE cabinet = ? AND state <> 'resolved' AND kind IN (?, ?, ?) ORDER BY id DESC LIMIT 1`,
		cabinet, incidentKinds[0], incidentKinds[1], incidentKinds[2])
	if err != nil || len(heads) == 0 {
		return err
	}
	head := heads[0]
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ? WHERE id = ?`, head.ID, a.ID); err != nil {
		return fmt.Errorf("alert %s: join incident %s: %w", a.Ref, head.Ref, err)
	}
	if err := b.event(ctx, tx, a, ts, "incident", "", "", System, "part of "+string(head.Kind)+" "+head.Ref, Open); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET updated_at = ?, version = version + 1 WHERE id = ?`, ts, head.ID); err != nil {
		return fmt.Errorf("alert %s: incident: %w", head.Ref, err)
	}
	return b.event(ctx, tx, head, ts, "incident", "", "", System, string(a.Kind)+" "+a.Ref+" found after the alarm", head.State)
}

// noteInventory adds the round that followed to the history of each unresolved forced-door,
// tamper or power alarm of the cabinet opened before the round ended and without one yet.
func (b *Book) noteInventory(ctx context.Context, cabinet string, end time.Time, detail string) (bool, error) {
	noted := false
	ts := store.FormatTime(b.now())
	err := b.st.Change(ctx, func(tx *store.Tx) error {
		heads, err := b.query(ctx, tx, `WHERE cabinet = ? AND state <> 'resolved' AND kind IN (?, ?, ?) AND opened_at <= ?
			AND NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = alerts.id AND e.event = 'inventory')`,
			cabinet, incidentKinds[0], incidentKinds[1], incidentKinds[2], store.FormatTime(end))
		if err != nil {
			return err
		}
		for _, h := range heads {
			if err := b.event(ctx, tx, h, ts, "inventory", "", "", System, detail, h.State); err != nil {
				return err
			}
			noted = true
		}
		if !noted {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cabinet %s: note the inventory after its alarm: %w", cabinet, err)
	}
	return true, nil
}

// Incident returns the alerts linked to an alarm alert (its incident), oldest first.
func (b *Book) Incident(ctx context.Context, id int64) ([]Alert, error) {
	return b.query(ctx, b.st.DB(), `WHERE incident_id = ? ORDER BY id`, id)
}

// lossCaseOf is the open loss case of an item of a confirmed loss alert that is now reported lost
// (0: none). The alert's items are its findings'; the loss cases are the register's to say.
func (b *Book) lossCaseOf(ctx context.Context, tx *store.Tx, a Alert) (int64, error) {
	if !a.Kind.Loss() || !a.ConfirmedLoss {
		return 0, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT item_id FROM findings WHERE alert_id = ? AND item_id IS NOT NULL`, a.ID)
	if err != nil {
		return 0, fmt.Errorf("alert %s: loss case: %w", a.Ref, err)
	}
	var items []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("alert %s: loss case: %w", a.Ref, err)
		}
		items = append(items, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("alert %s: loss case: %w", a.Ref, err)
	}
	lc, err := b.reg.LossCaseOf(ctx, items)
	if err != nil {
		return 0, fmt.Errorf("alert %s: %w", a.Ref, err)
	}
	return lc, nil
}

func (b *Book) link(ctx context.Context, tx *store.Tx, alertID int64, ids []int64) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET alert_id = ? WHERE id = ? AND (alert_id IS NULL OR alert_id <> ?)`, alertID, id, alertID); err != nil {
			return fmt.Errorf("link finding %d: %w", id, err)
		}
	}
	return nil
}

// inhibit marks the per-item and inventory alerts of cabinets whose agent has an open
// agent_offline alert, and releases them when it resolves.
func (b *Book) inhibit(ctx context.Context, tx *store.Tx, ts string) (bool, error) {
	offline := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT ref, subject FROM alerts WHERE kind = 'agent_offline' AND state <> 'resolved'`)
	if err != nil {
		return false, err
	}
	for rows.Next() {
		var ref, subject string
		if err := rows.Scan(&ref, &subject); err != nil {
			rows.Close()
			return false, err
		}
		offline[strings.TrimPrefix(subject, "agent/")] = ref
	}
	rows.Close()
	all, err := b.query(ctx, tx, `WHERE state <> 'resolved'`)
	if err != nil {
		return false, err
	}
	changed := false
	for _, a := range all {
		want := ""
		if inhibitable(a.Kind) && a.Agent != "" {
			want = offline[a.Agent]
		}
		if want == a.SuppressedBy {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET suppressed_by = ?, updated_at = ?, version = version + 1 WHERE id = ?`, want, ts, a.ID); err != nil {
			return false, err
		}
		ev, detail := "suppressed", "agent "+a.Agent+" offline: "+want
		if want == "" {
			ev, detail = "released", "agent "+a.Agent+" back online"
		}
		if err := b.event(ctx, tx, a, ts, ev, "", "", System, detail, a.State); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// event appends to the alert's history and the audit chain.
func (b *Book) event(ctx context.Context, tx *store.Tx, a Alert, ts, event string, aud Audience, channel, actor, detail string, st State) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_events(alert_id, at, event, audience, channel, actor, detail) VALUES (?,?,?,?,?,?,?)`, a.ID, ts, event, aud, channel, actor, detail); err != nil {
		return fmt.Errorf("alert %s history: %w", a.Ref, err)
	}
	after := map[string]any{"kind": a.Kind, "subject": a.Subject, "state": st}
	if aud != "" {
		after["audience"], after["channel"] = aud, channel
	}
	if detail != "" {
		after["detail"] = detail
	}
	return tx.Audit(store.Entry{Actor: actor, Action: "alert." + event, Subject: "alert/" + a.Ref, After: after})
}

// Acknowledge records that a person has taken the alert in hand, with a note.
func (b *Book) Acknowledge(ctx context.Context, actor string, id int64, note string) (Alert, error) {
	return b.personStep(ctx, actor, id, note, Acknowledged)
}

// Resolve closes the alert by a person's decision, with a note. If the condition persists, the next
// reconciliation raises a new alert.
func (b *Book) Resolve(ctx context.Context, actor string, id int64, note string) (Alert, error) {
	return b.personStep(ctx, actor, id, note, Resolved)
}

func (b *Book) personStep(ctx context.Context, actor string, id int64, note string, to State) (Alert, error) {
	// The note is kept in the alert's history and shown to the security administrator: the
	// register's limits for typed notes apply (docs/limits.md); a refusal is a *custody.TextError.
	note, err := custody.CleanNote("note（处理说明）", note)
	if err != nil {
		return Alert{}, err
	}
	if note == "" {
		return Alert{}, ErrNoNote
	}
	ts := store.FormatTime(b.now())
	err = b.st.Change(ctx, func(tx *store.Tx) error {
		all, err := b.query(ctx, tx, `WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			return fmt.Errorf("alert %d: %w", id, ErrNotFound)
		}
		a := all[0]
		if a.State == Resolved {
			return fmt.Errorf("alert %s: %w", a.Ref, ErrResolved)
		}
		q := `UPDATE alerts SET state = 'acknowledged', acked_by = ?, acked_at = ?, ack_note = ?, updated_at = ?, version = version + 1 WHERE id = ?`
		ev := "acknowledged"
		if to == Resolved {
			q = `UPDATE alerts SET state = 'resolved', resolved_by = ?, resolved_at = ?, resolve_note = ?, updated_at = ?, version = version + 1 WHERE id = ?`
			ev = "resolved"
		}
		if _, err := tx.ExecContext(ctx, q, actor, ts, note, ts, a.ID); err != nil {
			return fmt.Errorf("alert %s: %w", a.Ref, err)
		}
		return b.event(ctx, tx, a, ts, ev, "", "", actor, note, to)
	})
	if err != nil {
		return Alert{}, err
	}
	b.changed()
	return b.Alert(ctx, id)
}

// Filter narrows listings; zero fields match everything.
type Filter struct {
	State    State
	Kind     reconcile.Kind
	Cabinet  string
	Severity Severity
	Active   bool // not resolved (alerts) or not cleared (findings)
	Limit    int
}

// Alerts lists alerts, newest first.
func (b *Book) Alerts(ctx context.Context, f Filter) ([]Alert, error) {
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.Active {
		where = append(where, "state <> 'resolved'")
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Cabinet != "" {
		where, args = append(where, "cabinet = ?"), append(args, f.Cabinet)
	}
	if f.Severity != "" {
		where, args = append(where, "severity = ?"), append(args, f.Severity)
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return b.query(ctx, b.st.DB(), q, args...)
}

// Alert returns one alert.
func (b *Book) Alert(ctx context.Context, id int64) (Alert, error) {
	all, err := b.query(ctx, b.st.DB(), `WHERE id = ?`, id)
	if err != nil {
		return Alert{}, err
	}
	if len(all) == 0 {
		return Alert{}, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	return all[0], nil
}

// AlertByRef returns the alert with the opaque id that notices and MQTT messages carry.
func (b *Book) AlertByRef(ctx context.Context, ref string) (Alert, error) {
	all, err := b.query(ctx, b.st.DB(), `WHERE ref = ?`, ref)
	if err != nil {
		return Alert{}, err
	}
	if len(all) == 0 {
		return Alert{}, fmt.Errorf("alert %q: %w", ref, ErrNotFound)
	}
	return all[0], nil
}

// History is an alert's escalation and lifecycle history, oldest first.
func (b *Book) History(ctx context.Context, id int64) ([]Event, error) {
	rows, err := b.st.DB().QueryContext(ctx, `SELECT at, event, audience, channel, actor, detail FROM alert_events WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alert %d history: %w", id, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&at, &e.Event, &e.Audience, &e.Channel, &e.Actor, &e.Detail); err != nil {
			return nil, err
		}
		e.At, _ = store.ParseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Findings lists findings, newest first; alertID > 0 narrows to one alert's.
func (b *Book) Findings(ctx context.Context, f Filter, alertID int64) ([]Finding, error) {
	var where []string
	var args []any
	if f.Active {
		where = append(where, "cleared_at IS NULL")
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Cabinet != "" {
		where, args = append(where, "cabinet = ?"), append(args, f.Cabinet)
	}
	if alertID > 0 {
		where, args = append(where, "alert_id = ?"), append(args, alertID)
	}
	q := `SELECT id, coalesce(alert_id, 0), kind, subject, confidence, cabinet, agent, coalesce(item_id, 0), item, level, epc, holder, ours, text_zh, text_en, evidence, opened_at, updated_at, observed_at, coalesce(cleared_at, '') FROM findings`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := b.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	out := []Finding{}
	for rows.Next() {
		var f Finding
		var ev, opened, updated, observed, cleared string
		if err := rows.Scan(&f.ID, &f.AlertID, &f.Kind, &f.Subject, &f.Confidence, &f.Cabinet, &f.Agent, &f.ItemID, &f.Item, &f.Level, &f.EPC, &f.Holder, &f.Ours, &f.Text.ZH, &f.Text.EN, &ev, &opened, &updated, &observed, &cleared); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(ev), &f.Evidence); err != nil {
			return nil, fmt.Errorf("finding %d evidence: %w", f.ID, err)
		}
		f.OpenedAt, _ = store.ParseTime(opened)
		f.UpdatedAt, _ = store.ParseTime(updated)
		f.At, _ = store.ParseTime(observed)
		if cleared != "" {
			f.ClearedAt, _ = store.ParseTime(cleared)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// OpenFindings returns the open findings of a cabinet as reconcile wants them (Input.Open).
func (b *Book) OpenFindings(ctx context.Context, cabinet string) ([]reconcile.Finding, error) {
	fs, err := b.Findings(ctx, Filter{Active: true, Cabinet: cabinet}, 0)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Finding, len(fs))
	for i, f := range fs {
		out[i] = f.Finding
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

const alertCols = `id, ref, kind, subject, severity, state, cabinet, room, agent, level, confirmed_loss, count, suppressed_by, opened_at, updated_at, acked_by, coalesce(acked_at, ''), ack_note, resolved_by, coalesce(resolved_at, ''), resolve_note, coalesce(notified_at, ''), version, published, coalesce(incident_id, 0), coalesce(loss_case, 0)`

func (b *Book) query(ctx context.Context, q querier, where string, args ...any) ([]Alert, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var opened, updated, acked, resolved, notified string
		if err := rows.Scan(&a.ID, &a.Ref, &a.Kind, &a.Subject, &a.Severity, &a.State, &a.Cabinet, &a.Room, &a.Agent, &a.Level, &a.ConfirmedLoss, &a.Count, &a.SuppressedBy,
			&opened, &updated, &a.AckedBy, &acked, &a.AckNote, &a.ResolvedBy, &resolved, &a.ResolveNote, &notified, &a.version, &a.published, &a.IncidentID, &a.LossCase); err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		a.KindText = a.Kind.Text()
		a.OpenedAt, _ = store.ParseTime(opened)
		a.UpdatedAt, _ = store.ParseTime(updated)
		for _, p := range []struct {
			s string
			t *time.Time
		}{{acked, &a.AckedAt}, {resolved, &a.ResolvedAt}, {notified, &a.NotifiedAt}} {
			if p.s != "" {
				*p.t, _ = store.ParseTime(p.s)
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (b *Book) openAlert(ctx context.Context, tx *store.Tx, g reconcile.Key) (Alert, error) {
	all, err := b.query(ctx, tx, `WHERE kind = ? AND subject = ? AND state <> 'resolved'`, g.Kind, g.Subject)
	if err != nil {
		return Alert{}, err
	}
	if len(all) == 0 {
		return Alert{}, ErrNotFound
	}
	return all[0], nil
}

func strings1(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// newRef is the opaque alert id: random, so it says nothing about the item, the cabinet or the
// order of alerts to anyone outside.
func newRef() (string, error) {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L: read over the phone
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("alert id: %w", err)
	}
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = alphabet[int(v)%len(alphabet)]
	}
	return "AL-" + string(out), nil
}
