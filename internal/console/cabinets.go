package console

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/wire"
)

// Cabinet states as the overview shows them, worst first.
const (
	stOffline  = "offline"  // its agent is offline
	stMissed   = "missed"   // an inventory was due and did not come
	stFindings = "findings" // open findings
	stNever    = "never"    // no inventory yet
	stComplete = "complete" // the last inventory found everything
)

// seen is what the overview needs from the agents' observations: per cabinet, the newest
// inventory report's time, tag count and complete flag, and the last door state. The console
// keeps it in memory and reads only observations stored since its last look, so the page's cost
// does not grow with the months of reports behind it (observations are append-only, so their
// rowid only grows).
type seen struct {
	mu    sync.Mutex
	after int64
	inv   map[string]invSeen
	door  map[string]string
}

type invSeen struct {
	at       string
	tags     int
	complete bool
}

func (c *Console) observed(ctx context.Context) (map[string]invSeen, map[string]string, error) {
	o := &c.seen
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inv == nil {
		o.inv, o.door = map[string]invSeen{}, map[string]string{}
	}
	// The JSON is read in SQL so a report of hundreds of tags is never decoded here.
	err := each(ctx, c.st.DB(), `SELECT rowid, kind, coalesce(json_extract(body, '$.cabinet'), ''), at,
		CASE kind WHEN 'inventory' THEN coalesce(json_array_length(body, '$.tags'), 0) ELSE 0 END,
		CASE kind WHEN 'inventory' THEN coalesce(json_extract(body, '$.complete'), 0) ELSE 0 END,
		CASE kind WHEN 'door' THEN coalesce(json_extract(body, '$.state'), '') ELSE '' END
		FROM observations WHERE rowid > ? AND kind IN ('inventory', 'door') ORDER BY rowid`, func(s scanner) error {
		var id int64
		var kind, cabinet, at, state string
		var x invSeen
		if err := s.Scan(&id, &kind, &cabinet, &at, &x.tags, &x.complete, &state); err != nil {
			return err
		}
		o.after = max(o.after, id)
		if kind == "door" {
			o.door[cabinet] = state
		} else {
			x.at = at
			o.inv[cabinet] = x
		}
		return nil
	}, o.after)
	if err != nil {
		return nil, nil, err
	}
	return maps.Clone(o.inv), maps.Clone(o.door), nil
}

// cabinetRow is one line of the overview.
type cabinetRow struct {
	register.Cabinet
	State    string
	Items    int    // items the register has in it
	LastInv  string // time of the last inventory report
	Tags     int    // tags read in it
	Complete bool   // the last round was complete
	Door     string // open or closed, from the last door observation
	Findings int
	Kinds    []reconcile.Kind
	// Alarm is the severity of the cabinet's worst unresolved alert ("" when none), and Alarms
	// the kinds of its cabinet alarms (issue 15). Tone is how its tile stands out (issue 21):
	// "critical" (red: a critical alert — a confirmed loss, a forced door), "suspected" (amber:
	// any other alert short of information, or a finding not yet confirmed), "info" (grey), ""
	// (nothing open).
	Alarm  string
	Alarms []reconcile.Kind
	Tone   string
}

