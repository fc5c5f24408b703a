package console

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Bounds on what a form may carry; the longest legitimate value (a note) is far shorter.
const (
	maxForm   = 64 << 10
	maxSearch = 200
)

func (c *Console) routes() {
	static, _ := fs.Sub(files, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.HandleFunc("POST /lang", c.setLang)
	c.mux.HandleFunc("POST /logout", c.logout)
	c.homeRoutes()
	c.handle("GET /password", anyone, c.passwordPage)
	c.handle("POST /password", anyone, c.changePassword)
	c.handle("POST /badge-pin", anyone, c.setBadgePIN)
	c.handle("GET /policy", anyone, c.policyPage)
	c.mux.HandleFunc("GET /live", c.live)

	c.handle("GET /cabinets", siteRoles, c.cabinetsPage)
	c.handle("GET /cabinets/{code}", siteRoles, c.cabinetPage)
	c.handle("POST /cabinets/{code}/lock", anyone, c.lockCabinet) // the register authorises and audits
	c.handle("POST /cabinets/{code}/unlock", anyone, c.unlockCabinet)
	c.handle("GET /alarms", alertReaders, c.alarmsFragment)

	c.handle("GET /alerts", alertReaders, c.alertsPage)
	c.handle("GET /alerts/{id}", alertReaders, c.alertPage)
	c.handle("POST /alerts/{id}/ack", alertActors, c.alertStep(false))
	c.handle("POST /alerts/{id}/resolve", alertActors, c.alertStep(true))
	c.handle("POST /alerts/{id}/loss", anyone, c.reportAlertLoss) // the register decides who may report

	c.handle("GET /desk", deskRoles, c.deskIndex)
	c.handle("POST /desk/open", deskRoles, c.deskOpen)
	c.handle("GET /desk/{desk}", deskRoles, c.deskPage)
	c.handle("POST /desk/{desk}/scan", deskRoles, c.deskScan)
	c.handle("POST /desk/{desk}/close", deskRoles, c.deskClose)
	c.handle("POST /desk/{desk}/abandon", deskRoles, c.deskAbandon)
	c.handle("GET /receipts/{id}", deskRoles, c.receiptPage)
	c.handle("GET /receipts/{id}/pdf", deskRoles, c.receiptPDF)
	c.handle("GET /recalls", siteRoles, c.recallsPage)
	c.handle("POST /recalls", deskRoles, c.startRecall)
	c.handle("GET /batches", siteRoles, c.batchesPage)
	c.handle("POST /batches", deskRoles, c.listBatch)
	c.handle("POST /batches/certify", deskRoles, c.certifyBatch)
	c.handle("GET /transits", siteRoles, c.transitsPage)
	c.handle("POST /transits/{id}/receipt", deskRoles, c.transitReceipt)
	c.handle("GET /receive", deskRoles, c.receivePage)
	c.handle("POST /receive", deskRoles, c.receive)
	c.handle("GET /receive/next", deskRoles, c.receiveNext)
	c.handle("POST /items/{id}/encode", deskRoles, c.encodeTag)
	c.handle("GET /import", deskRoles, c.importPage)
	c.handle("GET /import/template", deskRoles, c.importTemplate)
	c.handle("POST /import", deskRoles, c.importLedger)

	c.handle("GET /find", siteRoles, c.find) // the navigation's scan box
	c.handle("GET /register", siteRoles, c.registerPage)
	c.handle("GET /register/{kind}/download", siteRoles, c.registerDownload)

	c.handle("GET /audit", auditRoles, c.auditPage)
	c.lifecycleRoutes()
	c.checkRoutes()
	c.approvalRoutes()
	c.historyRoutes()
	c.sessionRoutes()
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.actor(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", c.newPage(r))
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	p := c.newPage(r)
	user := clip(r.PostFormValue("username"), 100)
	pass := r.PostFormValue("password")
	if len(pass) > 1000 {
		pass = ""
	}
	token, a, err := c.reg.ConsoleLoginFrom(r.Context(), remoteHost(r), user, pass, c.opt.TokenTTL)
	if err != nil {
		// The register's limits, shared with the API (the console has none of its own, so a
		// console cannot be raced or used to lock a person out differently): too many attempts
		// from this address now, or an account locked for a while (the same answer whether the
		// name exists or not).
		if errors.Is(err, register.ErrThrottled) {
			p.Err = p.T("login.locked")
			c.render(w, r, http.StatusTooManyRequests, "login", p)
			return
		}
		if errors.Is(err, register.ErrLocked) {
			p.Err = p.T("login.account_locked")
			c.render(w, r, http.StatusForbidden, "login", p)
			return
		}
		if errors.Is(err, register.ErrBadLogin) {
			p.Err = p.T("login.bad")
			c.render(w, r, http.StatusUnauthorized, "login", p)
			return
		}
		c.log.Error("console: login", "err", err)
		p.Err = p.T("error.internal")
		c.render(w, r, http.StatusInternalServerError, "login", p)
		return
	}
	// Login does not say whether the password is a one-time one; Authenticate does.
	if full, err := c.reg.AuthenticateConsole(r.Context(), token, remoteHost(r)); err == nil {
		a = full
	}
	c.startSession(w, r, token)
	c.log.Info("console: signed in", "user", a.Username)
	if a.MustChangePassword {
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// remoteHost is the client's address without the port, for the register's per-address limit.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.endSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	lang := r.PostFormValue("lang")
	if !slices.Contains(languages, lang) {
		lang = languages[0]
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: lang, Path: "/", SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, localPath(r.PostFormValue("back")), http.StatusSeeOther)
}

// localPath returns back when it is a path on this console, and "/" otherwise: the language
// switch must never send a signed-in person to another site. Browsers read a backslash as a
// slash and drop tabs and newlines, so "/\evil.example" and "/\t/evil.example" mean
// "//evil.example" to them: any backslash or control character is refused, not only "//".
func localPath(back string) string {
	if back == "" || len(back) > 500 || back[0] != '/' || (len(back) > 1 && back[1] == '/') {
		return "/"
	}
	for _, c := range []byte(back) {
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	if u, err := url.Parse(back); err != nil || u.IsAbs() || u.Host != "" {
		return "/"
	}
	return back
}

func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request, p *page) {
	c.render(w, r, http.StatusOK, "password", p)
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	old, nw, again := r.PostFormValue("old"), r.PostFormValue("new"), r.PostFormValue("again")
	switch {
	case nw != again:
		p.Err = p.T("password.mismatch")
	default:
		if err := c.reg.ChangePassword(r.Context(), p.Actor, old, nw); err != nil {
			p.Err = p.refusal(err)
		}
	}
	if p.Err != "" {
		c.render(w, r, http.StatusUnprocessableEntity, "password", p)
		return
	}
	p.Actor.MustChangePassword = false
	p.Flash = "password.changed"
	c.render(w, r, http.StatusOK, "password", p)
}

// setBadgePIN lets the signed-in person choose their own badge PIN (issue 13: only the holder
// knows the signature); it shares the password page.
func (c *Console) setBadgePIN(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	old, nw, again := r.PostFormValue("old_pin"), r.PostFormValue("new_pin"), r.PostFormValue("again_pin")
	switch {
	case nw != again:
		p.Err = p.T("badge.mismatch")
	default:
		if err := c.reg.SetBadgePIN(r.Context(), p.Actor, old, nw); err != nil {
			p.Err = p.refusal(err)
		}
	}
	if p.Err != "" {
		c.render(w, r, http.StatusUnprocessableEntity, "password", p)
		return
	}
	p.Flash = "badge.pin_set"
	c.render(w, r, http.StatusOK, "password", p)
}

type policyData struct {
	Rules  []register.PolicyRule
	Grants []register.PersonGrant
}

// policyPage shows who decides what (the approval policy) and who holds which authority; the
// security administrator edits both with custodyctl or the API.
func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, p *page) {
	var d policyData
	var err error
	if d.Rules, err = c.reg.Policy(r.Context(), p.Actor); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if p.Actor.Has(custody.SecAdmin, custody.Admin, custody.Auditor, custody.Leader, custody.Custodian) {
		if d.Grants, err = c.reg.Grants(r.Context(), p.Actor); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "policy", p)
}

// ---- alerts

type alertsData struct {
	Alerts []alert.Alert
	All    bool
}

func (c *Console) alertsPage(w http.ResponseWriter, r *http.Request, p *page) {
	c.noteLive(r, p, "alerts")
	all := r.URL.Query().Get("all") == "1"
	f := alert.Filter{Active: !all, Limit: 500}
	as, err := c.book.Alerts(r.Context(), f)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	sortAlerts(as) // most severe first, newest first within a severity
	p.Data = alertsData{as, all}
	c.render(w, r, http.StatusOK, "alerts", p)
}

type alertData struct {
	Alert    alert.Alert
	Findings []alert.Finding
	History  []alert.Event
	Story    storyData
}

func (c *Console) alertPage(w http.ResponseWriter, r *http.Request, p *page) {
	if ref := r.PathValue("id"); strings.HasPrefix(ref, "AL-") && len(ref) <= 32 {
		// The link in a notice or an MQTT message names the alert by its opaque id only.
		al, err := c.book.AlertByRef(r.Context(), ref)
		if errors.Is(err, alert.ErrNotFound) {
			c.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		} else if err != nil {
			c.fail(w, r, p, err)
			return
		}
		http.Redirect(w, r, "/alerts/"+strconv.FormatInt(al.ID, 10), http.StatusSeeOther)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	al, err := c.book.Alert(r.Context(), id)
	if errors.Is(err, alert.ErrNotFound) {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	} else if err != nil {
		c.fail(w, r, p, err)
		return
	}
	fs, err := c.book.Findings(r.Context(), alert.Filter{}, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	h, err := c.book.History(r.Context(), id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	st, err := c.story(r.Context(), p, al, fs)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Data = alertData{al, fs, onceUnrouted(h), st}
	c.flashInto(r, p)
	if k := r.URL.Query().Get("err"); k != "" && slices.Contains([]string{"alert.note_required", "alert.already_resolved"}, k) {
		p.Err = p.T(k)
	}
	c.render(w, r, http.StatusOK, "alert", p)
}

// onceUnrouted keeps the first "no channel" step per audience: a register written before the
// escalator recorded it once holds one such row every 10 s per audience (issue 21 point 2), which
// buried the alert's story.
func onceUnrouted(h []alert.Event) []alert.Event {
	seen := map[alert.Audience]bool{}
	out := h[:0:0]
	for _, e := range h {
		if e.Event == "unrouted" {
			if seen[e.Audience] {
				continue
			}
			seen[e.Audience] = true
		}
		out = append(out, e)
	}
	return out
}

func (c *Console) alertStep(resolve bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			c.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		note := formText(r, "note")
		if resolve {
			_, err = c.book.Resolve(r.Context(), p.Actor.Username, id, note)
		} else {
			_, err = c.book.Acknowledge(r.Context(), p.Actor.Username, id, note)
		}
		back := "/alerts/" + strconv.FormatInt(id, 10)
		switch {
		case errors.Is(err, alert.ErrNotFound):
			c.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		case errors.Is(err, alert.ErrNoNote):
			back += "?err=alert.note_required"
		case errors.Is(err, alert.ErrResolved):
			back += "?err=alert.already_resolved"
		case err != nil:
			c.fail(w, r, p, err)
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// ---- recalls and destruction batches

func (c *Console) recallsPage(w http.ResponseWriter, r *http.Request, p *page) {
	rs, err := c.reg.Recalls(r.Context(), p.Actor)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = rs
	c.render(w, r, http.StatusOK, "recalls", p)
}

func (c *Console) batchesPage(w http.ResponseWriter, r *http.Request, p *page) {
	bs, err := c.reg.Batches(r.Context(), p.Actor)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.flashInto(r, p) // a leader's decision made here comes back as a notice, a refusal as an error
	p.Data = bs
	c.render(w, r, http.StatusOK, "batches", p)
}

// ---- audit

type auditData struct {
	Records   []audit.Record
	Actor     string
	Action    string
	From      string
	Verified  bool
	Head      string
	Count     int
	FullAt    time.Time // when the whole chain was last verified
	VerifyErr string
}

// chainFullEvery is how old the last verification of the whole audit chain may be when a page
// shows the chain's state: the records appended since are verified at every load, the whole
// chain — years of records, seconds to minutes of work — at most this often, or when the auditor
// asks (/audit?full=1).
const chainFullEvery = time.Hour

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := auditData{Actor: clip(q.Get("actor"), 100), Action: clip(q.Get("action"), 100), From: clip(q.Get("from"), 20)}
	full := chainFullEvery
	if q.Get("full") == "1" {
		full = 0
	}
	res, fullAt, err := c.st.VerifyAuditSince(r.Context(), full)
	if err != nil {
		d.VerifyErr = p.chainBreak(err)
	} else {
		d.Verified, d.Head, d.Count, d.FullAt = true, res.Head, res.Records, fullAt
	}
	// Without a filter the page shows the newest records: read those, not the years before.
	from := max(1, res.LastSeq-1000)
	if d.Actor != "" || d.Action != "" {
		from = 1
	}
	if n, err := strconv.ParseInt(d.From, 10, 64); err == nil && n > 0 {
		from = n
	}
	var recs []audit.Record
	err = c.st.AuditRecords(r.Context(), from, func(rec audit.Record) error {
		if d.Actor != "" && rec.Actor != d.Actor {
			return nil
		}
		if d.Action != "" && rec.Action != d.Action {
			return nil
		}
		recs = append(recs, rec)
		if len(recs) > 1000 {
			recs = recs[1:]
		}
		return nil
	})
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	slices.Reverse(recs) // newest first
	if len(recs) > 500 {
		recs = recs[:500]
	}
	d.Records = recs
	p.Data = d
	c.render(w, r, http.StatusOK, "audit", p)
}

// chainBreak says where the audit chain does not hold, in the page's language; an error that is
// not a break (the register unreadable) is logged and said as such.
func (p *page) chainBreak(err error) string {
	var b *audit.Break
	switch {
	case errors.As(err, &b) && p.Lang == "en":
		return b.Error()
	case errors.As(err, &b) && b.ZH != "":
		return fmt.Sprintf("第 %d 条记录（序号 %d）：%s", b.Index, b.Seq, b.ZH)
	case errors.As(err, &b):
		return fmt.Sprintf("第 %d 条记录（序号 %d）", b.Index, b.Seq)
	}
	return p.T("error.internal")
}

// fail answers an unexpected error: a refusal in the person's language, anything else logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	var te *custody.TextError
	if errors.As(err, &te) { // a field refused outside the register (an alert's note): same page
		err = &register.Error{Code: register.CodeInvalid, Text: te.Text, Err: err}
	}
	var re *register.Error
	if errors.As(err, &re) {
		status := http.StatusUnprocessableEntity
		switch re.Code {
		case register.CodeForbidden:
			status = http.StatusForbidden
		case register.CodeNotFound:
			status = http.StatusNotFound
		}
		p.Data = "error.refused"
		p.Err = p.refusal(err)
		c.render(w, r, status, "error", p)
		return
	}
	c.log.Error("console: request failed", "path", r.URL.Path, "err", err)
	c.renderError(w, r, http.StatusInternalServerError, "error.internal")
}
