package console

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
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
	row      int64 // the report's row, to read it whole (Store.ObservationBody)
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
	err := c.st.Digests(ctx, o.after, func(d store.Digest) error {
		o.after = max(o.after, d.Row)
		if d.Kind == "door" {
			o.door[d.Cabinet] = d.Door
		} else {
			o.inv[d.Cabinet] = invSeen{row: d.Row, at: d.At, tags: d.Tags, complete: d.Complete}
		}
		return nil
	})
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
	items, err := c.reg.Reads().CabinetItemCounts(ctx)
	if err != nil {
		return nil, err
	}
	last, door, err := c.observed(ctx)
	if err != nil {
		return nil, err
	}
	findings, counts, err := c.book.CabinetFindings(ctx)
	if err != nil {
		return nil, err
	}
	// An offline agent's finding names the agent; its cabinets are the agent's.
	offline, err := c.book.OfflineAgents(ctx)
	if err != nil {
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

type cabinetsData struct {
	Rows                                       []cabinetRow
	Complete, Findings, Missed, Offline, Never int
}

func (c *Console) cabinetsPage(w http.ResponseWriter, r *http.Request, p *page) {
	c.noteLive(r, p, "cabinets")
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
	c.noteLive(r, p, "cabinets")
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
	// The latest report, found by the digests the overview keeps rather than by searching the
	// observations for this cabinet (a cabinet never counted made that a scan of every one).
	last, _, err := c.observed(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if seen, ok := last[code]; ok {
		body, found, err := c.st.ObservationBody(r.Context(), seen.row)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		var inv wire.Inventory
		if found && json.Unmarshal(body, &inv) == nil {
			d.Inv = &inv
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "cabinet", p)
}
