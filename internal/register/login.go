package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Login limits (docs/limits.md), shared by the API and the console, which both log in through
// LoginFrom:
//   - per address: a bucket of AddrBurst attempts refilled one per AddrEvery; each attempt takes
//     one and a successful login gives it back, so only wrong passwords (and unknown names) use it
//     up; an empty bucket is refused at once (429) without a password check;
//   - per account: one password check at a time (a second waits for the first, so twenty
//     simultaneous guesses are twenty checks one after the other, each seeing the count the one
//     before left), and MaxLoginFailures wrong passwords in a row lock the account for LockFor
//     (SetLoginLock) — audited, every token revoked, OnLocked told — after which it unlocks by
//     itself (audited, actor system); the security administrator may unlock it earlier;
//   - the lock does not shut the account's owner out: an address from which this account signed
//     in successfully within GoodFor still signs in with the right password (the lock is for
//     everyone else), so guesses from elsewhere cannot keep a person, the administrators
//     included, from working — they can only slow new places down;
//   - names that do not exist count failures too (in memory) and lock the same way with the same
//     answer, so neither "wrong password" nor "locked" tells whether a username exists;
//   - the argon2 pool (auth.Slots): a check that finds no slot within LoginWait is refused (429);
//     an address from which someone logged in successfully within GoodFor may also use the
//     reserved slot, so a flood of wrong logins from elsewhere does not keep a real user waiting.
const (
	AddrBurst        = 10
	AddrEvery        = 3 * time.Second
	MaxLoginFailures = 10
	LockFor          = 15 * time.Minute // default of SetLoginLock
	LoginWait        = 2 * time.Second
	GoodFor          = 24 * time.Hour
)

// CodeThrottled: too many attempts now; try again shortly (HTTP 429). CodeLocked: the account is
// locked after repeated wrong passwords (HTTP 403).
const (
	CodeThrottled = "throttled"
	CodeLocked    = "locked"
)

var (
	// ErrThrottled is a login refused before any check: too many attempts from the address, or
	// the password checks are busy.
	ErrThrottled = refuse(CodeThrottled, "登录尝试过于频繁，请稍后再试", "too many login attempts; try again shortly")
	// ErrLocked is a login to an account locked after repeated wrong passwords.
	// The same answer whether the username exists or not.
	ErrLocked = refuse(CodeLocked, "连续输错密码次数过多，该账户已被暂时锁定：请稍后再试，或请安全保密管理员解锁", "the account is locked for a while after repeated wrong passwords; try again later, or ask the security administrator to unlock it")
)

type loginGuard struct {
	mu    sync.Mutex
	addrs map[string]*bucket
	good  map[string]time.Time // addresses with a successful login, and when
	// known: username + "\x00" + address → when that account last signed in from there. A
	// locked account still admits its owner from such an address.
	known map[string]time.Time
	// nobody: failures of usernames that do not exist, so that they lock like real ones.
	nobody map[string]*failures
	// stripes serialise password checks per account (by a hash of the username): bounded
	// memory whatever names are tried.
	stripes [256]chan struct{}
}