// overview computes every cabinet's state in a fixed number of grouped queries, so the page's
// cost does not grow with the number of cabinets times anything.
func (c *Console) overview(ctx context.Context, a register.Actor) ([]cabinetRow, error) {
	cabs, err := c.reg.Cabinets(ctx, a)
	if err != nil {
		return nil, err
	}
	db := c.st.DB()
	items := map[string]int{}
	if err := each(ctx, db, `SELECT c.code, count(*) FROM items i JOIN cabinets c ON c.id = i.cabinet_id WHERE i.state = 'in_cabinet' GROUP BY c.code`, func(s scanner) error {
		var code string
		var n int
		err := s.Scan(&code, &n)
		items[code] = n
		return err
	}); err != nil {
		return nil, err
	}
	last, door, err := c.observed(ctx)
	if err != nil {
		return nil, err
	}
	findings := map[string][]reconcile.Kind{}
	counts := map[string]int{}
	if err := each(ctx, db, `SELECT cabinet, kind, count(*) FROM findings WHERE cleared_at IS NULL GROUP BY cabinet, kind`, func(s scanner) error {
		var code string
		var k reconcile.Kind
		var n int
		err := s.Scan(&code, &k, &n)
		findings[code] = append(findings[code], k)
		counts[code] += n
		return err
	}); err != nil {
		return nil, err
	}
	// An offline agent's finding names the agent; its cabinets are the agent's.
	offline := map[string]bool{}
	if err := each(ctx, db, `SELECT agent FROM findings WHERE cleared_at IS NULL AND kind = 'agent_offline'`, func(s scanner) error {
		var agent string
		err := s.Scan(&agent)
		offline[agent] = true
		return err
	}); err != nil {
		return nil, err
	}
	alerts, err := c.book.Alerts(ctx, alert.Filter{Active: true})
	if err != nil {
		return nil, err
	}
	sortAlerts(alerts)
	open, err := c.book.Findings(ctx, alert.Filter{Active: true}, 0)
	if err != nil {
		return nil, err
	}
	suspected := map[string]bool{}
	for _, f := range open {
		suspected[f.Cabinet] = suspected[f.Cabinet] || f.Confidence == reconcile.Suspected
	}
	out := make([]cabinetRow, 0, len(cabs))
	for _, cb := range cabs {
		row := cabinetRow{Cabinet: cb, Items: items[cb.Code], Door: door[cb.Code], Kinds: findings[cb.Code], Findings: counts[cb.Code]}
		for _, a := range alerts { // worst first
			if a.Cabinet == cb.Code {
				if row.Alarm == "" {
					row.Alarm = string(a.Severity)
				}
				if a.Kind.Alarm() && !slices.Contains(row.Alarms, a.Kind) {
					row.Alarms = append(row.Alarms, a.Kind)
				}
			}
		}
		row.Tone = tone(alert.Severity(row.Alarm), suspected[cb.Code])
		if x, ok := last[cb.Code]; ok {
			row.LastInv, row.Tags, row.Complete = x.at, x.tags, x.complete
		}
		switch {
		case offline[cb.Agent] && cb.Agent != "" || slices.Contains(row.Kinds, reconcile.AgentOffline):
			row.State = stOffline
		case slices.Contains(row.Kinds, reconcile.InventoryMissed):
			row.State = stMissed
		case row.Findings > 0:
			row.State = stFindings
		case row.LastInv == "":
			row.State = stNever
		default:
			row.State = stComplete
		}
		out = append(out, row)
	}
	return out, nil
}

// tone is a cabinet tile's colour from its worst open alert and its unconfirmed findings.
func tone(worst alert.Severity, suspected bool) string {
	switch {
	case worst == alert.Critical:
		return "critical"
	case worst.Rank() > alert.Info.Rank() || suspected:
		return "suspected"
	case worst == alert.Info:
		return "info"
	}
	return ""
}

type scanner interface{ Scan(...any) error }

func each(ctx context.Context, db *sql.DB, q string, fn func(scanner) error, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("console query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("console query: %w", err)
		}
	}
	return rows.Err()
}

type cabinetsData struct {
	Rows                                       []cabinetRow
	Complete, Findings, Missed, Offline, Never int
}

func (c *Console) cabinetsPage(w http.ResponseWriter, r *http.Request, p *page) {
	rows, err := c.overview(r.Context(), p.Actor)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := cabinetsData{Rows: rows}
	for _, x := range rows {
		switch x.State {
		case stComplete:
			d.Complete++
		case stFindings:
			d.Findings++
		case stMissed:
			d.Missed++
		case stOffline:
			d.Offline++
		default:
			d.Never++
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "cabinets", p)
}

type cabinetData struct {
	Row      cabinetRow
	Items    []register.Item
	Findings []alert.Finding
	Inv      *wire.Inventory
	Seen     sightings // what the cabinets say of each copy, beside the register's state
}

func (c *Console) cabinetPage(w http.ResponseWriter, r *http.Request, p *page) {
	code := clip(r.PathValue("code"), 100)
	rows, err := c.overview(r.Context(), p.Actor)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	i := slices.IndexFunc(rows, func(x cabinetRow) bool { return x.Code == code })
	if i < 0 {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	d := cabinetData{Row: rows[i]}
	if d.Items, err = c.reg.Items(r.Context(), p.Actor, register.ItemFilter{Cabinet: code}); err != nil {
		c.fail(w, r, p, err)
		return
	}
	all, err := c.book.Findings(r.Context(), alert.Filter{Cabinet: code, Active: true}, 0)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Findings = all
	if d.Seen, err = c.sightings(r.Context()); err != nil {
		c.fail(w, r, p, err)
		return
	}
	var body string
	err = c.st.DB().QueryRowContext(r.Context(), `SELECT body FROM observations WHERE kind = 'inventory' AND json_extract(body, '$.cabinet') = ? ORDER BY rowid DESC LIMIT 1`, code).Scan(&body)
	if err == nil {
		var inv wire.Inventory
		if json.Unmarshal([]byte(body), &inv) == nil {
			d.Inv = &inv
		}
	} else if err != sql.ErrNoRows {
		c.fail(w, r, p, err)
		return
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "cabinet", p)
}
