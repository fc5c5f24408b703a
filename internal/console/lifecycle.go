package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/store"
)

// The paper's later life in the console (issue 14): loss cases (追查) traced by custodians and
// leaders and closed by a leader's conclusion; a recall over lost copies closed by a leader's
// note; the documents whose secrecy term ends soon; 密级变更, 解密 and 解除管理. Every form posts
// to the register, which checks the same rules as for the API and custodyctl; a refusal comes
// back on the page in the person's language and is audited.

// termRoles read the expiring list: the custodian keeps the terms, the leader decides, the
// security administrator is reminded with the custodian (issue 14 point 6).
var termRoles = []custody.Role{custody.Custodian, custody.Leader, custody.SecAdmin}

func (c *Console) lifecycleRoutes() {
	c.handle("GET /losses", siteRoles, c.lossesPage)
	c.handle("GET /losses/{id}", siteRoles, c.lossPage)
	c.handle("POST /losses/{id}/notes", anyone, c.lossStep(false)) // the register decides who may
	c.handle("POST /losses/{id}/close", anyone, c.lossStep(true))
	c.handle("POST /recalls/{id}/close", anyone, c.closeRecall)
	c.handle("GET /batches/{id}/pdf", siteRoles, c.destructionListPDF)
	c.handle("GET /terms", termRoles, c.termsPage)
	c.handle("POST /terms/level", anyone, c.termDecision(false))
	c.handle("POST /terms/declassify", anyone, c.termDecision(true))
	c.handle("POST /terms/release", anyone, c.release)
}

type lossesData struct {
	Cases []register.LossCase
	State string
}

func (c *Console) lossesPage(w http.ResponseWriter, r *http.Request, p *page) {
	d := lossesData{State: r.URL.Query().Get("state")}
	if d.State != "open" && d.State != "closed" {
		d.State = ""
	}
	var err error
	if d.Cases, err = c.reg.LossCases(r.Context(), p.Actor, d.State); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "losses", p)
}

func (c *Console) lossPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	lc, err := c.reg.LossCase(r.Context(), p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = lc
	c.render(w, r, http.StatusOK, "loss", p)
}

// lossStep records the search's progress, or closes the case with the leader's conclusion.
func (c *Console) lossStep(closing bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			c.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		note := formText(r, "note")
		if closing {
			_, err = c.reg.CloseLossCase(r.Context(), p.Actor, id, note)
			if err == nil {
				c.raiseLosses(r.Context())
			}
		} else {
			_, err = c.reg.NoteLossCase(r.Context(), p.Actor, id, note)
		}
		if err != nil {
			c.setFlash(r, p.refusal(err))
		}
		back := "/losses/" + strconv.FormatInt(id, 10)
		if !p.Actor.Has(siteRoles...) {
			back = "/"
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// raiseLosses brings the reported_lost alerts in line with the open loss cases at once, as the
// API does after a report or a close (api.OpenLosses); custodyd's site check does it every tick
// too, so a failure here only delays the alert's end.
func (c *Console) raiseLosses(ctx context.Context) {
	ls, err := c.reg.OpenLosses(ctx)
	if err != nil {
		c.log.Error("console: open losses", "err", err)
		return
	}
	out := make([]reconcile.Loss, len(ls))
	for i, l := range ls {
		at, _ := store.ParseTime(l.Reported)
		out[i] = reconcile.Loss{Case: l.Case, Reported: at, Item: reconcile.Item{ID: l.ItemID, Number: l.Number, Level: l.Level,
			State: custody.Lost, Cabinet: l.Cabinet, Holder: l.Holder}}
	}
	if err := c.book.ApplyLosses(ctx, out); err != nil {
		c.log.Error("console: reported_lost alerts not brought in line now; the site check will", "err", err)
	}
}

// closeRecall ends a campaign; over copies reported lost only a leader, with a note.
func (c *Console) closeRecall(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, err := c.reg.CloseRecall(r.Context(), p.Actor, id, formText(r, "note")); err != nil {
		c.setFlash(r, p.refusal(err))
	}
	http.Redirect(w, r, "/recalls", http.StatusSeeOther)
}

type termsData struct {
	Days      int
	Documents []register.Document
	Levels    []custody.Level
}

func (c *Console) termsPage(w http.ResponseWriter, r *http.Request, p *page) {
	d := termsData{Days: register.TermReminder, Levels: custody.Levels}
	if v := r.URL.Query().Get("days"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 3660 {
			d.Days = n
		}
	}
	var err error
	if d.Documents, err = c.reg.Expiring(r.Context(), p.Actor, d.Days); err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.flashInto(r, p)
	p.Data = d
	c.render(w, r, http.StatusOK, "terms", p)
}

// termDecision records a 密级变更 or a 解密 as the deciding authority's document says.
func (c *Console) termDecision(declassify bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		number := clip(r.PostFormValue("number"), 200)
		dc := register.Decision{Authority: clip(r.PostFormValue("authority"), 300), DecisionNo: clip(r.PostFormValue("decision_no"), 300),
			Note: formText(r, "note")}
		var err error
		if declassify {
			_, err = c.reg.Declassify(r.Context(), p.Actor, number, dc)
		} else {
			dc.Level, dc.Term, dc.TermStart = custody.Level(clip(r.PostFormValue("level"), 50)), clip(r.PostFormValue("term"), 100), clip(r.PostFormValue("term_start"), 20)
			_, err = c.reg.ChangeLevel(r.Context(), p.Actor, number, dc)
		}
		if err != nil {
			c.setFlash(r, p.refusal(err))
		} else {
			c.setFlash(r, okFlash+"terms.recorded")
		}
		c.backToTerms(w, r, p)
	}
}

// release takes copies of a declassified document out of custody (解除管理).
func (c *Console) release(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if _, err := c.reg.Release(r.Context(), p.Actor, ids(r.PostFormValue("items")), formText(r, "note")); err != nil {
		c.setFlash(r, p.refusal(err))
	} else {
		c.setFlash(r, okFlash+"terms.released")
	}
	c.backToTerms(w, r, p)
}

func (c *Console) backToTerms(w http.ResponseWriter, r *http.Request, p *page) {
	back := "/terms"
	if !p.Actor.Has(termRoles...) {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// okFlash marks a kept message that is a catalogue key of a success, not a refusal's text;
// noteFlash one that is a success's text, already in the person's language. The mark is the
// unit separator (0x1F), which no catalogue text holds: not NUL, which PostgreSQL refuses in
// text — the kept message (tokens.flash) was lost there, and with it every success notice.
const (
	okFlash   = "\x1fok:"
	noteFlash = "\x1fnote:"
)

// flashInto shows the session's kept message: a success as a notice, anything else as a refusal.
func (c *Console) flashInto(r *http.Request, p *page) {
	msg := c.takeFlash(r)
	if key, ok := strings.CutPrefix(msg, okFlash); ok {
		p.Flash = key
		return
	}
	if text, ok := strings.CutPrefix(msg, noteFlash); ok {
		p.Notice = text
		return
	}
	p.Err = msg
}

// destructionListPDF prints a batch's 销毁清册, marked like every paper.
func (c *Console) destructionListPDF(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	l, err := c.reg.DestructionListOf(r.Context(), p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="destruction-list-`+strconv.FormatInt(id, 10)+`.pdf"`)
	if err := report.PDF(w, report.DestructionList(l, c.reg.Zone()), c.opt.FontPath); err != nil {
		c.log.Error("console: destruction list pdf", "batch", id, "err", err)
	}
}