type failures struct {
	n        int
	lockedAt time.Time // zero: not locked
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginGuard() *loginGuard {
	g := &loginGuard{addrs: map[string]*bucket{}, good: map[string]time.Time{}, known: map[string]time.Time{}, nobody: map[string]*failures{}}
	for i := range g.stripes {
		g.stripes[i] = make(chan struct{}, 1)
	}
	return g
}

// allow takes one attempt from addr's bucket; trusted is true when a login from addr succeeded
// within GoodFor, which earns the reserved hashing slot (attackers never get there).
func (g *loginGuard) allow(addr string, now time.Time) (ok, trusted bool) {
	if addr == "" {
		return true, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	trusted = now.Sub(g.good[addr]) < GoodFor
	b := g.addrs[addr]
	if b == nil {
		if len(g.addrs) > 50_000 { // bound memory under a flood of addresses
			clear(g.addrs)
		}
		b = &bucket{tokens: AddrBurst, at: now}
		g.addrs[addr] = b
	}
	b.tokens = min(AddrBurst, b.tokens+now.Sub(b.at).Seconds()/AddrEvery.Seconds())
	b.at = now
	if b.tokens < 1 {
		return false, false
	}
	b.tokens--
	return true, trusted
}

// succeeded gives back addr's attempt after a successful login and remembers addr as good, and
// as a known address of username.
func (g *loginGuard) succeeded(addr, username string, now time.Time) {
	if addr == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if b := g.addrs[addr]; b != nil {
		b.tokens = min(AddrBurst, b.tokens+1)
	}
	if len(g.good) > 10_000 {
		clear(g.good)
	}
	g.good[addr] = now
	if len(g.known) > 50_000 {
		clear(g.known)
	}
	g.known[username+"\x00"+addr] = now
}

// knownAddress reports whether username signed in successfully from addr within GoodFor. A
// local caller without an address ("") is never known: it has no place to be known by.
func (g *loginGuard) knownAddress(username, addr string, now time.Time) bool {
	if addr == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.known[username+"\x00"+addr]
	return ok && now.Sub(at) < GoodFor
}

// nobodyLocked reports whether the nonexistent username is locked now (forgetting an expired lock).
func (g *loginGuard) nobodyLocked(username string, now time.Time, lockFor time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.nobody[username]
	if f == nil || f.lockedAt.IsZero() {
		return false
	}
	if now.Sub(f.lockedAt) >= lockFor {
		delete(g.nobody, username)
		return false
	}
	return true
}

// nobodyFailed counts a failure of a nonexistent username; it reports whether this one locked it.
func (g *loginGuard) nobodyFailed(username string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.nobody[username]
	if f == nil {
		if len(g.nobody) > 10_000 { // bound memory against a flood of invented names
			clear(g.nobody)
		}
		f = &failures{}
		g.nobody[username] = f
	}
	f.n++
	if f.n >= MaxLoginFailures && f.lockedAt.IsZero() {
		f.lockedAt = now
		return true
	}
	return false
}

// account takes the stripe of username, waiting at most wait; release gives it back.
func (g *loginGuard) account(ctx context.Context, username string, wait time.Duration) (release func(), ok bool) {
	h := fnv.New32a()
	h.Write([]byte(username))
	s := g.stripes[h.Sum32()%uint32(len(g.stripes))]
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return func() { <-s }, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// SetLoginLock sets how long an account stays locked after MaxLoginFailures wrong passwords
// before it unlocks by itself ([http] login_lock); 0 keeps LockFor. Call it before serving.
func (r *Register) SetLoginLock(d time.Duration) { r.lockFor = d }

func (r *Register) loginLock() time.Duration {
	if r.lockFor > 0 {
		return r.lockFor
	}
	return LockFor
}

// OnLocked, if set, is told when an account is locked after repeated wrong passwords (custodyd
// raises an alert for the security administrator). It must return quickly.
func (r *Register) OnLocked(f func(username string)) { r.onLocked = f }

// LoginFrom is Login with the limits above; addr is the client's address ("" for none, e.g. a
// local tool). The API logs in through it, the console through ConsoleLoginFrom: the same
// limits, a sign-in of the console's kind.
func (r *Register) LoginFrom(ctx context.Context, addr, username, password string, ttl time.Duration) (string, Actor, error) {
	return r.loginFrom(ctx, signIn{client: apitype.ClientAPI, remote: addr}, username, password, ttl)
}

// ConsoleLoginFrom is LoginFrom for the console: the token it returns is the browser's cookie,
// accepted by AuthenticateConsole only.
func (r *Register) ConsoleLoginFrom(ctx context.Context, addr, username, password string, ttl time.Duration) (string, Actor, error) {
	return r.loginFrom(ctx, signIn{client: apitype.ClientConsole, remote: addr}, username, password, ttl)
}

func (r *Register) loginFrom(ctx context.Context, via signIn, username, password string, ttl time.Duration) (string, Actor, error) {
	addr := via.remote
	ok, trusted := r.guard.allow(addr, r.now())
	if !ok {
		r.log.Warn("login throttled", "remote", addr, "username", username)
		return "", Actor{}, ErrThrottled
	}
	release, ok := r.guard.account(ctx, username, LoginWait)
	if !ok {
		return "", Actor{}, ErrThrottled
	}
	defer release()
	if err := r.loginLocked(ctx, addr, username); err != nil {
		return "", Actor{}, err
	}
	lane := auth.General
	if trusted {
		lane = auth.Trusted
	}
	token, a, err := r.login(ctx, via, username, password, ttl, lane, LoginWait)
	switch {
	case errors.Is(err, auth.ErrBusy):
		return "", Actor{}, ErrThrottled
	case errors.Is(err, ErrBadLogin):
		if lerr := r.loginFailed(ctx, username, addr); lerr != nil {
			r.log.Error("record a failed login", "username", username, "err", lerr)
		}
		return "", Actor{}, err
	case err != nil:
		return "", Actor{}, err
	}
	r.guard.succeeded(addr, username, r.now())
	if err := r.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE people SET failed_logins = 0 WHERE id = ? AND failed_logins <> 0`, a.ID)
		return err
	}); err != nil {
		r.log.Error("reset failed logins", "username", username, "err", err)
	}
	return token, a, nil
}

// loginLocked refuses a login to a locked account (ErrLocked, the same for a username that does
// not exist), except from an address the account signed in from within GoodFor. A lock older
// than the lock time is lifted here, audited as the system's step.
func (r *Register) loginLocked(ctx context.Context, addr, username string) error {
	now := r.now()
	var id int64
	var locked sql.NullString
	err := r.st.DB().QueryRowContext(ctx, `SELECT id, locked_at FROM people WHERE username = ?`, username).Scan(&id, &locked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if r.guard.nobodyLocked(username, now, r.loginLock()) {
			return ErrLocked
		}
		return nil
	case err != nil:
		return storeErr("login", err)
	case !locked.Valid:
		return nil
	}
	at, perr := store.ParseTime(locked.String)
	if perr == nil && now.Sub(at) >= r.loginLock() {
		err := r.st.Change(ctx, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE people SET locked_at = NULL, failed_logins = 0 WHERE id = ? AND locked_at = ?`, id, locked.String)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return errUnchangedLogin // someone unlocked it meanwhile
			}
			return tx.Audit(store.Entry{Actor: "system", Action: "person.unlock", Subject: fmt.Sprintf("person:%d", id),
				Before: map[string]string{"locked_at": locked.String}, After: map[string]string{"reason": "lock time over (" + r.loginLock().String() + ")"}})
		})
		if err != nil && !errors.Is(err, errUnchangedLogin) {
			return storeErr("lift an expired login lock", err)
		}
		r.log.Info("account unlocked: lock time over", "username", username)
		return nil
	}
	if r.guard.knownAddress(username, addr, now) {
		return nil // its owner, from where they signed in before
	}
	return ErrLocked
}

