package console

import (
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Console sessions live in the register (issue 21 point 10, register/signins.go): the cookie
// holds the sign-in's secret and the register its digest, so a session survives a restart of
// custodyd, is honoured by whichever custodyd of one database a browser reaches, and carries its
// one-shot message there too. The security administrator lists the live sign-ins on /signins
// and ends one or all of a person's; anyone else is refused and the refusal audited.

const cookieName = "custody_session"

// secAdmins hold the sign-ins page.
var secAdmins = []custody.Role{custody.SecAdmin}

func (c *Console) sessionRoutes() {
	c.handle("GET /signins", secAdmins, c.signInsPage)
	c.handle("POST /signins/{id}/revoke", anyone, c.revokeSignIn) // the register authorises and audits
	c.handle("POST /signins/revoke", anyone, c.revokeSignIns)
}

// cookie is the request's session secret.
func cookie(r *http.Request) (string, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return "", false
	}
	return ck.Value, true
}

// setFlash keeps msg for the next page the request's session renders. A refusal travels this
// way after a redirect, never in the URL: a page must not show text that a link brought with it
// (a crafted "?err=系统升级，请将密码发送至…" would be a phishing aid on a trusted page).
func (c *Console) setFlash(r *http.Request, msg string) {
	v, ok := cookie(r)
	if !ok {
		return
	}
	if err := c.reg.SetFlash(r.Context(), v, msg); err != nil {
		c.log.Error("console: keep a message for the next page", "err", err)
	}
}

// takeFlash returns the session's kept refusal, once.
func (c *Console) takeFlash(r *http.Request) string {
	v, ok := cookie(r)
	if !ok {
		return ""
	}
	msg, err := c.reg.TakeFlash(r.Context(), v)
	if err != nil {
		c.log.Error("console: the message for this page", "err", err)
	}
	return msg
}

// actor resolves the session cookie to the person, through the register: an expired, ended or
// revoked session, or a closed account, is signed out.
func (c *Console) actor(r *http.Request) (register.Actor, bool) {
	v, ok := cookie(r)
	if !ok {
		return register.Actor{}, false
	}
	a, err := c.reg.AuthenticateConsole(r.Context(), v, remoteHost(r))
	if err != nil {
		return register.Actor{}, false
	}
	return a, true
}

// startSession hands the browser the sign-in's secret, for as long as the register keeps it.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(c.opt.TokenTTL.Seconds())})
}

// endSession ends the sign-in in the register (so a copy of the cookie is refused) and forgets
// the cookie.
func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if a, ok := c.actor(r); ok {
		if err := c.reg.Logout(r.Context(), a); err != nil {
			c.log.Error("console: end the session", "user", a.Username, "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

type signInsData struct {
	User    string // the person whose sign-ins are listed; "" everyone's
	SignIns []register.SignIn
}

func (c *Console) signInsPage(w http.ResponseWriter, r *http.Request, p *page) {
	d := signInsData{User: clip(r.URL.Query().Get("user"), 100)}
	var err error
	if d.SignIns, err = c.reg.SignIns(r.Context(), p.Actor, d.User); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	if n := r.URL.Query().Get("ended"); n != "" {
		if k, err := strconv.Atoi(n); err == nil && k >= 0 { // a number only: never text from a URL
			p.Notice = p.Tf("signins.ended", k)
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "signins", p)
}

// revokeSignIn ends one sign-in; revokeSignIns every sign-in of a person. The register refuses
// anyone but the security administrator; the refusal is audited and shown.
func (c *Console) revokeSignIn(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	out, err := c.reg.RevokeSignIn(r.Context(), p.Actor, id)
	c.afterRevoke(w, r, p, out, err)
}

func (c *Console) revokeSignIns(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	out, err := c.reg.RevokeSignIns(r.Context(), p.Actor, clip(r.PostFormValue("user"), 100))
	c.afterRevoke(w, r, p, out, err)
}

func (c *Console) afterRevoke(w http.ResponseWriter, r *http.Request, p *page, out register.Revoked, err error) {
	if err != nil {
		c.secAdminRefused(w, r, p, err, "/signins")
		return
	}
	c.log.Info("console: sign-ins ended", "by", p.Actor.Username, "user", out.Username, "count", out.Count)
	back := "/signins?ended=" + strconv.Itoa(out.Count)
	if _, ok := c.actor(r); !ok {
		back = "/login" // the security administrator ended their own session
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// secAdminRefused answers a refused security administrator's action: anyone else gets a 403, the
// security administrator the register's words on the page to go back to; both are audited.
func (c *Console) secAdminRefused(w http.ResponseWriter, r *http.Request, p *page, err error, back string) {
	if !p.Actor.Has(secAdmins...) {
		p.refusal(err) // audits it
		c.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	c.setFlash(r, p.refusal(err))
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// SignInClient names what a sign-in is for: the console, or the command line (an API token).
func (p *page) SignInClient(client string) string {
	if client == register.ClientConsole {
		return p.T("signins.client_console")
	}
	return p.T("signins.client_api")
}
