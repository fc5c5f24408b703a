package register_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
)

// A console sign-in is kept by the register (issue 21 point 10): its kind is checked (a cookie
// is no API token, a token no cookie), its expiry enforced, its one-shot message handed out
// once, and only the security administrator lists and ends sign-ins.
func TestSignInsInTheRegister(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := open(t, filepath.Join(t.TempDir(), "custody.db"))
	cookie, _, err := f.reg.ConsoleLoginFrom(ctx, "10.0.0.7", "wang.fang", "wang.fang-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := f.reg.LoginFrom(ctx, "10.0.0.8", "wang.fang", "wang.fang-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AuthenticateConsole(ctx, cookie, "10.0.0.7"); err != nil {
		t.Errorf("the console's own cookie: %v", err)
	}
	if _, err := f.reg.Authenticate(ctx, cookie); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("a console cookie as an API token: got %v, want ErrBadToken", err)
	}
	if _, err := f.reg.AuthenticateConsole(ctx, token, ""); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("an API token as a console cookie: got %v, want ErrBadToken", err)
	}

	// Expiry: a sign-in past its time is refused, whatever is stored.
	old, _, err := f.reg.ConsoleLoginFrom(ctx, "", "wang.fang", "wang.fang-password", -time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AuthenticateConsole(ctx, old, ""); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("an expired console sign-in: got %v, want ErrBadToken", err)
	}

	// The one-shot message.
	if msg, err := f.reg.TakeFlash(ctx, cookie); err != nil || msg != "" {
		t.Errorf("no message yet: got %q, %v", msg, err)
	}
	if err := f.reg.SetFlash(ctx, cookie, "未找到工作台"); err != nil {
		t.Fatal(err)
	}
	if msg, err := f.reg.TakeFlash(ctx, cookie); err != nil || msg != "未找到工作台" {
		t.Errorf("the kept message: got %q, %v", msg, err)
	}
	if msg, _ := f.reg.TakeFlash(ctx, cookie); msg != "" {
		t.Errorf("the message a second time: got %q, want none", msg)
	}

	// Only the security administrator lists and ends; the expired one is not listed.
	for _, a := range []register.Actor{f.admin, f.custodian, f.auditor} {
		if _, err := f.reg.SignIns(ctx, a, ""); !isForbidden(err) {
			t.Errorf("%s listing sign-ins: got %v, want forbidden", a.Username, err)
		}
		if _, err := f.reg.RevokeSignIns(ctx, a, "wang.fang"); !isForbidden(err) {
			t.Errorf("%s ending sign-ins: got %v, want forbidden", a.Username, err)
		}
	}
	ss, err := f.reg.SignIns(ctx, f.secadmin, "wang.fang")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 {
		t.Fatalf("wang.fang's live sign-ins: got %d, want 2 (the expired one is not live): %+v", len(ss), ss)
	}
	byClient := map[string]register.SignIn{}
	for _, s := range ss {
		byClient[s.Client] = s
	}
	if byClient["console"].Remote != "10.0.0.7" || byClient["api"].Remote != "10.0.0.8" {
		t.Errorf("addresses: got %+v", ss)
	}
	if _, err := f.reg.RevokeSignIn(ctx, f.custodian, byClient["console"].ID); !isForbidden(err) {
		t.Errorf("the custodian ending a sign-in: got %v, want forbidden", err)
	}
	if out, err := f.reg.RevokeSignIn(ctx, f.secadmin, byClient["console"].ID); err != nil || out.Count != 1 || out.Username != "wang.fang" {
		t.Fatalf("end the console sign-in: got %+v, %v", out, err)
	}
	if _, err := f.reg.AuthenticateConsole(ctx, cookie, ""); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("an ended console sign-in: got %v, want ErrBadToken", err)
	}
	if _, err := f.reg.Authenticate(ctx, token); err != nil {
		t.Errorf("her API token, not ended: %v", err)
	}
	if out, err := f.reg.RevokeSignIns(ctx, f.secadmin, "wang.fang"); err != nil || out.Count != 2 { // the token and the expired row
		t.Errorf("end all of hers: got %+v, %v", out, err)
	}
	if _, err := f.reg.Authenticate(ctx, token); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("her API token after all were ended: got %v, want ErrBadToken", err)
	}
	if _, err := f.reg.RevokeSignIns(ctx, f.secadmin, "nobody"); !isCode(err, register.CodeNotFound) {
		t.Errorf("ending an unknown person's sign-ins: got %v, want not found", err)
	}
}

func isForbidden(err error) bool { return isCode(err, register.CodeForbidden) }

func isCode(err error, code string) bool {
	var re *register.Error
	return errors.As(err, &re) && re.Code == code
}
