// Package schedule runs the nightly inventory and the periodic site checks of custodyd.
//
// Contract: at each fire time of a cron schedule (default "0 2 * * *", time zone Asia/Shanghai)
// the scheduler commands an inventory of every cabinet that has an agent, through
// alert.Commander. At the deadline (default one hour later) every cabinet without a complete
// round since the start becomes an inventory_missed finding (cleared again when its report
// arrives), and a morning summary per unit is stored and published on the internal MQTT topic.
// Between runs it makes the checker look at overdue loans, doors, agents and pending
// unrecorded-removal rechecks every minute. All time comes from an injected Clock, so the tests
// run a night in milliseconds; every goroutine ends with Run's context.
package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // Asia/Shanghai on hosts without zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/store"
)

// Clock is the scheduler's time: Now, and a channel that fires once the time reaches t.
type Clock interface {
	Now() time.Time
	Until(t time.Time) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

// Until fires at t. The timer is left to the garbage collector when nobody waits any more
// (Go 1.23+ collects unreferenced timers).
func (RealClock) Until(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Config is the schedule. Zero fields take the defaults.
type Config struct {
	Spec          string         // cron expression, five fields; default "0 2 * * *"
	TimeZone      string         // default Asia/Shanghai
	Deadline      time.Duration  // after the start; default 1 h
	SiteEvery     time.Duration  // site checks; default a quarter of the shorter of DoorOpenLimit and OfflineGrace, 1 s to 1 min
	WorkFrom      time.Duration  // working hours, since local midnight; default 08:30
	WorkTo        time.Duration  // default 18:00
	WorkDays      []time.Weekday // default Monday to Friday
	Holidays      []string       // YYYY-MM-DD days off although their weekday works
	Workdays      []string       // YYYY-MM-DD days worked although their weekday does not
	DoorOpenLimit time.Duration  // default 60 s (Terso's door-ajar alarm)
	OfflineGrace  time.Duration  // default 2 min
	SummaryTopic  string         // default custody/summary
}

// Scheduler is the nightly inventory and the site checks.
type Scheduler struct {
	st    *store.Store
	chk   *alert.Checker
	book  *alert.Book
	cmd   alert.Commander
	pub   alert.Publisher
	clk   Clock
	log   *slog.Logger
	cfg   Config
	sched cron.Schedule
	loc   *time.Location
}

// New validates the configuration (no I/O).
func New(st *store.Store, chk *alert.Checker, book *alert.Book, cmd alert.Commander, pub alert.Publisher, cfg Config, clk Clock, log *slog.Logger) (*Scheduler, error) {
	if cfg.Spec == "" {
		cfg.Spec = "0 2 * * *"
	}
	if cfg.TimeZone == "" {
		cfg.TimeZone = "Asia/Shanghai"
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = time.Hour
	}
	if cfg.WorkFrom == 0 && cfg.WorkTo == 0 {
		cfg.WorkFrom, cfg.WorkTo = 8*time.Hour+30*time.Minute, 18*time.Hour
	}
	if cfg.DoorOpenLimit == 0 {
		cfg.DoorOpenLimit = time.Minute
	}
	if cfg.OfflineGrace == 0 {
		cfg.OfflineGrace = 2 * time.Minute
	}
	if cfg.SiteEvery == 0 {
		// A door left open or an agent gone quiet is news a quarter of its limit after it is due,
		// not up to a whole check interval later.
		cfg.SiteEvery = min(max(min(cfg.DoorOpenLimit, cfg.OfflineGrace)/4, time.Second), time.Minute)
	}
	if cfg.SummaryTopic == "" {
		cfg.SummaryTopic = "custody/summary"
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("inventory.time_zone %q: %w", cfg.TimeZone, err)
	}
	sched, err := cron.ParseStandard(cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("inventory.schedule %q: %w", cfg.Spec, err)
	}
	if cfg.Deadline < 0 {
		return nil, fmt.Errorf("inventory.deadline %s: must be positive", cfg.Deadline)
	}
	if clk == nil {
		clk = RealClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Door openings are judged as they arrive, against the same working hours.
	if chk != nil {
		chk.SetHours(reconcile.Hours{Location: loc, Start: cfg.WorkFrom, End: cfg.WorkTo, Days: cfg.WorkDays, Holidays: cfg.Holidays, Workdays: cfg.Workdays})
	}
	return &Scheduler{st: st, chk: chk, book: book, cmd: cmd, pub: pub, clk: clk, log: log, cfg: cfg, sched: sched, loc: loc}, nil
}

// Next is the first fire time after t.
func (s *Scheduler) Next(t time.Time) time.Time { return s.sched.Next(t.In(s.loc)) }

// Run fires the schedule, closes runs at their deadlines, runs the site checks and rechecks a
// removal when its grace ends, until ctx ends.
//
// Run takes over from a scheduler that stopped (a restart, or another custodyd instance that
// lost the lease): the nights it started and did not close are closed at their deadlines here,
// and a fire time within the last deadline that has no run is started now — at most once, the
// store refusing a second run of one fire time (ErrStarted).
func (s *Scheduler) Run(ctx context.Context) error {
	now := s.clk.Now()
	next := s.Next(now.Add(-s.cfg.Deadline))
	nextSite := now
	open, err := s.unclosed(ctx)
	if err != nil {
		return err
	}
	s.log.Info("inventory scheduler started", "schedule", s.cfg.Spec, "time_zone", s.cfg.TimeZone, "next", next, "open", len(open))
	defer s.log.Info("inventory scheduler stopped")
	for {
		wake := next
		if nextSite.Before(wake) {
			wake = nextSite
		}
		for _, n := range open {
			if n.Deadline.Before(wake) {
				wake = n.Deadline
			}
		}
		// A removal whose grace ends is rechecked then, not at the next site check. One that
		// is already due (its recheck failed) waits for the site check, so a failing recheck
		// cannot spin this loop.
		if t := s.chk.NextRecheck(); t.After(now) && t.Before(wake) {
			wake = t
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.clk.Until(wake):
		}
		now = s.clk.Now()
		if !now.Before(next) {
			n, err := s.Start(ctx, next)
			switch {
			case errors.Is(err, ErrStarted):
				s.log.Info("nightly inventory already started", "at", next)
			case err != nil:
				s.logError(ctx, "nightly inventory", "at", next, "err", err)
			default:
				open = append(open, n)
			}
			next = s.Next(now)
		}
		var still []*Night
		for _, n := range open {
			if now.Before(n.Deadline) {
				still = append(still, n)
				continue
			}
			if _, err := s.Close(ctx, n); err != nil {
				s.logError(ctx, "nightly inventory deadline", "at", n.Start, "err", err)
			}
		}
		open = still
		if !now.Before(nextSite) {
			s.site(ctx)
			nextSite = now.Add(s.cfg.SiteEvery)
		} else if t := s.chk.NextRecheck(); !t.IsZero() && !now.Before(t) {
			if err := s.chk.Recheck(ctx); err != nil {
				s.logError(ctx, "removal recheck", "err", err)
			}
		}
	}
}

func (s *Scheduler) site(ctx context.Context) {
	hours := reconcile.Hours{Location: s.loc, Start: s.cfg.WorkFrom, End: s.cfg.WorkTo, Days: s.cfg.WorkDays, Holidays: s.cfg.Holidays, Workdays: s.cfg.Workdays}
	if err := s.chk.Site(ctx, hours, s.cfg.DoorOpenLimit, s.cfg.OfflineGrace); err != nil {
		s.logError(ctx, "site checks", "err", err)
	}
	if err := s.chk.Recheck(ctx); err != nil {
		s.logError(ctx, "removal recheck", "err", err)
	}
}

// logError logs a failed step, unless custodyd is stopping: a step its context cut short is not
// an error to report (an operator's Ctrl-C printed "site checks … context canceled").
func (s *Scheduler) logError(ctx context.Context, msg string, args ...any) {
	if ctx.Err() != nil {
		return
	}
	s.log.Error(msg, args...)
}

// Night is one nightly inventory.
type Night struct {
	ID        int64          `json:"id"`
	Start     time.Time      `json:"start"`
	Deadline  time.Time      `json:"deadline"`
	Commanded []Command      `json:"commanded"`
	Summary   []UnitSummary  `json:"summary,omitempty"`
	cabinets  []cabinetEntry `json:"-"`
}

// Command is one inventory command of the night and how sending it went.
type Command struct {
	Cabinet string `json:"cabinet"`
	Agent   string `json:"agent"`
	Error   string `json:"error,omitempty"`
}

type cabinetEntry struct{ code, agent, unit string }

// Start commands an inventory of every cabinet with an agent, and records the run.
func (s *Scheduler) Start(ctx context.Context, at time.Time) (*Night, error) {
	// A run its predecessor started is not commanded again (the agents would run it twice).
	var started int
	if err := s.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM inventory_runs WHERE scheduled = ?`, store.FormatTime(at)).Scan(&started); err != nil {
		return nil, fmt.Errorf("inventory run at %s: %w", at, err)
	}
	if started > 0 {
		return nil, fmt.Errorf("inventory run at %s: %w", at, ErrStarted)
	}
	cabs, err := s.cabinets(ctx)
	if err != nil {
		return nil, err
	}
	n := &Night{Start: at, Deadline: at.Add(s.cfg.Deadline), cabinets: cabs}
	for _, c := range cabs {
		cmd := Command{Cabinet: c.code, Agent: c.agent}
		if err := s.cmd.CommandInventory(ctx, c.agent, c.code, false); err != nil {
			// An agent that cannot be told shows up as inventory_missed at the deadline.
			cmd.Error = err.Error()
			s.log.Warn("inventory command not sent", "agent", c.agent, "cabinet", c.code, "err", err)
		}
		n.Commanded = append(n.Commanded, cmd)
	}
	cj, _ := json.Marshal(n.Commanded)
	err = s.st.Change(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO inventory_runs(scheduled, deadline, commanded) VALUES (?, ?, ?) RETURNING id`, store.FormatTime(at), store.FormatTime(n.Deadline), string(cj)).Scan(&n.ID); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: alert.System, Action: "inventory.nightly", Subject: fmt.Sprintf("inventory_run/%d", n.ID), After: map[string]any{"start": at, "deadline": n.Deadline, "cabinets": len(cabs)}})
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("inventory run at %s: %w", at, ErrStarted)
	}
	if err != nil {
		return nil, fmt.Errorf("record inventory run: %w", err)
	}
	s.log.Info("nightly inventory commanded", "at", at, "cabinets", len(cabs))
	return n, nil
}

