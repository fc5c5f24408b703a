package alert

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// MaxConfirms is how many confirming rounds in a row a cabinet is asked for.
const MaxConfirms = 3

// Commander sends commands to agents (custody/agents/{agent}/cmd); the daemon wires it to MQTT.
type Commander interface {
	CommandInventory(ctx context.Context, agent, cabinet string, confirm bool) error
}

// Checker is custodyd's side of reconciliation: for each inventory report it loads the cabinet's
// register snapshot, the door cycles and sightings around it and the cabinet's open findings,
// runs the pure reconcile.Reconcile, records the result in the Book, and commands a confirming
// inventory at once when the result asks for one. It also runs the site checks (overdue loans,
// doors, agents).
//
// Door cycles, sightings and agent availability are kept in memory from what ingest hands over;
// at start Restore rebuilds the door cycles, latest reports and sightings from the stored
// observations, and the brokers' retained messages bring the agents' availability back.
type Checker struct {
	st     *store.Store
	reg    register.Reads // the register's copies and cabinets: its tables are its own
	book   *Book
	cmd    Commander
	pol    reconcile.Policy
	isOurs func(string) bool
	log    *slog.Logger
	now    func() time.Time

	// reconciling serialises reconciliations: the observer reconciles reports as they come and
	// the scheduler reconciles again those whose removal grace ended (Recheck). A reconciliation
	// reads the door cycles, the open findings and the latest report and writes them back with its
	// findings, across database calls; two at once could interleave — a recheck writing an older
	// report back as the latest and dropping the pending recheck of a newer one, or pruning a door
	// cycle a reconciliation running beside it still needed (a possible cause of a removal during a
	// door cycle called missing on a new leader, seen once in CI's kill test).
	reconciling sync.Mutex

	mu        sync.Mutex
	doors     map[string][]reconcile.Door       // cabinet → door cycles since its last complete round
	sightings map[string]reconcile.Sighting     // EPC → latest firm read
	latest    map[string]reconcile.Report       // cabinet → latest report
	recheck   map[string]time.Time              // cabinet → reconcile again then
	complete  map[string]time.Time              // cabinet → end of its latest complete round
	confirms  map[string]int                    // cabinet → confirming rounds asked for in a row
	lastRound map[string]string                 // cabinet → round id last reconciled
	agents    map[string]*reconcile.AgentStatus // availability
	cabs      map[string]*cabinetState          // cabinet → its alarms and recent events (alarm.go)
	hours     *reconcile.Hours                  // working hours, for door openings; nil: unknown
	losses    Losses                            // open loss cases; nil: no reported_lost check
	terms     Terms                             // terms ending soon; nil: no term_expiring check
	transits  Transits                          // copies in transit past their expected arrival; nil: no transit_overdue check
	checks    ChecksDue                         // units whose periodic check is due; nil: no check_due check
	// history is each tag's read record in its cabinet's complete rounds (issue 22: the chance a
	// present tag went unread is that tag's, not the typical one's); histRound is the round last
	// added per cabinet, so a report reconciled again (a recheck, a restart) is not counted twice.
	// Kept in memory; Restore rebuilds it from the stored reports (RestoreHistory).
	history   map[string]reconcile.TagHistory
	histRound map[string]string
}

// Losses lists the copies of open loss cases (the register's 追查); the daemon adapts
// register.OpenLosses to it.
type Losses func(ctx context.Context) ([]reconcile.Loss, error)

// Terms lists the classified documents whose secrecy term ends within the reminder days, with
// today's date in the site's zone; the daemon adapts register.TermsDue to it.
type Terms func(ctx context.Context) (terms []reconcile.Term, today string, within int, err error)

// SetTerms makes the site check remind of secrecy terms ending (term_expiring). Call it before
// the checker runs.
func (c *Checker) SetTerms(f Terms) { c.terms = f }

// SetLosses makes the site check keep reported_lost alerts in line with the open loss cases.
// Call it before the checker runs.
func (c *Checker) SetLosses(f Losses) { c.losses = f }

// Transits returns the copies dispatched by courier that are past their expected arrival with no
// receipt recorded.
type Transits func(ctx context.Context) ([]reconcile.Transit, error)

// ChecksDue lists the units whose periodic check (清查) is due; the daemon adapts
// register.ChecksDue to it.
type ChecksDue func(ctx context.Context) ([]reconcile.UnitCheck, error)

