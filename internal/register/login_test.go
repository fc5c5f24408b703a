package register_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

func auditCount(t *testing.T, f *fixture, action string) int {
	t.Helper()
	var n int
	if err := f.st.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Wrong passwords sent all at once cannot race the lockout: the account is checked one attempt at
// a time, exactly MaxLoginFailures wrong passwords are ever checked, the lock is one audit record,
// the owner's tokens die with it and OnLocked hears of it once; the right password is then refused
// too, until the security administrator — and only they — unlocks.
func TestConcurrentWrongPasswordsLockTheAccountOnce(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	f.person(t, "li.ming", custody.Leader)
	secadmin := f.secadmin
	tok, _, err := f.reg.Login(ctx, "li.ming", "li.ming-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var told []string
	f.reg.OnLocked(func(u string) { mu.Lock(); told = append(told, u); mu.Unlock() })

	bad, locked := 0, 0
	// Rounds of eight at once until the account locks: on a loaded machine some wait longer than
	// LoginWait behind the others and are throttled, which is fine; what matters is the count.
	for round := 0; round < 40 && locked == 0; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := f.reg.LoginFrom(ctx, "", "li.ming", "wrong-password-x", time.Hour)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			switch {
			case errors.Is(err, register.ErrBadLogin):
				bad++
			case errors.Is(err, register.ErrLocked):
				locked++
			case errors.Is(err, register.ErrThrottled): // waited too long behind the others
			default:
				t.Fatalf("wrong password: got %v", err)
			}
		}
	}
	if bad != register.MaxLoginFailures || locked == 0 {
		t.Fatalf("got %d wrong passwords checked and %d refused as locked, want exactly %d checked, then locked", bad, locked, register.MaxLoginFailures)
	}
	if n := auditCount(t, f, "person.lock"); n != 1 {
		t.Errorf("got %d person.lock audit records, want 1", n)
	}
	if len(told) != 1 || told[0] != "li.ming" {
		t.Errorf("OnLocked heard %v, want li.ming once", told)
	}
	if _, err := f.reg.Authenticate(ctx, tok); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("the locked account's token still works: %v", err)
	}
	if _, _, err := f.reg.LoginFrom(ctx, "", "li.ming", "li.ming-password", time.Hour); !errors.Is(err, register.ErrLocked) {
		t.Fatalf("the right password on a locked account: got %v, want locked", err)
	}

	for _, who := range []register.Actor{f.admin, f.custodian, f.auditor} {
		if err := f.reg.Unlock(ctx, who, "li.ming"); code(err) != register.CodeForbidden {
			t.Errorf("%v unlocking: got %v, want forbidden", who.Roles, err)
		}
	}
	if n := auditCount(t, f, "person.unlock"); n != 0 {
		t.Fatalf("refused unlocks wrote %d audit records", n)
	}
	if err := f.reg.Unlock(ctx, secadmin, "li.ming"); err != nil {
		t.Fatalf("the security administrator unlocking: %v", err)
	}
	if _, _, err := f.reg.LoginFrom(ctx, "", "li.ming", "li.ming-password", time.Hour); err != nil {
		t.Fatalf("login after the unlock: %v", err)
	}
	if err := f.reg.Unlock(ctx, secadmin, "li.ming"); code(err) != register.CodeConflict {
		t.Errorf("unlocking an account that is not locked: got %v, want conflict", err)
	}
}

// One address that keeps guessing is refused without a password check once its bucket is empty;
// another address is not affected, and a right password from it gives its attempt back.
func TestAddressThatKeepsGuessingIsThrottled(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	stopped := time.Now()
	f.reg.SetClock(func() time.Time { return stopped }) // no refill while the checks run
	// Guess until refused, within bounds.
	throttled := false
	for i := 0; i < 2*register.AddrBurst && !throttled; i++ {
		_, _, err := f.reg.LoginFrom(ctx, "10.0.0.9", "nobody", "wrong-password-x", time.Hour)
		switch {
		case errors.Is(err, register.ErrThrottled):
			throttled = true
			if i < register.AddrBurst {
				t.Fatalf("throttled after %d attempts, want at least %d", i, register.AddrBurst)
			}
		case !errors.Is(err, register.ErrBadLogin):
			t.Fatalf("attempt %d: got %v, want a wrong login", i+1, err)
		}
	}
	if !throttled {
		t.Fatalf("%d wrong logins from one address were all checked", 2*register.AddrBurst)
	}
	start := time.Now()
	if _, _, err := f.reg.LoginFrom(ctx, "10.0.0.9", "admin", "admin-password-1", time.Hour); !errors.Is(err, register.ErrThrottled) {
		t.Fatalf("attempt past the burst: got %v, want throttled", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("a throttled attempt took %s: it must be refused before any password check", d)
	}
	for range 3 {
		if _, _, err := f.reg.LoginFrom(ctx, "10.0.0.10", "admin", "admin-password-1", time.Hour); err != nil {
			t.Fatalf("another address: %v", err)
		}
	}
}

// A password change revokes every other token of the person (a stolen one included); the session
// that made the change stays. Logout revokes the token used.
func TestPasswordChangeRevokesOtherTokensAndLogoutRevokesOwn(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	f.person(t, "li.ming", custody.Leader)
	a, _, err := f.reg.Login(ctx, "li.ming", "li.ming-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stolen, _, _ := f.reg.Login(ctx, "li.ming", "li.ming-password", time.Hour)
	me, err := f.reg.Authenticate(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.ChangePassword(ctx, me, "li.ming-password", "a-new-password-9"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Authenticate(ctx, stolen); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("another token works after the password change: %v", err)
	}
	me, err = f.reg.Authenticate(ctx, a)
	if err != nil {
		t.Fatalf("the session that changed the password was signed out: %v", err)
	}
	if err := f.reg.Logout(ctx, me); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Authenticate(ctx, a); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("the token works after logout: %v", err)
	}
	if n := auditCount(t, f, "person.logout"); n != 1 {
		t.Errorf("got %d person.logout audit records, want 1", n)
	}
}
