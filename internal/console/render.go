package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// Languages the console speaks; the first is the default.
var languages = []string{"zh-CN", "en"}

type ui struct {
	msgs  map[string]map[string]string // language → key → text
	pages map[string]*template.Template
	zone  sitetime.Zone // times are shown in the site's zone ([site] time_zone)
}

// loadUI reads the catalogues strictly (flat string keys only, the same keys in every language)
// and parses every page with the layout.
func loadUI(fsys fs.FS) (*ui, error) {
	u := &ui{msgs: map[string]map[string]string{}, pages: map[string]*template.Template{}}
	for _, lang := range languages {
		b, err := fs.ReadFile(fsys, "messages/"+lang+".toml")
		if err != nil {
			return nil, fmt.Errorf("console: catalogue %s: %w", lang, err)
		}
		m := map[string]string{}
		md, err := toml.Decode(string(b), &m)
		if err != nil {
			return nil, fmt.Errorf("console: catalogue %s: %w", lang, err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			return nil, fmt.Errorf("console: catalogue %s: %v are not plain strings", lang, un)
		}
		u.msgs[lang] = m
	}
	for k := range u.msgs[languages[0]] {
		for _, lang := range languages[1:] {
			if _, ok := u.msgs[lang][k]; !ok {
				return nil, fmt.Errorf("console: catalogue %s lacks key %q", lang, k)
			}
		}
	}
	for _, lang := range languages[1:] {
		for k := range u.msgs[lang] {
			if _, ok := u.msgs[languages[0]][k]; !ok {
				return nil, fmt.Errorf("console: catalogue %s lacks key %q", languages[0], k)
			}
		}
	}
	layout, err := template.ParseFS(fsys, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	names, _ := fs.Glob(fsys, "templates/*.html")
	for _, n := range names {
		if path.Base(n) == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("console: %s: %w", n, err)
		}
		u.pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return u, nil
}

// page is what every template sees: the person, the language and the page's data.
type page struct {
	ui     *ui
	Lang   string
	Actor  register.Actor
	Path   string
	Flash  string // a catalogue key
	Err    string // a refusal, already in the page's language
	Notice string // a step done and what follows, already in the page's language
	Data   any
	Desk   string // set on a desk page: the live stream follows this desk
	Titles bool   // the person may see document titles
	// AlarmWatch: the person is told of open alerts on every page (alarms.go): AlertCount of
	// them, the worst of WorstAlert severity; Alarms are the urgent ones for the banner, worst
	// first, NewestAlarm the newest of those (the browser sounds for a new one).
	AlarmWatch  bool
	AlertCount  int
	WorstAlert  string
	Alarms      []alert.Alert
	NewestAlarm int64
	// audit records a refusal in the audit chain (issue 13: every refused attempt is audited).
	audit func(err error)
	// since holds the live topics' fingerprints taken before the page read what it shows
	// (noteLive): the page's stream announces at once a change made in between (live.go).
	since map[string]string
}

// Since is the fingerprint of topic taken before the page read its data ("" if not taken: a
// fragment, or a topic the person does not follow).
func (p *page) Since(topic string) string { return p.since[topic] }

func (c *Console) newPage(r *http.Request) *page {
	lang := languages[0]
	if ck, err := r.Cookie("lang"); err == nil && slices.Contains(languages, ck.Value) {
		lang = ck.Value
	}
	// The path goes back to the language switch escaped as it came: a page never carries a
	// path's words as text (a crafted /desk/系统升级… link).
	return &page{ui: c.ui, Lang: lang, Path: r.URL.EscapedPath()}
}

// T is the catalogue text of key in the page's language. A key missing from the catalogue shows
// as itself in brackets (the catalogue test keeps that from shipping).
func (p *page) T(key string) string {
	if s, ok := p.ui.msgs[p.Lang][key]; ok {
		return s
	}
	return "[" + key + "]"
}

// Tf formats the catalogue text of key with args.
func (p *page) Tf(key string, args ...any) string { return fmt.Sprintf(p.T(key), args...) }

// X is domain text (levels, states, roles, kinds) in the page's language.
func (p *page) X(t custody.Text) string { return t.In(p.Lang) }

// Time shows a time in the site's zone ([site] time_zone), to the second; the page's footer
// names the zone.
func (p *page) Time(v any) string {
	z := p.ui.zone
	switch t := v.(type) {
	case time.Time:
		return z.Format(t, "2006-01-02 15:04:05")
	case string:
		return z.FormatStored(t, "2006-01-02 15:04:05")
	}
	return fmt.Sprint(v)
}

// Who names an actor as people read it: a username as it is, the system and an agent in words
// (never "system" or "agent:room-301" on a page).
func (p *page) Who(actor string) string {
	if actor == alert.System {
		return p.T("alert.actor_system")
	}
	if id, ok := strings.CutPrefix(actor, "agent:"); ok {
		return p.Tf("who.agent", id)
	}
	return actor
}

// Source names how a code reached a handover: typed at the console, or read by a desk's scanner
// (through its agent).
func (p *page) Source(src string) string {
	if src == "typed" {
		return p.T("desk.source.typed")
	}
	if strings.HasPrefix(src, "agent:") {
		return p.T("desk.source.scanner")
	}
	return src
}

// LevelWord is a level in words; "*" (every level, in the approval policy) too.
func (p *page) LevelWord(level string) string {
	if level == "*" || level == "" {
		return p.T("policy.every_level")
	}
	if l, err := custody.ParseLevel(level); err == nil {
		return p.X(l.Text())
	}
	return level
}

// On reports whether the page is in the navigation's area href (marked as the current one).
func (p *page) On(href string) bool {
	return p.Path == href || strings.HasPrefix(p.Path, href+"/")
}

// Zone names the site's time zone in the page's language (北京时间).
func (p *page) Zone() string { return p.ui.zone.Label(p.Lang) }

// Is reports whether the person holds the role.
func (p *page) Is(role string) bool { return p.Actor.Has(custody.Role(role)) }

// Can reports whether the person may use the named area (the nav and action buttons).
func (p *page) Can(area string) bool {
	roles, ok := map[string][]custody.Role{
		"desk": deskRoles, "site": siteRoles, "alerts": alertReaders, "ack": alertActors, "audit": auditRoles, "register": siteRoles, "terms": termRoles,
		"checks": checkRoles, "approvals": approvalRoles,
	}[area]
	return ok && p.Actor.Has(roles...)
}

// Roles names the person's roles.
func (p *page) Roles() string {
	var s []string
	for _, r := range p.Actor.Roles {
		s = append(s, r.Text().In(p.Lang))
	}
	return strings.Join(s, "、")
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := c.ui.pages[name]
	if t == nil {
		panic("console: no page " + name)
	}
	block := "layout"
	if r.URL.Query().Get("frag") != "" && t.Lookup("live") != nil {
		block = "live"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError answers with a page naming what went wrong (a catalogue key).
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	p := c.newPage(r)
	if a, ok := c.actor(r); ok {
		p.Actor = a
	}
	p.Data = key
	c.render(w, r, status, "error", p)
}

// refusal is a register or alert refusal in the page's language.
func (p *page) refusal(err error) string {
	var re *register.Error
	if p.audit != nil {
		p.audit(err)
	}
	if errors.As(err, &re) {
		return re.Text.In(p.Lang)
	}
	return p.T("error.internal")
}
