package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Sign-ins (issue 21 point 10). Every sign-in is a row of table tokens: an API bearer token
// (custodyctl) or a console session, whose secret is the browser's cookie. Only the secret's
// SHA-256 is stored, so a copy of the database signs nobody in. Because the row is the session,
// a console session survives a restart of custodyd and is honoured by every custodyd on the same
// database, with its one-shot message (the flash) beside it; a sign-in's kind is checked, so a
// copied cookie does not open the API nor a bearer token the console. Expiry is checked at every
// request; expired rows are removed at the next sign-in. The security administrator lists the
// live sign-ins (who, through what, since when, last seen when and from where) and ends one or
// all of a person's: audited as person.signout. Anyone else is refused, and the refusal audited
// by the caller (the API's router, the console's page wrapper) through AuditRefusal.

type (
	SignIn  = apitype.SignIn
	Revoked = apitype.Revoked
)

var (
	listSignIns = custody.Text{ZH: "查看登录会话", EN: "list sign-ins"}
	endSignIns  = custody.Text{ZH: "强制下线", EN: "end sign-ins"}
	readLocks   = custody.Text{ZH: "查看被锁定的账户", EN: "list locked accounts"}
)

// seenEvery bounds how often a sign-in's last-seen time is written: a console polling its live
// parts must not make a write of every request.
const seenEvery = time.Minute

// signIn is how a sign-in is made: through what, from where.
type signIn struct{ client, remote string }

func (s signIn) insert(ctx context.Context, tx *store.Tx, digest string, person int64, now time.Time, ttl time.Duration) error {
	// Sign-ins expired an hour ago or more go (an hour, because stored times compare as text
	// only to the second): nothing else removes a token nobody logged out of.
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, store.FormatTime(now.Add(-time.Hour))); err != nil {
		return err
	}
	at := store.FormatTime(now)
	_, err := tx.ExecContext(ctx, `INSERT INTO tokens(hash, person_id, client, remote, created_at, expires_at, seen_at) VALUES (?,?,?,?,?,?,?)`,
		digest, person, s.client, custody.Clip(s.remote, 100), at, store.FormatTime(now.Add(ttl)), at)
	return err
}

// audited is what a login's audit record says of it.
func (s signIn) audited() map[string]string {
	m := map[string]string{"client": s.client}
	if s.remote != "" {
		m["remote"] = custody.Clip(s.remote, 100)
	}
	return m
}

// AuthenticateConsole resolves a console session's cookie to its person; addr is the browser's
// address, noted as the session's latest (at most once a minute, or when it changes).
func (r *Register) AuthenticateConsole(ctx context.Context, cookie, addr string) (Actor, error) {
	return r.authenticate(ctx, apitype.ClientConsole, cookie, addr)
}

func (r *Register) authenticate(ctx context.Context, client, token, addr string) (Actor, error) {
	var (
		a                     Actor
		expires, seen, remote string
		active                bool
	)
	digest := auth.TokenDigest(token)
	err := r.st.DB().QueryRowContext(ctx, `SELECT p.id, p.username, p.active, p.must_change_password, t.expires_at, t.seen_at, t.remote
		FROM tokens t JOIN people p ON p.id = t.person_id WHERE t.hash = ? AND t.client = ?`, digest, client).
		Scan(&a.ID, &a.Username, &active, &a.MustChangePassword, &expires, &seen, &remote)
	if errors.Is(err, sql.ErrNoRows) {
		return Actor{}, ErrBadToken
	}
	if err != nil {
		return Actor{}, storeErr("authenticate", err)
	}
	now := time.Now()
	if exp, err := store.ParseTime(expires); err != nil || now.After(exp) || !active {
		return Actor{}, ErrBadToken
	}
	a.token = digest
	addr = custody.Clip(addr, 100)
	if at, err := store.ParseTime(seen); err != nil || now.Sub(at) >= seenEvery || (addr != "" && addr != remote) {
		if addr == "" {
			addr = remote
		}
		if err := r.st.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET seen_at = ?, remote = ? WHERE hash = ?`, store.FormatTime(now), addr, digest)
			return err
		}); err != nil {
			r.log.Warn("note a sign-in's latest request", "username", a.Username, "err", err) // the request itself goes on
		}
	}
	a.Roles, err = r.roles(ctx, a.ID)
	return a, err
}

// SetFlash keeps msg (already in the person's language) for the next page the console session
// shows; a later one replaces it.
func (r *Register) SetFlash(ctx context.Context, cookie, msg string) error {
	return storeErr("keep a message for the next page", r.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET flash = ? WHERE hash = ? AND client = ?`, custody.Clip(msg, 2000), auth.TokenDigest(cookie), apitype.ClientConsole)
		return err
	}))
}