// SetChecks makes the site check remind of periodic checks due (check_due), cleared when the
// unit opens one. Call it before the checker runs.
func (c *Checker) SetChecks(f ChecksDue) { c.checks = f }

// SetTransits makes the site check raise transit_overdue, and clear it when the receipt is
// recorded. Call it before the checker runs.
func (c *Checker) SetTransits(f Transits) { c.transits = f }

// ApplyTransits brings the transit_overdue alerts in line with the given overdue copies at once;
// the API calls it after a receipt or a return so the alert resolves without waiting for the tick.
func (b *Book) ApplyTransits(ctx context.Context, ts []reconcile.Transit) error {
	return b.Apply(ctx, Evaluation{Findings: reconcile.OverdueTransits(ts, b.now()), Scope: &Scope{Kinds: []reconcile.Kind{reconcile.TransitOverdue}}})
}

// ApplyLosses raises (and clears) reported_lost alerts for the given open losses at once; the API
// calls it right after a 报失 so the alarm does not wait for the next site check.
func (b *Book) ApplyLosses(ctx context.Context, losses []reconcile.Loss) error {
	return b.Apply(ctx, Evaluation{Findings: reconcile.ReportedLosses(losses), Scope: &Scope{Kinds: []reconcile.Kind{reconcile.ReportedLost}}})
}

// NewChecker returns a Checker. cmd may be nil (no confirming rounds: findings stay suspected);
// companyPrefix tells our EPCs from foreign ones (empty: none are ours).
func NewChecker(st *store.Store, book *Book, cmd Commander, pol reconcile.Policy, companyPrefix string, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{st: st, reg: book.reg, book: book, cmd: cmd, pol: pol, isOurs: OursFunc(companyPrefix), log: log, now: book.now,
		doors: map[string][]reconcile.Door{}, sightings: map[string]reconcile.Sighting{}, latest: map[string]reconcile.Report{},
		recheck: map[string]time.Time{}, complete: map[string]time.Time{}, confirms: map[string]int{}, lastRound: map[string]string{}, agents: map[string]*reconcile.AgentStatus{}, cabs: map[string]*cabinetState{},
		history: map[string]reconcile.TagHistory{}, histRound: map[string]string{}}
}

// OursFunc tells whether a hex EPC carries our GS1 company prefix.
func OursFunc(companyPrefix string) func(string) bool {
	return func(h string) bool {
		if companyPrefix == "" {
			return false
		}
		e, err := epc.DecodeHex(h)
		return err == nil && epc.IsOurs(e, companyPrefix)
	}
}

// FromWire turns an inventory observation into a report. The agent sends one entry per tag and
// antenna; they are merged per EPC. The wire has no per-pass counts, so a tag's passes are taken
// as min(reads, rounds) — an upper bound, which errs towards "read well" for that tag, while the
// round's read-rate fit uses the same bound for every tag.
func FromWire(agent string, inv wire.Inventory) (reconcile.Report, error) {
	r := reconcile.Report{Agent: agent, Cabinet: inv.Cabinet, Round: inv.Round, Passes: inv.Rounds, Complete: inv.Complete != nil && *inv.Complete}
	var err error
	if r.Start, err = time.Parse(time.RFC3339Nano, inv.Started); err != nil {
		return r, fmt.Errorf("inventory %s: started_at: %w", inv.Round, err)
	}
	if r.End, err = time.Parse(time.RFC3339Nano, inv.Ended); err != nil {
		return r, fmt.Errorf("inventory %s: ended_at: %w", inv.Round, err)
	}
	for _, a := range inv.Antennas {
		r.Antennas = append(r.Antennas, reconcile.Antenna{Port: a.Antenna, OK: a.OK != nil && *a.OK, Fault: a.Error})
	}
	idx := map[string]int{}
	for _, t := range inv.Tags {
		e := strings.ToUpper(t.EPC)
		first, _ := time.Parse(time.RFC3339Nano, t.FirstSeen)
		last, _ := time.Parse(time.RFC3339Nano, t.LastSeen)
		i, ok := idx[e]
		if !ok {
			idx[e] = len(r.Tags)
			r.Tags = append(r.Tags, reconcile.Tag{EPC: e, Antennas: []int{t.Antenna}, RSSI: t.RSSI, Reads: t.Reads, Passes: t.Passes, First: first, Last: last})
			continue
		}
		tg := &r.Tags[i]
		if !slices.Contains(tg.Antennas, t.Antenna) {
			tg.Antennas = append(tg.Antennas, t.Antenna)
		}
		tg.Reads += t.Reads
		tg.Passes = max(tg.Passes, t.Passes) // entries of one tag: at least the best one's passes
		tg.RSSI = max(tg.RSSI, t.RSSI)
		if !first.IsZero() && (tg.First.IsZero() || first.Before(tg.First)) {
			tg.First = first
		}
		if last.After(tg.Last) {
			tg.Last = last
		}
	}
	return r, nil
}

