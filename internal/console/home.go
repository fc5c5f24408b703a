package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// The home page (issue 21 point 3): what each role looks at first, one section per role the
// person holds. The custodian: today's handovers, copies due back today, overdue copies, open
// handovers, open alerts, secrecy terms ending soon. The leader: open alerts, approvals waiting,
// overdue copies, the cabinets' inventories. The security administrator: who holds which role,
// locked accounts, live sign-ins. The auditor: the audit chain's state and its recent sensitive
// records. Every figure links to the page that lists it, and every id to its own page (a copy
// to /items, a document to /documents, an alert, a cabinet, a receipt, an approval); times
// are in the site's zone. The alert count and banner stand on it as on every page (alarms.go).

func (c *Console) homeRoutes() {
	c.handle("GET /{$}", anyone, c.homePage)
	c.handle("POST /people/{username}/unlock", anyone, c.unlockPerson) // the register authorises and audits
}

// unlockPerson lifts an account's lock after repeated wrong passwords, from the security
// administrator's list of locked accounts. The register refuses anyone else (audited: the
// refusal is shown as a 403) and an account that is not locked (shown on the home page).
func (c *Console) unlockPerson(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	u := clip(r.PathValue("username"), 100)
	if err := c.reg.Unlock(r.Context(), p.Actor, u); err != nil {
		c.secAdminRefused(w, r, p, err, "/#lockouts")
		return
	}
	c.log.Info("console: account unlocked", "by", p.Actor.Username, "user", u)
	c.setFlash(r, okFlash+"home.unlocked")
	http.Redirect(w, r, "/#lockouts", http.StatusSeeOther)
}

// homeList bounds each list of the home page; its figure counts them all and links to the page
// with the rest.
const homeList = 10

type homeData struct {
	Today     string // YYYY-MM-DD in the site's zone
	Alerts    []alert.Alert
	Custodian *custodianHome
	Leader    *leaderHome
	SecAdmin  *secAdminHome
	Auditor   *auditorHome
}

type custodianHome struct {
	Handovers []register.Session // closed today
	Open      []register.Session
	DueToday  []register.LedgerRow
	Overdue   []register.LedgerRow
	Expiring  []register.Document
}

type leaderHome struct {
	Waiting  []register.Approval
	Overdue  []register.LedgerRow
	Cabinets []cabinetRow // worst first
	States   []stateCount
}

type stateCount struct {
	State string
	N     int
}

type secAdminHome struct {
	Roles    []roleHolders
	Lockouts []register.Lockout
	SignIns  int
}

type roleHolders struct {
	Role   custody.Role
	People []register.Person
}

type auditorHome struct {
	Verified bool
	Records  int
	Head     string
	FullAt   time.Time // when the whole chain was last verified
	Err      string
	Recent   []audit.Record
}

func (c *Console) homePage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	a := p.Actor
	d := homeData{Today: c.reg.Today()}
	var err error
	if a.Has(custody.Custodian, custody.Leader) {
		d.Alerts, err = c.book.Alerts(ctx, alert.Filter{Active: true})
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		sortAlerts(d.Alerts)
	}
	steps := []struct {
		role custody.Role
		fill func(context.Context, register.Actor, *homeData) error
	}{
		{custody.Custodian, c.custodianHome},
		{custody.Leader, c.leaderHome},
		{custody.SecAdmin, c.secAdminHome},
		{custody.Auditor, c.auditorHome},
	}
	for _, s := range steps {
		if a.Has(s.role) {
			if err := s.fill(ctx, a, &d); err != nil {
				c.fail(w, r, p, err)
				return
			}
		}
	}
	c.flashInto(r, p) // an unlock comes back as a notice, its refusal as an error
	p.Titles = a.SeesTitles()
	p.Data = d
	c.render(w, r, http.StatusOK, "home", p)
}

func (c *Console) custodianHome(ctx context.Context, a register.Actor, d *homeData) error {
	h := &custodianHome{}
	var err error
	if h.Open, err = c.reg.Sessions(ctx, a, "open"); err != nil {
		return err
	}
	closed, err := c.reg.Sessions(ctx, a, "closed")
	if err != nil {
		return err
	}
	zone := c.reg.Zone()
	for _, s := range closed {
		if zone.FormatStored(s.Closed, time.DateOnly) == d.Today {
			h.Handovers = append(h.Handovers, s)
		}
	}
	held, err := c.reg.Ledger(ctx, a, register.LedgerFilter{Held: true})
	if err != nil {
		return err
	}
	now := time.Now()
	for _, x := range held {
		if x.Due == "" {
			continue
		}
		if zone.FormatStored(x.Due, time.DateOnly) == d.Today && !overdue(x, now) {
			h.DueToday = append(h.DueToday, x)
		}
	}
	if h.Overdue, err = c.reg.Ledger(ctx, a, register.LedgerFilter{Overdue: true}); err != nil {
		return err
	}
	if h.Expiring, err = c.reg.Expiring(ctx, a, register.TermReminder); err != nil {
		return err
	}
	d.Custodian = h
	return nil
}

