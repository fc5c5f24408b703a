package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/reconcile"
)

// An alert's page tells its story (issue 21 point 2). Besides what, where and since when, and
// each finding's evidence: who last opened the cabinet's door before the alert was raised (the
// badge its controller read, and whose it is), the next steps for the alert's kind — the site's
// own ([alerts.steps] in custodyd's configuration) or the catalogue's defaults written for a
// secrecy office — and the actions a custodian takes from there: report the alert's copies lost,
// or record at the desk the checkout nobody recorded. The register decides who may do either.

// doorStory is the cabinet's last door opening before the alert.
type doorStory struct {
	At     time.Time
	Badge  string
	Holder string // the badge's holder's username, "" for a badge the register does not know
	Name   string
}

// storyData is what the alert page adds to the alert, its findings and its history.
type storyData struct {
	Door       *doorStory // nil: the alert names no cabinet
	Steps      []string
	SiteSteps  bool       // the steps are the site's own, not the catalogue's
	LossItems  []lossItem // the copies of its open findings that may be reported lost
	Checkout   bool       // a copy gone from its cabinet without a record: the desk can record it
	LossReport bool       // the person may report losses (a custodian or a leader)
}

// lossItem is a copy an alert's page offers to report lost.
type lossItem struct {
	ID    int64
	Label string // as the finding names it (document number and copy)
}

// story gathers the alert's story for p's reader.
func (c *Console) story(ctx context.Context, p *page, al alert.Alert, fs []alert.Finding) (storyData, error) {
	var d storyData
	if site := c.opt.Steps[string(al.Kind)]; len(site) > 0 {
		d.Steps, d.SiteSteps = site, true
	} else if text := p.T("steps." + string(al.Kind)); !strings.HasPrefix(text, "[") {
		d.Steps = strings.Split(text, "\n")
	}
	if al.Cabinet != "" {
		d.Door = &doorStory{}
		open, found, err := c.st.LastDoorOpening(ctx, al.Cabinet, al.OpenedAt)
		if err != nil {
			return d, err
		}
		if found {
			d.Door.At, d.Door.Badge = open.At, open.Badge
			if open.Badge != "" {
				if d.Door.Holder, d.Door.Name, _, err = c.reg.Reads().BadgeHolder(ctx, open.Badge); err != nil {
					return d, err
				}
			}
		}
	}
	if al.State != alert.Resolved && al.LossCase == 0 {
		d.LossItems = openCopies(fs)
	}
	switch al.Kind {
	case reconcile.Missing, reconcile.UnrecordedRemoval:
		d.Checkout = len(d.LossItems) > 0 && p.Can("desk")
	default:
		d.LossItems = nil // only a copy gone from its cabinet is reported lost from its alert
	}
	d.LossReport = len(d.LossItems) > 0 && p.Can("site")
	return d, nil
}

// openCopies are the copies of an alert's findings not yet cleared, each once.
func openCopies(fs []alert.Finding) []lossItem {
	var out []lossItem
	for _, f := range fs {
		if f.ItemID != 0 && f.ClearedAt.IsZero() && !slices.ContainsFunc(out, func(x lossItem) bool { return x.ID == f.ItemID }) {
			out = append(out, lossItem{f.ItemID, f.Item})
		}
	}
	return out
}

// reportAlertLoss reports the copies of an alert's open findings lost, in one loss case (追查):
// the ticked ones among them; any other id in the form is ignored. The register decides who may
// report, refuses and audits the rest.
func (c *Console) reportAlertLoss(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	back := "/alerts/" + strconv.FormatInt(id, 10)
	fs, err := c.book.Findings(r.Context(), alert.Filter{}, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, "error.not_found")
		return
	}
	var items []int64
	for _, x := range openCopies(fs) {
		if slices.Contains(r.PostForm["item"], strconv.FormatInt(x.ID, 10)) {
			items = append(items, x.ID)
		}
	}
	if len(items) == 0 {
		c.setFlash(r, p.T("story.none_ticked"))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	lc, err := c.reg.ReportLoss(r.Context(), p.Actor, items, formText(r, "note"))
	if err != nil {
		c.setFlash(r, p.refusal(err))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/losses/"+strconv.FormatInt(lc.ID, 10), http.StatusSeeOther)
}
