package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/reconcile"
)

// Cabinet alarms in the console (issue 15): every page a custodian or leader has open shows the
// unresolved cabinet alarms — a count in the navigation and a banner, both refreshed over the
// live stream (topic "alarms") — and a cabinet's page lets them lock it (and custodians unlock it)
// remotely.

// alarmKinds are the kinds the banner counts, as SQL arguments.
func alarmKinds() []any {
	var out []any
	for _, k := range reconcile.Kinds {
		if k.Alarm() {
			out = append(out, string(k))
		}
	}
	return out
}

func alarmWhere() (string, []any) {
	ks := alarmKinds()
	return `state <> 'resolved' AND kind IN (?` + strings.Repeat(",?", len(ks)-1) + `)`, ks
}

// activeAlarms are the unresolved cabinet alarms, worst and newest first.
func (c *Console) activeAlarms(ctx context.Context) ([]alert.Alert, error) {
	as, err := c.book.Alerts(ctx, alert.Filter{Active: true})
	if err != nil {
		return nil, err
	}
	var out []alert.Alert
	for _, a := range as {
		if a.Kind.Alarm() {
			out = append(out, a)
		}
	}
	// Worst first; Alerts already gives newest first within a severity.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Severity.Rank() > out[j-1].Severity.Rank(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// WorstAlarm is the severity of the worst unresolved alarm ("" when none), for the banner's colour.
func (p *page) WorstAlarm() string {
	if len(p.Alarms) == 0 {
		return ""
	}
	return string(p.Alarms[0].Severity)
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