// overdue reports whether a copy out with someone is past its due time.
func overdue(x register.LedgerRow, now time.Time) bool {
	due, err := time.Parse(time.RFC3339Nano, x.Due)
	return err == nil && now.After(due)
}

func (c *Console) leaderHome(ctx context.Context, a register.Actor, d *homeData) error {
	h := &leaderHome{}
	pending, err := c.reg.Approvals(ctx, a, true)
	if err != nil {
		return err
	}
	for _, ap := range pending {
		// Nobody decides what concerns themselves (DESIGN rule 13): not waiting for this leader.
		if ap.RequestedBy != a.Username && ap.For != a.Username && ap.With != a.Username {
			h.Waiting = append(h.Waiting, ap)
		}
	}
	if h.Overdue, err = c.reg.Ledger(ctx, a, register.LedgerFilter{Overdue: true}); err != nil {
		return err
	}
	rows, err := c.overview(ctx, a)
	if err != nil {
		return err
	}
	order := []string{stOffline, stMissed, stFindings, stNever, stComplete}
	n := map[string]int{}
	for _, x := range rows {
		n[x.State]++
	}
	for _, st := range order {
		h.States = append(h.States, stateCount{st, n[st]})
	}
	slices.SortStableFunc(rows, func(x, y cabinetRow) int {
		return slices.Index(order, x.State) - slices.Index(order, y.State)
	})
	h.Cabinets = rows
	d.Leader = h
	return nil
}

func (c *Console) secAdminHome(ctx context.Context, a register.Actor, d *homeData) error {
	h := &secAdminHome{}
	people, err := c.reg.People(ctx, a)
	if err != nil {
		return err
	}
	for _, role := range []custody.Role{custody.Admin, custody.SecAdmin, custody.Auditor, custody.Custodian, custody.Leader, custody.Holder} {
		rh := roleHolders{Role: role}
		for _, x := range people {
			if x.Active && slices.Contains(x.Roles, role) {
				rh.People = append(rh.People, x)
			}
		}
		h.Roles = append(h.Roles, rh)
	}
	if h.Lockouts, err = c.reg.Lockouts(ctx, a); err != nil {
		return err
	}
	signIns, err := c.reg.SignIns(ctx, a, "")
	if err != nil {
		return err
	}
	h.SignIns = len(signIns)
	d.SecAdmin = h
	return nil
}

// sensitive are the audit records the auditor's home lists: who may do what (accounts, roles,
// grants, the policy, locks and sign-ins), keys and bindings, backups and exports, and every
// refused attempt.
func sensitive(action string) bool {
	switch action {
	case "person.login", "person.logout", "person.password":
		return false
	case "refused", "backup.take", "custody.export", "badge.issue", "badge.reset", "cabinet.bind", "desk.bind":
		return true
	}
	for _, prefix := range []string{"person.", "policy.", "grant.", "agent."} {
		if strings.HasPrefix(action, prefix) {
			return true
		}
	}
	return false
}

func (c *Console) auditorHome(ctx context.Context, a register.Actor, d *homeData) error {
	h := &auditorHome{}
	res, fullAt, err := c.st.VerifyAuditSince(ctx, chainFullEvery)
	if err != nil {
		h.Err = err.Error()
	} else {
		h.Verified, h.Records, h.Head, h.FullAt = true, res.Records, res.Head, fullAt
	}
	// The newest sensitive records, from the chain's last thousand: a look at today, not a search
	// (the audit page searches).
	from := max(1, int64(h.Records)-1000)
	err = c.st.AuditRecords(ctx, from, func(rec audit.Record) error {
		if sensitive(rec.Action) {
			h.Recent = append(h.Recent, rec)
			if len(h.Recent) > homeList {
				h.Recent = h.Recent[1:]
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Reverse(h.Recent)
	d.Auditor = h
	return nil
}

// HandoverPurpose names a handover's purpose in the page's language.
func (p *page) HandoverPurpose(code string) string { return register.PurposeText(code).In(p.Lang) }

// Shown is how many rows of a home list stand on the page.
func (p *page) Shown() int { return homeList }