// loginFailed counts a wrong password (of an existing account, or of a name that does not
// exist) and locks it at the limit.
func (r *Register) loginFailed(ctx context.Context, username, addr string) error {
	var id int64
	var n int
	err := r.st.Write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE people SET failed_logins = failed_logins + 1 WHERE username = ? RETURNING id, failed_logins`, username).Scan(&id, &n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		// No such account: it locks like one, so the answers do not tell names apart.
		if r.guard.nobodyFailed(username, r.now()) {
			r.log.Warn("login to a nonexistent account locked after repeated attempts", "username", custody.Clip(username, 64), "remote", addr)
		}
		return nil
	}
	if err != nil || n < MaxLoginFailures {
		return err
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE people SET locked_at = ? WHERE id = ? AND locked_at IS NULL`, store.FormatTime(r.now()), id)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errUnchangedLogin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE person_id = ?`, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: "system", Action: "person.lock", Subject: fmt.Sprintf("person:%d", id),
			After: map[string]any{"username": username, "failed_logins": n, "remote": addr, "until": store.FormatTime(r.now().Add(r.loginLock()))}})
	})
	if errors.Is(err, errUnchangedLogin) {
		return nil
	}
	if err != nil {
		return err
	}
	r.log.Warn("account locked after repeated wrong passwords", "username", username, "failed", n, "remote", addr)
	if r.onLocked != nil {
		r.onLocked(username)
	}
	return nil
}

var errUnchangedLogin = errors.New("unchanged")

var unlockPeople = custody.Text{ZH: "解锁账户", EN: "unlock an account"}

// Unlock lifts a lock after repeated wrong passwords. Only the security administrator unlocks;
// it is audited.
func (r *Register) Unlock(ctx context.Context, a Actor, username string) error {
	if err := need(a, unlockPeople, custody.SecAdmin); err != nil {
		return err
	}
	return storeErr("unlock "+username, r.st.Change(ctx, func(tx *store.Tx) error {
		var id int64
		var locked sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, locked_at FROM people WHERE username = ?`, username).Scan(&id, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(CodeNotFound, "用户 %q 不存在", "no person %q", username)
		} else if err != nil {
			return err
		}
		if !locked.Valid {
			return refuse(CodeConflict, "用户 %q 未被锁定", "person %q is not locked", username)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE people SET locked_at = NULL, failed_logins = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.unlock", Subject: fmt.Sprintf("person:%d", id), Before: map[string]string{"locked_at": locked.String}})
	}))
}

// Logout revokes the token the actor authenticated with (API logout).
func (r *Register) Logout(ctx context.Context, a Actor) error {
	if a.token == "" {
		return refuse(CodeInvalid, "没有可注销的令牌", "no token to log out")
	}
	return storeErr("logout", r.st.Change(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, a.token); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.logout", Subject: fmt.Sprintf("person:%d", a.ID)})
	}))
}