// Door records a door opening or closing of a cabinet.
func (c *Checker) Door(cabinet, state, badge string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := c.doors[cabinet]
	switch state {
	case "open":
		c.doors[cabinet] = append(ds, reconcile.Door{Cabinet: cabinet, Open: at, By: badge})
	case "closed":
		if n := len(ds); n > 0 && ds[n-1].Close.IsZero() {
			ds[n-1].Close = at
		} else {
			c.doors[cabinet] = append(ds, reconcile.Door{Cabinet: cabinet, Open: at, Close: at, By: badge})
		}
	}
}

// Availability records an agent's retained availability message.
func (c *Checker) Availability(agent string, online bool, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[agent]
	if a == nil {
		a = &reconcile.AgentStatus{Agent: agent}
		c.agents[agent] = a
	}
	if a.Online != online || a.Since.IsZero() {
		a.Online, a.Since = online, at
	}
}

// Offline returns the agents known to be offline now.
func (c *Checker) Offline() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for id, a := range c.agents {
		if !a.Online {
			out[id] = true
		}
	}
	return out
}

// Report reconciles one inventory report and records the findings.
func (c *Checker) Report(ctx context.Context, r reconcile.Report) (reconcile.Result, error) {
	c.reconciling.Lock()
	defer c.reconciling.Unlock()
	return c.report(ctx, r)
}

// report is Report with c.reconciling held.
func (c *Checker) report(ctx context.Context, r reconcile.Report) (reconcile.Result, error) {
	c.mu.Lock()
	doors := slices.Clone(c.doors[r.Cabinet])
	elsewhere := map[string]reconcile.Sighting{}
	c.mu.Unlock()

	items, err := c.snapshot(ctx, r)
	if err != nil {
		return reconcile.Result{}, err
	}
	c.mu.Lock()
	for _, t := range r.Tags {
		if s, ok := c.sightings[strings.ToUpper(t.EPC)]; ok && s.Cabinet != r.Cabinet {
			elsewhere[strings.ToUpper(t.EPC)] = s
		}
	}
	history := make(map[string]reconcile.TagHistory, len(items))
	for _, it := range items {
		if s, ok := c.sightings[strings.ToUpper(it.EPC)]; ok && s.Cabinet != r.Cabinet {
			elsewhere[strings.ToUpper(it.EPC)] = s
		}
		if h, ok := c.history[strings.ToUpper(it.EPC)]; ok {
			history[strings.ToUpper(it.EPC)] = h
		}
	}
	c.mu.Unlock()
	open, err := c.book.OpenFindings(ctx, r.Cabinet)
	if err != nil {
		return reconcile.Result{}, err
	}
	res := reconcile.Reconcile(reconcile.Input{Now: c.now(), Policy: c.pol, Report: r, Items: items, Doors: doors, Elsewhere: elsewhere, Open: open, History: history, IsOurs: c.isOurs})
	held := c.holdIncomplete(r, &res)
	complete := !held && !slices.ContainsFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.InventoryIncomplete })
	c.mu.Lock()
	for i := range res.Findings {
		f := &res.Findings[i]
		if s, ok := c.sightings[strings.ToUpper(f.EPC)]; ok && f.EPC != "" && f.Evidence.LastSeen.IsZero() {
			f.Evidence.LastSeen = s.At // the last round, anywhere, that read it
		}
	}
	c.mu.Unlock()
	if err := c.lastEvents(ctx, res.Findings); err != nil {
		return res, err
	}
	if err := c.book.Apply(ctx, Evaluation{Findings: res.Findings, Cleared: res.Cleared}); err != nil {
		return res, err
	}
	if err := c.alarmFollowUp(ctx, r, res, complete); err != nil {
		return res, err
	}
	if err := c.readerHealth(ctx, r); err != nil {
		return res, err
	}

	c.mu.Lock()
	c.latest[r.Cabinet] = r
	if !res.RecheckAt.IsZero() {
		c.recheck[r.Cabinet] = res.RecheckAt
	} else {
		delete(c.recheck, r.Cabinet)
	}
	if complete && r.End.After(c.complete[r.Cabinet]) {
		c.complete[r.Cabinet] = r.End
	}
	c.noteSightings(r)
	if complete && c.histRound[r.Cabinet] != r.Round {
		reconcile.AddHistory(c.history, r, items)
		c.histRound[r.Cabinet] = r.Round
	}
	if complete && res.RecheckAt.IsZero() {
		// The door cycles are accounted for by this round; keep only one still open.
		var keep []reconcile.Door
		for _, d := range c.doors[r.Cabinet] {
			if d.Close.IsZero() || d.Close.After(r.End) {
				keep = append(keep, d)
			}
		}
		c.doors[r.Cabinet] = keep
	}
	// A cabinet that keeps asking (an antenna that stays broken, a door left open) gets at most
	// MaxConfirms confirming rounds in a row: its inventory_incomplete alert then needs a person,
	// and the agent is not kept reading forever.
	ask := res.Confirm
	if !res.Confirm || r.Round != c.lastRound[r.Cabinet] {
		if res.Confirm {
			c.confirms[r.Cabinet]++
		} else {
			c.confirms[r.Cabinet] = 0
		}
	}
	c.lastRound[r.Cabinet] = r.Round
	if ask && c.confirms[r.Cabinet] > MaxConfirms {
		ask = false
		c.log.Warn("no more confirming rounds: the cabinet needs a person", "cabinet", r.Cabinet, "in_a_row", c.confirms[r.Cabinet]-1)
	}
	c.mu.Unlock()

	if ask && c.cmd != nil {
		if err := c.cmd.CommandInventory(ctx, r.Agent, r.Cabinet, true); err != nil {
			return res, fmt.Errorf("cabinet %s: command a confirming inventory: %w", r.Cabinet, err)
		}
	}
	return res, nil
}