// TakeFlash returns the console session's kept message once ("" for none). Two custodyd
// answering the same browser at once hand it to one of them only.
func (r *Register) TakeFlash(ctx context.Context, cookie string) (string, error) {
	digest := auth.TokenDigest(cookie)
	var msg sql.NullString
	err := r.st.DB().QueryRowContext(ctx, `SELECT flash FROM tokens WHERE hash = ? AND client = ?`, digest, apitype.ClientConsole).Scan(&msg)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !msg.Valid) {
		return "", nil // the common case costs a read, never a write
	}
	if err != nil {
		return "", storeErr("read the message for this page", err)
	}
	// Taken only if still the same message (RETURNING would give the cleared value).
	var took int64
	err = r.st.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET flash = NULL WHERE hash = ? AND flash = ?`, digest, msg.String)
		if err == nil {
			took, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return "", storeErr("take the message for this page", err)
	}
	if took == 0 {
		return "", nil // another request took it
	}
	return msg.String, nil
}

// SignIns lists the live sign-ins, of one person (username) or of everyone (""), the latest
// seen first. Only the security administrator.
func (r *Register) SignIns(ctx context.Context, a Actor, username string) ([]SignIn, error) {
	if err := need(a, listSignIns, custody.SecAdmin); err != nil {
		return nil, err
	}
	if username != "" {
		if _, err := r.personID(ctx, r.st.DB(), username); err != nil {
			return nil, err
		}
	}
	rows, err := r.st.DB().QueryContext(ctx, `SELECT t.id, p.username, p.name, p.active, t.client, t.remote, t.created_at, t.seen_at, t.expires_at
		FROM tokens t JOIN people p ON p.id = t.person_id WHERE ? = '' OR p.username = ?`, username, username)
	if err != nil {
		return nil, storeErr("list sign-ins", err)
	}
	defer rows.Close()
	now := time.Now()
	out := []SignIn{}
	for rows.Next() {
		var (
			s                    SignIn
			active               bool
			since, seen, expires string
		)
		if err := rows.Scan(&s.ID, &s.Username, &s.Name, &active, &s.Client, &s.Remote, &since, &seen, &expires); err != nil {
			return nil, storeErr("list sign-ins", err)
		}
		s.Since, _ = store.ParseTime(since)
		s.SeenAt, _ = store.ParseTime(seen)
		s.Expires, _ = store.ParseTime(expires)
		if !active || now.After(s.Expires) {
			continue // refused at its next request already
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list sign-ins", err)
	}
	slices.SortFunc(out, func(x, y SignIn) int {
		if c := y.SeenAt.Compare(x.SeenAt); c != 0 {
			return c
		}
		return int(y.ID - x.ID)
	})
	return out, nil
}

// personID finds a person by username, refusing an unknown one.
func (r *Register) personID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, username string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM people WHERE username = ?`, username).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, refuse(CodeNotFound, "用户 %q 不存在", "no person %q", custody.Clip(username, 64))
	}
	return id, storeErr("find "+username, err)
}

// RevokeSignIn ends one sign-in (its id from SignIns): its next request is refused, wherever it
// comes from. Only the security administrator; audited.
func (r *Register) RevokeSignIn(ctx context.Context, a Actor, id int64) (Revoked, error) {
	if err := need(a, endSignIns, custody.SecAdmin); err != nil {
		return Revoked{}, err
	}
	var out Revoked
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var person int64
		var client, remote string
		err := tx.QueryRowContext(ctx, `SELECT t.person_id, p.username, t.client, t.remote FROM tokens t JOIN people p ON p.id = t.person_id WHERE t.id = ?`, id).
			Scan(&person, &out.Username, &client, &remote)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(CodeNotFound, "没有编号为 %d 的登录会话（可能已退出或已过期）", "no sign-in %d (signed out or expired)", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id); err != nil {
			return err
		}
		out.Count = 1
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.signout", Subject: fmt.Sprintf("person:%d", person),
			Before: map[string]any{"sign_in": id, "client": client, "remote": remote}})
	})
	return out, storeErr("end a sign-in", err)
}

// RevokeSignIns ends every sign-in of the person, console and API alike. Only the security
// administrator; audited (with how many ended) when there was one to end.
func (r *Register) RevokeSignIns(ctx context.Context, a Actor, username string) (Revoked, error) {
	if err := need(a, endSignIns, custody.SecAdmin); err != nil {
		return Revoked{}, err
	}
	out := Revoked{Username: username}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		person, err := r.personID(ctx, tx, username)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE person_id = ?`, person)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if out.Count = int(n); n == 0 {
			return nil
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.signout", Subject: fmt.Sprintf("person:%d", person),
			Before: map[string]any{"sign_ins": n, "all": true}})
	})
	return out, storeErr("end "+custody.Clip(username, 64)+"'s sign-ins", err)
}

// Lockout is an account locked after repeated wrong passwords.
type Lockout struct {
	Username string
	Name     string
	LockedAt time.Time
	Until    time.Time // when it unlocks by itself
}

// Lockouts lists the accounts locked now, for the security administrator, who unlocks them.
func (r *Register) Lockouts(ctx context.Context, a Actor) ([]Lockout, error) {
	if err := need(a, readLocks, custody.SecAdmin); err != nil {
		return nil, err
	}
	rows, err := r.st.DB().QueryContext(ctx, `SELECT username, name, locked_at FROM people WHERE locked_at IS NOT NULL ORDER BY username`)
	if err != nil {
		return nil, storeErr("list locked accounts", err)
	}
	defer rows.Close()
	var out []Lockout
	now := r.now()
	for rows.Next() {
		var l Lockout
		var at string
		if err := rows.Scan(&l.Username, &l.Name, &at); err != nil {
			return nil, storeErr("list locked accounts", err)
		}
		l.LockedAt, _ = store.ParseTime(at)
		l.Until = l.LockedAt.Add(r.loginLock())
		if now.Before(l.Until) { // a lock past its time is lifted at the next attempt
			out = append(out, l)
		}
	}
	return out, storeErr("list locked accounts", rows.Err())
}

// What a sign-in is for (apitype.ClientAPI, apitype.ClientConsole).
const (
	ClientAPI     = apitype.ClientAPI
	ClientConsole = apitype.ClientConsole
)
