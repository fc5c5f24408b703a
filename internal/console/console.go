// Package console is custodyd's web console: the pages custodians, leaders and auditors use all
// day, served by custodyd itself on the API's HTTP server.
//
// Shape, and why: server-rendered html/template pages with htmx (vendored, static/htmx.min.js)
// for small progressive enhancement, and server-sent events for live updates. The site runs on a
// secure network with no Internet, so nothing may be fetched at run time and there is no
// front-end build step to keep working; html/template escapes every value by context, which is
// the strongest defence we have against a document title carrying HTML. Every page works as plain
// forms and links; htmx only swaps the live parts (a cabinet table, the alert list, a desk's
// handover) when the server announces a change over /live.
//
// Text: every word a template shows comes from a message catalogue (messages/zh-CN.toml and
// messages/en.toml, flat keys, decoded strictly; both must hold the same keys). zh-CN is the
// default; English is chosen with the language switch (a cookie). Domain vocabulary — levels,
// states, roles, alert kinds — comes with both languages from packages custody, alert and
// reconcile, so the console and the API never name a thing differently.
//
// Security: a login makes a console sign-in in the register (sessions.go): the browser holds its
// secret in an HttpOnly, SameSite=Strict cookie (Secure under TLS), the register only its digest,
// so the session survives a restart and works on every custodyd of one database. Logout, or the
// security administrator, ends it there, so a replayed cookie is refused. Every state-changing request passes Go's
// cross-origin protection (http.CrossOriginProtection: Sec-Fetch-Site / Origin checks), every
// route names the roles allowed to use it, and every change goes through package register or
// package alert, which audit it. The 三员 (admin, secadmin, auditor) never see document titles:
// the register redacts them, and the console shows no title column to them. Repeated wrong
// passwords lock the account's console login for a while.
//
// Live updates: /live streams named events (cabinets, alerts, alarms, desk) when a cheap
// fingerprint of the relevant tables changes. One hub (live.go) computes the fingerprints for
// every open stream together, at each look (LiveInterval) and at once when the alert book commits
// a change, so the cost does not grow with the browsers and a new alert is on every open page in
// milliseconds. The console reads the store rather than hooking into ingest, so a slow browser can
// never hold up the agents' observations; each stream ends with its request or with the
// console's context, and so does the hub.
//
// Alerts nobody can miss (alarms.go): every page of a custodian, leader or auditor carries the
// open alerts' count, a banner of the urgent ones and a title that starts with them. Words: pages
// show people's words, never internal values (docs/glossary.md).
package console

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

//go:embed static templates messages
var files embed.FS

// Options configure a Console.
type Options struct {
	TokenTTL time.Duration // lifetime of a console session; default 12 h
	FontPath string        // TrueType font for PDF receipts and reports; default the Debian arphic font
	// LiveInterval is how often /live looks for changes; default 500 ms.
	LiveInterval time.Duration
	// Alerts is custodyd's alert book, so that an acknowledgement wakes its escalator at once;
	// nil: a book of the console's own.
	Alerts *alert.Book
	// Locks sends remote lock and unlock commands to cabinets; nil: unavailable.
	Locks register.LockControl
	// Inventory commands a cabinet's inventory now, for a 清查; nil: unavailable.
	Inventory register.InventoryControl
	// Station writes tags at a desk's encoding station, after receiving; nil: unavailable.
	Station register.Station
	// Steps are the site's own next steps per alert kind ([alerts.steps]), shown on an alert's
	// page instead of the catalogue's defaults.
	Steps map[string][]string
}

// DefaultFont is Debian's fonts-arphic-gbsn00lp.
const DefaultFont = "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"

// Console serves the web console.
type Console struct {
	ctx  context.Context // ends every live stream when custodyd stops
	reg  *register.Register
	st   *store.Store
	book *alert.Book
	log  *slog.Logger
	opt  Options
	ui   *ui
	mux  *http.ServeMux

	seen seen // the agents' observations as the cabinets overview needs them
	hub  *hub // the live streams' fingerprints (live.go)
}

