package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/custodyhq/custody/internal/alert"
)

// Alerts nobody can miss (issue 15, issue 21 point 1): every page a custodian, leader or auditor
// has open — the desk included — carries the number of open alerts in the navigation, in the
// colour of the worst, and a banner of the urgent ones (every critical alert, and every cabinet
// alarm whatever its severity); the page's title starts with the urgent count. Both are
// refreshed over the live stream (topic "alarms"), and console.js sounds a tone and shows a
// desktop notification for a new urgent alert when the person has switched them on (the
// notification says only that there is one: what and where are on the page). A cabinet's page
// lets them lock it (and custodians unlock it) remotely.

// alertWatch fills the page's alert count and banner: the unresolved alerts, worst and newest
// first.
func (c *Console) alertWatch(ctx context.Context, p *page) error {
	as, err := c.book.Alerts(ctx, alert.Filter{Active: true})
	if err != nil {
		return err
	}
	sortAlerts(as)
	p.AlertCount = len(as)
	if len(as) > 0 {
		p.WorstAlert = string(as[0].Severity)
	}
	p.Alarms = p.Alarms[:0]
	for _, a := range as {
		if urgent(a) {
			p.Alarms = append(p.Alarms, a)
			p.NewestAlarm = max(p.NewestAlarm, a.ID)
		}
	}
	return nil
}

// urgent alerts stand in the banner on every page.
func urgent(a alert.Alert) bool { return a.Severity == alert.Critical || a.Kind.Alarm() }

// sortAlerts puts the worst first, newest first within a severity.
func sortAlerts(as []alert.Alert) {
	slices.SortStableFunc(as, func(a, b alert.Alert) int {
		if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
			return d
		}
		return b.OpenedAt.Compare(a.OpenedAt)
	})
}

// WorstAlarm is the severity of the worst urgent alert ("" when none), for the banner's colour.
func (p *page) WorstAlarm() string {
	if len(p.Alarms) == 0 {
		return ""
	}
	return string(p.Alarms[0].Severity)
}

// Title is the page's title: the urgent alerts' count first, so a person on another tab sees it.
func (p *page) Title() string {
	if len(p.Alarms) > 0 {
		return p.Tf("alarm.title", len(p.Alarms)) + p.T("app.name")
	}
	return p.T("app.name")
}

// alarmsFragment answers the live parts: ?part=count (the navigation's count) or the banner.
func (c *Console) alarmsFragment(w http.ResponseWriter, r *http.Request, p *page) {
	block := "alarm-banner"
	if r.URL.Query().Get("part") == "count" {
		block = "alarm-count"
	}
	t := c.ui.pages["cabinets"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.ExecuteTemplate(w, block, p); err != nil {
		c.log.Error("console: render alarms", "err", err)
	}
}

// lockCabinet and unlockCabinet send a remote lock or unlock through the register (which
// authorises and audits every attempt) and show the cabinet again with the controller's answer.
func (c *Console) lockCabinet(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	code := clip(r.PathValue("code"), 100)
	if _, err := c.reg.LockCabinet(r.Context(), p.Actor, code, c.opt.Locks); err != nil {
		p.Err = p.refusal(err)
	} else {
		p.Flash = "cabinet.locked"
	}
	c.showLockResult(w, r, p)
}

func (c *Console) unlockCabinet(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	code := clip(r.PathValue("code"), 100)
	secs, _ := strconv.Atoi(clip(r.PostFormValue("seconds"), 10))
	if _, err := c.reg.UnlockCabinet(r.Context(), p.Actor, code, secs, formText(r, "reason"), c.opt.Locks); err != nil {
		p.Err = p.refusal(err)
	} else {
		p.Flash = "cabinet.unlocked"
	}
	c.showLockResult(w, r, p)
}

// showLockResult shows the cabinet with the answer; someone who may not see cabinets (refused
// and audited by the register) gets the refusal alone.
func (c *Console) showLockResult(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.Actor.Has(siteRoles...) {
		p.Data = "error.forbidden"
		c.render(w, r, http.StatusForbidden, "error", p)
		return
	}
	c.cabinetPage(w, r, p)
}
