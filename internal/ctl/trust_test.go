package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// custodyctl's trust commands against a real API: a custodian may not rebind a cabinet or unlock
// an account (refused, nothing changed), the administrator rebinds, and logout kills the token.
func TestTrustCommands(t *testing.T) {
	ctx := context.Background()
	st, reg, adminTok, admin := newRegister(t)
	reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"})
	addPeople(t, reg, admin, "BGS", struct {
		user, name string
		role       custody.Role
	}{"wang.fang", "王芳", custody.Custodian})
	custTok, _, err := reg.Login(ctx, "wang.fang", "wang.fang-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"room-301", "room-303"} {
		if _, _, err := reg.EnrollAgent(ctx, admin, id); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	run := func(tok string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": tok, "XDG_CONFIG_HOME": t.TempDir()}[k]
		}}
		code := c.Run(ctx, args)
		return code, out.String(), errb.String()
	}
	if code, _, _ := run(custTok, "cabinet", "add", "C-01", "一号柜", "--agent", "room-301"); code != ExitOK {
		t.Fatalf("cabinet add: exit %d", code)
	}
	if code, _, errOut := run(custTok, "cabinet", "bind", "C-01", "room-303"); code == ExitOK || !strings.Contains(errOut, "系统管理员") {
		t.Errorf("a custodian rebinding: got exit %d %q, want a refusal naming who may", code, errOut)
	}
	if code, _, _ := run(custTok, "person", "unlock", "wang.fang"); code == ExitOK {
		t.Errorf("a custodian unlocking: got exit 0")
	}
	if code, out, errOut := run(adminTok, "cabinet", "bind", "C-01", "room-303"); code != ExitOK || !strings.Contains(out, "room-303") {
		t.Fatalf("admin rebinding: got %d %q %q", code, out, errOut)
	}
	if agent, _, _ := reg.PlaceAgent(ctx, register.PlaceCabinet, "C-01"); agent != "room-303" {
		t.Errorf("C-01 is bound to %q, want room-303", agent)
	}
	if code, _, _ := run(custTok, "logout"); code != ExitOK {
		t.Fatalf("logout: exit %d", code)
	}
	if _, err := reg.Authenticate(ctx, custTok); err == nil {
		t.Error("the token still works after custodyctl logout")
	}
}
