package register_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// guess sends MaxLoginFailures wrong passwords for username, each from an address of its own
// (as a distributed guesser would: the per-address buckets do not stop it), and returns the
// answers' errors.
func guess(t *testing.T, reg *register.Register, username, net string) []error {
	t.Helper()
	var errs []error
	for i := range register.MaxLoginFailures {
		_, _, err := reg.LoginFrom(context.Background(), fmt.Sprintf("%s.%d", net, i+1), username, "wrong-password-x", time.Hour)
		errs = append(errs, err)
	}
	return errs
}

// The answers do not tell whether a username exists: wrong passwords for a real account and for
// a name nobody has are refused alike, both lock after MaxLoginFailures, and the lock's answer
// is the same error, code and text for both — given without a password check, so the right
// password of the real account learns nothing either.
func TestLockoutAnswerIsTheSameForUnknownNames(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	f.person(t, "li.ming", custody.Leader)
	for _, name := range []string{"li.ming", "no.such.person"} {
		for i, err := range guess(t, f.reg, name, "10.1.0") {
			if !errors.Is(err, register.ErrBadLogin) {
				t.Fatalf("%s: wrong password %d: got %v, want a wrong login", name, i+1, err)
			}
		}
	}
	_, _, real := f.reg.LoginFrom(ctx, "10.2.0.1", "li.ming", "li.ming-password", time.Hour)
	_, _, fake := f.reg.LoginFrom(ctx, "10.2.0.1", "no.such.person", "li.ming-password", time.Hour)
	if !errors.Is(real, register.ErrLocked) || !errors.Is(fake, register.ErrLocked) {
		t.Fatalf("after %d wrong passwords: real account %v, unknown name %v; want both locked", register.MaxLoginFailures, real, fake)
	}
	var re, fe *register.Error
	errors.As(real, &re)
	errors.As(fake, &fe)
	if re.Code != fe.Code || re.Text != fe.Text || real.Error() != fake.Error() {
		t.Errorf("the locked answers differ: %q / %q", real, fake)
	}
}

// Guesses cannot shut a person out: after an attack from many addresses locks the
// administrator's account, the administrator still signs in from the address they signed in
// from before, while a new address is refused; the lock is audited once with its end, the
// security administrator is told, and it lifts itself after the lock time (audited, actor
// system).
func TestLockedAccountStillAdmitsItsOwnerAndUnlocksItself(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	now := time.Now()
	f.reg.SetClock(func() time.Time { return now })
	f.reg.SetLoginLock(10 * time.Minute)
	var told []string
	f.reg.OnLocked(func(u string) { told = append(told, u) })
	const desk, elsewhere = "10.9.0.5", "10.9.0.77"
	if _, _, err := f.reg.LoginFrom(ctx, desk, "admin", "admin-password-1", time.Hour); err != nil {
		t.Fatalf("the administrator at their desk: %v", err)
	}

	guess(t, f.reg, "admin", "172.16.0")
	if n := auditCount(t, f, "person.lock"); n != 1 {
		t.Fatalf("got %d person.lock audit records, want 1", n)
	}
	if len(told) != 1 || told[0] != "admin" {
		t.Errorf("OnLocked heard %v, want admin once", told)
	}
	if _, _, err := f.reg.LoginFrom(ctx, elsewhere, "admin", "admin-password-1", time.Hour); !errors.Is(err, register.ErrLocked) {
		t.Fatalf("right password from a new address while locked: got %v, want locked", err)
	}
	if _, a, err := f.reg.LoginFrom(ctx, desk, "admin", "admin-password-1", time.Hour); err != nil || a.Username != "admin" {
		t.Fatalf("right password from the administrator's own address while locked: got %v, want signed in", err)
	}
	if _, _, err := f.reg.LoginFrom(ctx, desk, "admin", "wrong-password-x", time.Hour); !errors.Is(err, register.ErrBadLogin) {
		t.Errorf("wrong password from the own address: got %v, want a wrong login", err)
	}
	if _, _, err := f.reg.LoginFrom(ctx, elsewhere, "admin", "admin-password-1", time.Hour); !errors.Is(err, register.ErrLocked) {
		t.Fatalf("the owner's login must not lift the lock for others: got %v", err)
	}

	now = now.Add(10*time.Minute + time.Second)
	if _, _, err := f.reg.LoginFrom(ctx, elsewhere, "admin", "admin-password-1", time.Hour); err != nil {
		t.Fatalf("right password after the lock time: got %v, want signed in", err)
	}
	var actor string
	if err := f.st.DB().QueryRow(`SELECT actor FROM audit WHERE action = 'person.unlock' ORDER BY seq DESC LIMIT 1`).Scan(&actor); err != nil || actor != "system" {
		t.Errorf("the lock's end: audit actor %q (%v), want system", actor, err)
	}

	// (The security administrator's earlier unlock: TestConcurrentWrongPasswordsLockTheAccountOnce.)
}
