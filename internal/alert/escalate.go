package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert/notify"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// Publisher publishes on the MQTT broker (the embedded one or Mosquitto); the daemon wires it.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte) error
}

// Message is an alert on the MQTT topic custody/alerts, which read-only displays and monitoring
// systems (custody-monitor) read: identifiers only (DESIGN.md §5 rule 11) — the alert's opaque
// id, kind, severity, cabinet and room codes, the register's item ids (numbers, never a document
// number), the count, the time, the state and the console link; never a document number, title,
// holder or level word. It is bounded: a grouped alert names at most MaxMessageItems items and
// says how many there are (Count); the rest is in the console.
// firmware-protocol/mqtt/alert.schema.json is its contract.
type Message struct {
	ID       string         `json:"id"`
	Kind     reconcile.Kind `json:"kind"`
	Severity Severity       `json:"severity"`
	Cabinet  string         `json:"cabinet,omitempty"`
	Room     string         `json:"room,omitempty"`
	Items    []int64        `json:"items,omitempty"` // register item ids, at most MaxMessageItems
	Count    int            `json:"count"`           // findings of the alert (items of a grouped one)
	At       time.Time      `json:"at"`
	State    State          `json:"state"`
	Link     string         `json:"link"` // the alert in the console
}

// MaxMessageItems bounds the item ids in one MQTT alert, so the message stays far below a
// broker's packet limit whatever the alert groups (docs/limits.md).
const MaxMessageItems = 100

// Escalator publishes alert changes and notifies people per the policy. One goroutine runs it.
type Escalator struct {
	book   *Book
	reg    register.Reads // which units keep a cabinet: the register's to say
	pub    Publisher
	topic  string
	routes map[Audience][]notify.Channel
	units  map[string]map[Audience][]notify.Channel // unit code → its own people, where configured
	p      Policy
	now    func() time.Time
	log    *slog.Logger
	kick   chan struct{}
}

// NewEscalator wires the escalator to the book (it wakes on every change). pub may be nil (no
// MQTT); routes maps each audience to its configured channels — an audience with none is recorded
// in the alert's history as unreachable.
func NewEscalator(book *Book, pub Publisher, topic string, routes map[Audience][]notify.Channel, p Policy, log *slog.Logger) *Escalator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if topic == "" {
		topic = "custody/alerts"
	}
	e := &Escalator{book: book, reg: book.reg, pub: pub, topic: topic, routes: routes, p: p.Defaults(), now: book.now, log: log, kick: make(chan struct{}, 1)}
	book.OnChange(e.Kick)
	return e
}

// UnitRoutes gives a unit its own channels per audience (its own custodians and leaders); an
// audience a unit does not name falls back to the default routes. Call it before Run.
func (e *Escalator) UnitRoutes(unit string, routes map[Audience][]notify.Channel) {
	if e.units == nil {
		e.units = map[string]map[Audience][]notify.Channel{}
	}
	e.units[unit] = routes
}

// channels returns who hears of the alert for an audience: the units of its cabinet (or, for an
// agent, of the cabinets it serves) where they have their own channels, else the defaults.
func (e *Escalator) channels(ctx context.Context, a Alert, aud Audience) ([]notify.Channel, error) {
	if len(e.units) == 0 {
		return e.routes[aud], nil
	}
	units, err := e.reg.PlaceUnits(ctx, a.Cabinet, a.Agent)
	if err != nil {
		return nil, fmt.Errorf("alert %s: units: %w", a.Ref, err)
	}
	var out []notify.Channel
	fallback := len(units) == 0
	for _, u := range units {
		if chans, ok := e.units[u][aud]; ok {
			out = append(out, chans...)
		} else {
			fallback = true
		}
	}
	if fallback {
		out = append(out, e.routes[aud]...)
	}
	return out, nil
}

// Kick wakes the escalator now (a change was committed).
func (e *Escalator) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: at every change and every Policy.Tick.
func (e *Escalator) Run(ctx context.Context) error {
	e.log.Info("alert escalator started", "tick", e.p.Tick)
	defer e.log.Info("alert escalator stopped")
	t := time.NewTicker(e.p.Tick)
	defer t.Stop()
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("alert escalation", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
		case <-t.C:
		}
	}
}

// Tick publishes what changed and sends the notices that are due at the book's clock.
func (e *Escalator) Tick(ctx context.Context) error {
	return errors.Join(e.publish(ctx), e.notify(ctx))
}