// holdIncomplete keeps an incomplete round from waking anyone before its confirming rounds have
// had their chance (issue 15, point 6). While the cabinet's door is open (or its controller
// silent), a round cut short by it says nothing: no finding, and no confirming round is ordered
// into an open door — the agent rounds again after the close. Otherwise the round's
// inventory_incomplete stays suspected (no alert) until MaxConfirms confirming rounds in a row
// were incomplete too: an alert that a round seconds later resolves helps no one.
// It reports whether it dropped the finding (the round is still incomplete).
func (c *Checker) holdIncomplete(r reconcile.Report, res *reconcile.Result) bool {
	i := slices.IndexFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.InventoryIncomplete })
	if i < 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	open := false
	if ds := c.doors[r.Cabinet]; len(ds) > 0 && ds[len(ds)-1].Close.IsZero() {
		open = true
	}
	if s := c.cabs[r.Cabinet]; s != nil {
		_, silent := s.active[reconcile.ControllerOffline]
		open = open || silent
	}
	f := &res.Findings[i]
	if open && (f.Evidence.Reason == "door_opened_mid_round" || f.Evidence.Reason == "interrupted") {
		res.Findings = slices.Delete(res.Findings, i, i+1)
		res.Confirm = slices.ContainsFunc(res.Findings, func(f reconcile.Finding) bool { return f.Confidence == reconcile.Suspected })
		return true
	}
	if c.confirms[r.Cabinet] < MaxConfirms {
		f.Confidence = reconcile.Suspected
	}
	return false
}

// LastComplete is the end of the cabinet's latest complete round since custodyd started (zero:
// none).
func (c *Checker) LastComplete(cabinet string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.complete[cabinet]
}