// UnitSummary is the morning summary of one unit (secure network only: counts and cabinet codes).
type UnitSummary struct {
	Unit       string         `json:"unit"`
	Cabinets   int            `json:"cabinets"`
	Reported   int            `json:"reported"`
	Missed     []string       `json:"missed,omitempty"`
	Findings   map[string]int `json:"findings"` // open findings by kind
	OpenAlerts int            `json:"open_alerts"`
	// Alarms are the cabinet alarms (tamper, power, lock, forced door, controller, reader) of
	// the 24 hours before the summary, newest first, whatever their state now (issue 15).
	Alarms []NightAlarm `json:"alarms,omitempty"`
}

// NightAlarm is one cabinet alarm in the morning summary: identifiers only.
type NightAlarm struct {
	ID       string    `json:"id"` // the opaque alert ref
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	Cabinet  string    `json:"cabinet"`
	At       time.Time `json:"at"`
	State    string    `json:"state"`
}

// maxSummaryAlarms bounds the alarms one unit lists in the summary.
const maxSummaryAlarms = 100

// MaxSummaryMissed bounds the missed cabinets one unit names in the published summary; MissedCount
// says how many there were (docs/limits.md). The console shows them all.
const MaxSummaryMissed = 100

// unitMessage is one unit in the summary published on MQTT (firmware-protocol/mqtt/
// summary.schema.json): codes and counts only.
type unitMessage struct {
	Unit        string         `json:"unit"`
	Cabinets    int            `json:"cabinets"`
	Reported    int            `json:"reported"`
	Missed      []string       `json:"missed,omitempty"`
	MissedCount int            `json:"missed_count"`
	Findings    map[string]int `json:"findings"`
	OpenAlerts  int            `json:"open_alerts"`
	Alarms      []NightAlarm   `json:"alarms,omitempty"`
}

