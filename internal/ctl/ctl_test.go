package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// newRegister opens a real SQLite register in a temporary directory (closed when the test ends),
// with its first administrator signed in: the token and the actor the commands' tests start from.
func newRegister(t *testing.T) (*store.Store, *register.Register, string, register.Actor) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := register.New(st, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	token, admin, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return st, reg, token, admin
}

// who is one person of a test office: username, name and role.
type who = struct {
	user, name string
	role       custody.Role
}

// office is a register served by custodyd's real API over HTTP, with units and people, everyone
// signed in: what the commands' tests run custodyctl against, as people at their desks would.
// The API starts at the first run, after the test has set the register up.
type office struct {
	t      *testing.T
	st     *store.Store
	reg    *register.Register
	admin  register.Actor
	sec    register.Actor    // the security administrator, sec.admin (once people are added)
	tokens map[string]string // username → token: admin, sec.admin and everyone added
	srv    *httptest.Server  // nil until the first run
}

// newOffice opens a register with these units.
func newOffice(t *testing.T, units ...register.Unit) *office {
	t.Helper()
	st, reg, token, admin := newRegister(t)
	for _, u := range units {
		if _, err := reg.AddUnit(context.Background(), admin, u); err != nil {
			t.Fatal(err)
		}
	}
	return &office{t: t, st: st, reg: reg, admin: admin, tokens: map[string]string{"admin": token}}
}

// add adds people to a unit as the 三员 do (addPeople) and signs each of them in.
func (o *office) add(unit string, people ...who) {
	o.t.Helper()
	o.sec = addPeople(o.t, o.reg, o.admin, unit, people...)
	for _, p := range append([]who{{user: "sec.admin"}}, people...) {
		tok, _, err := o.reg.Login(context.Background(), p.user, p.user+"-password", time.Hour)
		if err != nil {
			o.t.Fatal(err)
		}
		o.tokens[p.user] = tok
	}
}

// run runs custodyctl as user (with that person's token), stdin on its standard input, and
// returns the exit status, standard output and standard error.
func (o *office) run(user, stdin string, args ...string) (int, string, string) {
	if o.srv == nil {
		o.srv = httptest.NewServer(api.New(o.reg, o.st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
		o.t.Cleanup(o.srv.Close)
	}
	var out, errb bytes.Buffer
	c := &CLI{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		return map[string]string{"CUSTODY_SERVER": o.srv.URL, "CUSTODY_TOKEN": o.tokens[user]}[k]
	}}
	code := c.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// ok runs custodyctl as run does and stops the test unless it succeeds; it returns the output.
func (o *office) ok(user, stdin string, args ...string) string {
	o.t.Helper()
	code, out, errOut := o.run(user, stdin, args...)
	if code != ExitOK {
		o.t.Fatalf("custodyctl %s as %s: exit %d\n%s%s", strings.Join(args, " "), user, code, out, errOut)
	}
	return out
}