// New builds the console. ctx bounds the live streams.
func New(ctx context.Context, reg *register.Register, st *store.Store, log *slog.Logger, opt Options) (*Console, error) {
	if opt.TokenTTL == 0 {
		opt.TokenTTL = 12 * time.Hour
	}
	if opt.FontPath == "" {
		opt.FontPath = DefaultFont
	}
	if opt.LiveInterval == 0 {
		opt.LiveInterval = 500 * time.Millisecond
	}
	if opt.Alerts == nil {
		opt.Alerts = alert.NewBook(st, log, nil)
	}
	u, err := loadUI(files)
	if err != nil {
		return nil, err
	}
	u.zone = reg.Zone() // one zone for the site: the register reads typed times in it too
	c := &Console{ctx: ctx, reg: reg, st: st, book: opt.Alerts, log: log, opt: opt, ui: u,
		mux: http.NewServeMux()}
	c.hub = newHub(c)
	c.book.OnChange(c.hub.Kick) // an alert appears on every open page at once, not at the next look
	go c.hub.run(ctx, opt.LiveInterval)
	c.routes()
	return c, nil
}

// Handler is the console's root handler: every state-changing request must pass the
// cross-origin check first.
func (c *Console) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		c.renderError(w, r, http.StatusForbidden, "error.cross_origin")
	}))
	return securityHeaders(cop.Handler(c.mux))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// Roles of the console's areas.
var (
	deskRoles    = []custody.Role{custody.Custodian}
	siteRoles    = []custody.Role{custody.Custodian, custody.Leader}
	alertReaders = []custody.Role{custody.Custodian, custody.Leader, custody.Auditor}
	alertActors  = []custody.Role{custody.Custodian, custody.Leader}
	auditRoles   = []custody.Role{custody.Auditor}
	anyone       []custody.Role
)

type pageHandler func(w http.ResponseWriter, r *http.Request, p *page)

// handle mounts h for the roles; nil roles means any signed-in person.
func (c *Console) handle(pattern string, roles []custody.Role, h pageHandler) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := c.newPage(r)
		a, ok := c.actor(r)
		if !ok {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			c.renderError(w, r, http.StatusUnauthorized, "error.signed_out")
			return
		}
		p.Actor = a
		// The route is recorded escaped: the auditor's page must not show a crafted path's words.
		p.audit = func(err error) { c.reg.AuditRefusal(r.Context(), a, "console "+r.Method+" "+r.URL.EscapedPath(), err) }
		if a.MustChangePassword && r.URL.Path != "/password" && r.URL.Path != "/logout" {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if roles != nil && !a.Has(roles...) {
			c.log.Warn("console: page outside the role refused", "user", a.Username, "path", r.URL.Path)
			p.audit(&register.Error{Code: register.CodeForbidden, Text: custody.Text{ZH: "无权访问该页面", EN: "page outside the person's roles"}})
			c.renderError(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		if a.Has(alertReaders...) {
			// Open alerts stand on every page of those who read them, the desk included (alarms.go).
			c.noteLive(r, p, "alarms")
			p.AlarmWatch = true
			if err := c.alertWatch(r.Context(), p); err != nil {
				c.log.Warn("console: open alerts", "err", err)
			}
		}
		h(w, r, p)
	}))
}

// formText is a typed field the register (or the alert book) checks — length, characters — and
// refuses naming the field: it is passed whole, never clipped, since a clipped note or place
// would be stored as something the person did not write (and a cut inside a character would
// be refused as invalid UTF-8, which the person did not type either). The form itself is
// bounded (maxForm).
func formText(r *http.Request, name string) string { return r.PostFormValue(name) }

// clip bounds a value the console only looks up or compares (a code in a path, a PIN), where a
// cut value simply finds nothing.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}