func (e *Escalator) publish(ctx context.Context) error {
	pending, err := e.book.unpublished(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range pending {
		if e.pub != nil && a.SuppressedBy == "" {
			msg, err := e.message(ctx, a)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			b, _ := json.Marshal(msg)
			if err := e.pub.Publish(ctx, e.topic, b); err != nil {
				errs = append(errs, fmt.Errorf("publish alert %s: %w", a.Ref, err))
				continue
			}
		}
		if err := e.book.markPublished(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("alert %s: %w", a.Ref, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Escalator) message(ctx context.Context, a Alert) (Message, error) {
	m := Message{ID: a.Ref, Kind: a.Kind, Severity: a.Severity, Cabinet: a.Cabinet, Room: a.Room, At: a.UpdatedAt, State: a.State, Count: a.Count, Link: e.link(a)}
	if a.Kind.PerItem() || a.Kind == reconcile.Overdue || a.Kind == reconcile.TransitOverdue {
		items, err := e.book.openItems(ctx, a, MaxMessageItems)
		if err != nil {
			return m, err
		}
		m.Items = items
	}
	return m, nil
}

// notify sends the notices that are due.
func (e *Escalator) notify(ctx context.Context) error {
	now := e.now()
	active, err := e.book.unsuppressed(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range active {
		told, unrouted, failed, err := e.book.told(ctx, a.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var due []Audience
		repeat := false
		for _, aud := range Audiences {
			if _, ok := told[aud]; ok {
				continue
			}
			if _, ok := unrouted[aud]; ok {
				// An audience without a channel is recorded once per alert, not at every tick
				// (it wrote three rows per open alert every 10 s and buried the alert's story);
				// a channel configured since (a restart) makes it due again.
				if chans, err := e.channels(ctx, a, aud); err != nil || len(chans) == 0 {
					continue
				}
			}
			if t, ok := failed[aud]; ok && now.Sub(t) < time.Minute {
				continue // a failing channel is retried once a minute, not at every change
			}
			switch {
			case aud == Custodians,
				aud == Leaders && (leadersAtOnce(a) || (a.State == Open && now.Sub(a.OpenedAt) >= e.p.LeaderDelay)),
				aud == SecrecyOffice && secrecyOffice(a):
				due = append(due, aud)
			}
		}
		if a.State == Open && len(told) > 0 {
			iv := e.p.Renotify[a.Severity]
			if a.NotifiedAt.IsZero() || (iv > 0 && now.Sub(a.NotifiedAt) >= iv) {
				repeat = true
				for aud := range told {
					due = append(due, aud)
				}
			}
		}
		if len(due) == 0 {
			continue
		}
		why := ""
		if repeat {
			why = "repeat"
		}
		if err := e.send(ctx, a, due, why, now); err != nil {
			errs = append(errs, err)
		}
	}
	// People who were told of an alert hear that it ended, once.
	ended, err := e.book.endedUntold(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, a := range ended {
		told, _, _, err := e.book.told(ctx, a.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var auds []Audience
		for _, aud := range Audiences {
			if _, ok := told[aud]; ok {
				auds = append(auds, aud)
			}
		}
		if err := e.send(ctx, a, auds, "resolved", now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type outcome struct {
	aud     Audience
	channel string
	err     error
}

// send tells the audiences; why is "" (first notice), "repeat" or "resolved".
func (e *Escalator) send(ctx context.Context, a Alert, due []Audience, why string, now time.Time) error {
	n := notify.Notice{Ref: a.Ref, Severity: string(a.Severity), Place: place(a), At: a.OpenedAt, State: string(a.State), Link: e.link(a), Repeat: why == "repeat"}
	var outs []outcome
	for _, aud := range due {
		chans, err := e.channels(ctx, a, aud)
		if err != nil {
			return err
		}
		if len(chans) == 0 {
			outs = append(outs, outcome{aud: aud})
			continue
		}
		for _, ch := range chans {
			err := ch.Send(ctx, n)
			if err != nil {
				e.log.Warn("alert notice not delivered", "alert", a.Ref, "audience", aud, "channel", ch.Name(), "err", err)
			}
			outs = append(outs, outcome{aud, ch.Name(), err})
		}
	}
	err := e.book.recordNotices(ctx, a, outs, why, now)
	if err != nil {
		return fmt.Errorf("alert %s: record notices: %w", a.Ref, err)
	}
	return nil
}

// place is the cabinet or room code, the only location an external notice names.
func place(a Alert) string {
	if a.Cabinet != "" {
		return a.Cabinet
	}
	return a.Room
}

func (e *Escalator) link(a Alert) string {
	// The console serves alerts at /alerts/<ref> from its root; a configured address may end in
	// a slash ("http://127.0.0.1:8080/" gave "…8080//alerts/…").
	return strings.TrimRight(e.p.ConsoleURL, "/") + "/alerts/" + a.Ref
}