func summaryMessage(n *Night, sum []UnitSummary) any {
	units := make([]unitMessage, 0, len(sum))
	for _, u := range sum {
		m := unitMessage{Unit: u.Unit, Cabinets: u.Cabinets, Reported: u.Reported, Missed: u.Missed, MissedCount: len(u.Missed), Findings: u.Findings, OpenAlerts: u.OpenAlerts, Alarms: u.Alarms}
		if len(m.Alarms) > maxSummaryAlarms {
			m.Alarms = m.Alarms[:maxSummaryAlarms]
		}
		if len(m.Missed) > MaxSummaryMissed {
			m.Missed = m.Missed[:MaxSummaryMissed]
		}
		if m.Findings == nil {
			m.Findings = map[string]int{}
		}
		units = append(units, m)
	}
	return map[string]any{"start": n.Start, "deadline": n.Deadline, "units": units}
}

// Close turns silent cabinets into inventory_missed and writes the morning summary.
func (s *Scheduler) Close(ctx context.Context, n *Night) ([]UnitSummary, error) {
	now := s.clk.Now()
	var exp []reconcile.Expectation
	for _, c := range n.cabinets {
		exp = append(exp, reconcile.Expectation{Cabinet: c.code, Agent: c.agent, Reported: s.chk.LastComplete(c.code)})
	}
	missed := reconcile.Missed(exp, n.Start, n.Deadline, now, s.chk.Offline(), sitetime.Of(s.loc))
	if err := s.book.Apply(ctx, alert.Evaluation{Findings: missed, Scope: &alert.Scope{Kinds: []reconcile.Kind{reconcile.InventoryMissed}}}); err != nil {
		return nil, err
	}
	sum, err := s.summary(ctx, n, missed)
	if err != nil {
		return nil, err
	}
	n.Summary = sum
	b, _ := json.Marshal(sum)
	closed := false
	err = s.st.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE inventory_runs SET closed_at = ?, summary = ? WHERE id = ? AND closed_at IS NULL`, store.FormatTime(now), string(b), n.ID)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		closed = k == 1
		return nil
	})
	if err != nil {
		return sum, fmt.Errorf("record summary: %w", err)
	}
	if !closed {
		// Closed by another scheduler (a leader that overran its lease): its summary went out.
		s.log.Info("nightly inventory already closed", "at", n.Start)
		return sum, nil
	}
	if s.pub != nil {
		msg, _ := json.Marshal(summaryMessage(n, sum))
		if err := s.pub.Publish(ctx, s.cfg.SummaryTopic, msg); err != nil {
			return sum, fmt.Errorf("publish summary: %w", err)
		}
	}
	s.log.Info("nightly inventory closed", "at", n.Start, "missed", len(missed))
	return sum, nil
}

func (s *Scheduler) summary(ctx context.Context, n *Night, missed []reconcile.Finding) ([]UnitSummary, error) {
	by := map[string]*UnitSummary{}
	unitOf := map[string]string{}
	get := func(u string) *UnitSummary {
		if by[u] == nil {
			by[u] = &UnitSummary{Unit: u, Findings: map[string]int{}}
		}
		return by[u]
	}
	isMissed := map[string]bool{}
	for _, f := range missed {
		isMissed[f.Cabinet] = true
	}
	for _, c := range n.cabinets {
		unitOf[c.code] = c.unit
		u := get(c.unit)
		u.Cabinets++
		if isMissed[c.code] {
			u.Missed = append(u.Missed, c.code)
		} else {
			u.Reported++
		}
	}
	fs, err := s.book.Findings(ctx, alert.Filter{Active: true}, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if u, ok := unitOf[f.Cabinet]; ok {
			get(u).Findings[string(f.Kind)]++
		}
	}
	as, err := s.book.Alerts(ctx, alert.Filter{Active: true})
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if u, ok := unitOf[a.Cabinet]; ok {
			get(u).OpenAlerts++
		}
	}
	// The night's cabinet alarms, resolved or not: newest first, back 24 hours.
	since := s.clk.Now().Add(-24 * time.Hour)
	recent, err := s.book.Alerts(ctx, alert.Filter{Limit: 5000})
	if err != nil {
		return nil, err
	}
	for _, a := range recent {
		if a.OpenedAt.Before(since) {
			break
		}
		if u, ok := unitOf[a.Cabinet]; ok && a.Kind.Alarm() {
			x := get(u)
			x.Alarms = append(x.Alarms, NightAlarm{ID: a.Ref, Kind: string(a.Kind), Severity: string(a.Severity), Cabinet: a.Cabinet, At: a.OpenedAt, State: string(a.State)})
		}
	}
	out := make([]UnitSummary, 0, len(by))
	for _, u := range by {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}

func (s *Scheduler) cabinets(ctx context.Context) ([]cabinetEntry, error) {
	cs, err := register.NewReads(s.st).BoundCabinets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cabinetEntry, len(cs))
	for i, c := range cs {
		out[i] = cabinetEntry{code: c.Code, agent: c.Agent, unit: c.Unit}
	}
	return out, nil
}

// ErrStarted is a nightly run whose fire time already has one.
var ErrStarted = errors.New("already started")

// unclosed reads the nights started and not yet closed, to be closed at their deadlines.
func (s *Scheduler) unclosed(ctx context.Context) ([]*Night, error) {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT id, scheduled, deadline, commanded FROM inventory_runs WHERE closed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open inventory runs: %w", err)
	}
	defer rows.Close()
	var open []*Night
	for rows.Next() {
		n := &Night{}
		var start, deadline, cmds string
		if err := rows.Scan(&n.ID, &start, &deadline, &cmds); err != nil {
			return nil, fmt.Errorf("open inventory runs: %w", err)
		}
		n.Start, _ = store.ParseTime(start)
		n.Deadline, _ = store.ParseTime(deadline)
		json.Unmarshal([]byte(cmds), &n.Commanded)
		open = append(open, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open inventory runs: %w", err)
	}
	if len(open) == 0 {
		return nil, nil
	}
	// The night's cabinets are those it commanded, with their units as bound now.
	cabs, err := s.cabinets(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range open {
		for _, c := range cabs {
			if slices.ContainsFunc(n.Commanded, func(cmd Command) bool { return cmd.Cabinet == c.code }) {
				n.cabinets = append(n.cabinets, c)
			}
		}
	}
	return open, nil
}

// Runs lists the latest nightly runs with their summaries, newest first.
func Runs(ctx context.Context, st *store.Store, limit int) ([]Night, error) {
	if limit <= 0 {
		limit = 30
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT id, scheduled, deadline, commanded, summary FROM inventory_runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("inventory runs: %w", err)
	}
	defer rows.Close()
	out := []Night{}
	for rows.Next() {
		var n Night
		var start, deadline, cmds, sum string
		if err := rows.Scan(&n.ID, &start, &deadline, &cmds, &sum); err != nil {
			return nil, err
		}
		n.Start, _ = store.ParseTime(start)
		n.Deadline, _ = store.ParseTime(deadline)
		json.Unmarshal([]byte(cmds), &n.Commanded)
		if sum != "" {
			json.Unmarshal([]byte(sum), &n.Summary)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