// Recheck reconciles again the cabinets whose removal grace time has ended: each one's latest
// report as it stands once no other reconciliation runs.
func (c *Checker) Recheck(ctx context.Context) error {
	c.reconciling.Lock()
	defer c.reconciling.Unlock()
	now := c.now()
	c.mu.Lock()
	var due []reconcile.Report
	for cab, t := range c.recheck {
		if !now.Before(t) {
			due = append(due, c.latest[cab])
		}
	}
	c.mu.Unlock()
	for _, r := range due {
		if _, err := c.report(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// NextRecheck is the earliest pending recheck time (zero: none).
func (c *Checker) NextRecheck() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Time
	for _, v := range c.recheck {
		if t.IsZero() || v.Before(t) {
			t = v
		}
	}
	return t
}

// Site runs the checks that are not about one round: overdue loans, doors left open or opened
// after hours, agents offline.
func (c *Checker) Site(ctx context.Context, hours reconcile.Hours, doorLimit, offlineGrace time.Duration) error {
	now := c.now()
	loans, err := c.loans(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.hours == nil {
		c.hours = &hours
	}
	var doors []reconcile.Door
	for _, ds := range c.doors {
		doors = append(doors, ds...)
	}
	var agents []reconcile.AgentStatus
	for _, a := range c.agents {
		agents = append(agents, *a)
	}
	c.mu.Unlock()
	cabs, err := c.agentCabinets(ctx)
	if err != nil {
		return err
	}
	for i := range agents {
		agents[i].Cabinets = cabs[agents[i].Agent]
		if hours.Location != nil {
			agents[i].Since = agents[i].Since.In(hours.Location) // the finding's text names it in the site's zone
		}
	}
	var fs []reconcile.Finding
	fs = append(fs, reconcile.OverdueLoans(loans, now)...)
	// door_after_hours is judged from each opening as it arrives (DoorEvent), never from the
	// door cycles still held here, which a reconciled round may already have discarded.
	for _, f := range reconcile.Doors(doors, hours, doorLimit, now) {
		if f.Kind != reconcile.DoorAfterHours {
			fs = append(fs, f)
		}
	}
	fs = append(fs, reconcile.Offline(agents, offlineGrace, now)...)
	kinds := []reconcile.Kind{reconcile.Overdue, reconcile.DoorLeftOpen, reconcile.AgentOffline}
	if c.losses != nil {
		ls, err := c.losses(ctx)
		if err != nil {
			return fmt.Errorf("open losses: %w", err)
		}
		fs = append(fs, reconcile.ReportedLosses(ls)...)
		kinds = append(kinds, reconcile.ReportedLost)
	}
	if c.transits != nil {
		ts, err := c.transits(ctx)
		if err != nil {
			return fmt.Errorf("overdue transits: %w", err)
		}
		fs = append(fs, reconcile.OverdueTransits(ts, now)...)
		kinds = append(kinds, reconcile.TransitOverdue)
	}
	if c.checks != nil {
		due, err := c.checks(ctx)
		if err != nil {
			return fmt.Errorf("periodic checks due: %w", err)
		}
		fs = append(fs, reconcile.ChecksDue(due, now)...)
		kinds = append(kinds, reconcile.CheckDue)
	}
	if c.terms != nil {
		ts, today, within, err := c.terms(ctx)
		if err != nil {
			return fmt.Errorf("secrecy terms: %w", err)
		}
		fs = append(fs, reconcile.TermsExpiring(ts, today, within, now)...)
		kinds = append(kinds, reconcile.TermExpiring)
	}
	return c.book.Apply(ctx, Evaluation{Findings: fs, Scope: &Scope{Kinds: kinds}})
}

// snapshot loads the items registered in the cabinet and the items whose tags the round read.
func (c *Checker) snapshot(ctx context.Context, r reconcile.Report) ([]reconcile.Item, error) {
	epcs := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		epcs[i] = t.EPC
	}
	cs, err := c.reg.CabinetSnapshot(ctx, r.Cabinet, epcs)
	return items(cs), err
}

func (c *Checker) loans(ctx context.Context) ([]reconcile.Item, error) {
	cs, err := c.reg.Loans(ctx)
	return items(cs), err
}

// items turns the register's copies into reconciliation's items.
func items(cs []register.Copy) []reconcile.Item {
	if cs == nil {
		return nil
	}
	out := make([]reconcile.Item, len(cs))
	for i, x := range cs {
		out[i] = reconcile.Item{ID: x.ID, Number: x.Number, Level: x.Level, EPC: x.EPC, State: x.State, Cabinet: x.Cabinet, Holder: x.Holder, Due: x.Due, Purpose: x.Purpose}
	}
	return out
}

func (c *Checker) agentCabinets(ctx context.Context) (map[string][]string, error) {
	return c.reg.CabinetsByAgent(ctx)
}

// lastEvents fills the last custody event of each item finding (the register reads it).
func (c *Checker) lastEvents(ctx context.Context, fs []reconcile.Finding) error {
	for i := range fs {
		f := &fs[i]
		if f.ItemID == 0 || f.Evidence.LastEvent != nil {
			continue
		}
		ev, found, err := c.reg.LastCustodyEvent(ctx, f.ItemID)
		if err != nil {
			return fmt.Errorf("item %d last event: %w", f.ItemID, err)
		}
		if found {
			f.Evidence.LastEvent = &reconcile.Event{Action: ev.Action, At: ev.At, Actor: ev.Actor}
		}
	}
	return nil
}
