package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	NewPerson = apitype.NewPerson
	Person    = apitype.Person
	Unit      = apitype.Unit
)

var (
	manageUnits  = custody.Text{ZH: "管理单位", EN: "manage units"}
	managePeople = custody.Text{ZH: "管理人员账号", EN: "manage people"}
)

// AddUnit registers a unit. Admins manage the organisation's structure.
func (r *Register) AddUnit(ctx context.Context, a Actor, u Unit) (Unit, error) {
	if err := need(a, manageUnits, custody.Admin); err != nil {
		return Unit{}, err
	}
	if err := clean(code("code", &u.Code, false), text("name", &u.Name, custody.MaxName, false)); err != nil {
		return Unit{}, err
	}
	if u.Code == "" || u.Name == "" {
		return Unit{}, refuse(CodeInvalid, "单位需要代码和名称", "a unit needs a code and a name")
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var parent sql.NullInt64
		if u.Parent != "" {
			id, err := r.unitID(ctx, tx, u.Parent)
			if err != nil {
				return err
			}
			parent = nullID(id)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO units(code, name, parent_id, created_at) VALUES (?,?,?,?) RETURNING id`, u.Code, u.Name, parent, store.Now()).Scan(&u.ID)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "单位代码 %q 已存在", "unit code %q already exists", u.Code)
		}
		if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "unit.add", Subject: fmt.Sprintf("unit:%d", u.ID), After: u})
	})
	return u, storeErr("add unit", err)
}

// Units lists all units.
func (r *Register) Units(ctx context.Context, a Actor) ([]Unit, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT u.id, u.code, u.name, coalesce(pu.code, '') FROM units u LEFT JOIN units pu ON pu.id = u.parent_id ORDER BY u.code`)
	if err != nil {
		return nil, storeErr("list units", err)
	}
	defer rows.Close()
	var out []Unit
	for rows.Next() {
		var u Unit
		if err := rows.Scan(&u.ID, &u.Code, &u.Name, &u.Parent); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (r *Register) unitID(ctx context.Context, q querier, code string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM units WHERE code = ?`, code).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, refuse(CodeNotFound, "单位 %q 不存在", "unit %q does not exist", code)
	}
	return id, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// AddPerson creates an account (the system administrator's task). Its password — generated and
// returned when none is given — is one-time: it must be changed at the first sign-in. The
// administrator grants no business role (三员): roles come from the security administrator
// (Grant). Only the 三员 accounts that nobody could grant yet — the first security
// administrator and the first security auditor — are created with their role.
func (r *Register) AddPerson(ctx context.Context, a Actor, np NewPerson) (Person, string, error) {
	if err := need(a, managePeople, custody.Admin); err != nil {
		return Person{}, "", err
	}
	for _, role := range np.Roles {
		if role != custody.SecAdmin && role != custody.Auditor {
			return Person{}, "", refuseT(CodeForbidden,
				fmt.Sprintf("系统管理员不能授予角色“%s”：账号创建后，由安全保密管理员授予业务角色（custodyctl person grant）", role.Text().ZH),
				fmt.Sprintf("the system administrator cannot grant the role %q: once the account exists, the security administrator grants it (custodyctl person grant)", role))
		}
		var n int
		if err := r.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM person_roles pr JOIN people p ON p.id = pr.person_id WHERE pr.role = ? AND p.active = 1`, role).Scan(&n); err != nil {
			return Person{}, "", storeErr("add person", err)
		}
		if n > 0 {
			return Person{}, "", refuseT(CodeForbidden,
				fmt.Sprintf("已有%s：再增设须由安全保密管理员授予该角色", role.Text().ZH),
				fmt.Sprintf("there is a %s already: another one is granted by the security administrator", role))
		}
	}
	return r.addPerson(ctx, a.Username, np, true)
}

func (r *Register) addPerson(ctx context.Context, actor string, np NewPerson, oneTimeAlways bool) (Person, string, error) {
	np.Username = strings.TrimSpace(np.Username)
	if err := clean(text("name（姓名）", &np.Name, custody.MaxName, false)); err != nil {
		return Person{}, "", err
	}
	if np.Username == "" || np.Name == "" || strings.ContainsAny(np.Username, " \t\n:") {
		return Person{}, "", refuse(CodeInvalid, "人员需要用户名（不含空格和冒号）和姓名", "a person needs a username (no spaces or colons) and a name")
	}
	if err := custody.CheckUsername(np.Username); err != nil {
		return Person{}, "", invalidText(err)
	}
	if err := custody.CheckRoles(np.Roles); err != nil && len(np.Roles) > 0 {
		return Person{}, "", &Error{Code: CodeInvalid, Text: custody.Text{ZH: "角色不符合三员分立要求：" + err.Error(), EN: "roles refused: " + err.Error()}, Err: err}
	}
	oneTime := ""
	if np.Password == "" {
		oneTime = auth.RandomPassword()
		np.Password = oneTime
	}
	hash, err := auth.HashPassword(np.Password)
	if err != nil {
		return Person{}, "", refuse(CodeInvalid, "密码至少 %d 个字符", "password too short: at least %d characters", auth.MinPasswordLen)
	}
	p := Person{Username: np.Username, Name: np.Name, Unit: np.Unit, Roles: np.Roles, Active: true}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		var unit any
		if np.Unit != "" {
			id, err := r.unitID(ctx, tx, np.Unit)
			if err != nil {
				return err
			}
			unit = id
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO people(username, name, unit_id, password_hash, must_change_password, created_at) VALUES (?,?,?,?,?,?) RETURNING id`,
			p.Username, p.Name, unit, hash, oneTime != "" || oneTimeAlways, store.Now()).Scan(&p.ID)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "用户名 %q 已存在", "username %q already exists", p.Username)
		}
		if err != nil {
			return err
		}
		for _, role := range p.Roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO person_roles(person_id, role) VALUES (?,?)`, p.ID, role); err != nil {
				return err
			}
		}
		return tx.Audit(store.Entry{Actor: actor, Action: "person.add", Subject: fmt.Sprintf("person:%d", p.ID), After: p})
	})
	if err != nil {
		return Person{}, "", storeErr("add person", err)
	}
	return p, oneTime, nil
}

// Bootstrap creates the first administrator when nobody exists yet. password may be empty, in
// which case a one-time password is generated; a password given here was chosen by the installer
// for themselves (CUSTODY_ADMIN_PASSWORD) and is not forced to change. It returns the password, or "" if people exist.
func (r *Register) Bootstrap(ctx context.Context, username, password string) (string, error) {
	var n int
	if err := r.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM people`).Scan(&n); err != nil {
		return "", storeErr("count people", err)
	}
	if n > 0 {
		return "", nil
	}
	_, oneTime, err := r.addPerson(ctx, "system", NewPerson{Username: username, Name: "系统管理员", Roles: []custody.Role{custody.Admin}, Password: password}, false)
	if err != nil {
		return "", err
	}
	if password != "" {
		return password, nil
	}
	return oneTime, nil
}

// People lists accounts.
func (r *Register) People(ctx context.Context, a Actor) ([]Person, error) {
	rows, err := r.st.DB().QueryContext(ctx, `
		SELECT p.id, p.username, p.name, coalesce(u.code, ''), p.active, coalesce(string_agg(pr.role, ',' ORDER BY pr.role), '')
		FROM people p LEFT JOIN units u ON u.id = p.unit_id LEFT JOIN person_roles pr ON pr.person_id = p.id
		GROUP BY p.id, u.code ORDER BY p.username`)
	if err != nil {
		return nil, storeErr("list people", err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		var roles string
		if err := rows.Scan(&p.ID, &p.Username, &p.Name, &p.Unit, &p.Active, &roles); err != nil {
			return nil, err
		}
		p.Roles = parseRoles(roles)
		out = append(out, p)
	}
	return out, rows.Err()
}

func parseRoles(s string) []custody.Role {
	var out []custody.Role
	for _, r := range strings.Split(s, ",") {
		if r != "" {
			out = append(out, custody.Role(r))
		}
	}
	return out
}

// ErrBadLogin is a wrong username or password; the two are not told apart.
var ErrBadLogin = refuse(CodeForbidden, "用户名或密码错误", "wrong username or password")

// Login checks a password and issues a bearer token valid for ttl.
func (r *Register) Login(ctx context.Context, username, password string, ttl time.Duration) (string, Actor, error) {
	return r.login(ctx, signIn{client: apitype.ClientAPI}, username, password, ttl, auth.General, 0)
}

// login checks the password waiting at most wait for a hashing slot (0: as long as it takes;
// auth.ErrBusy otherwise).
func (r *Register) login(ctx context.Context, via signIn, username, password string, ttl time.Duration, lane auth.Lane, wait time.Duration) (string, Actor, error) {
	var (
		a      Actor
		hash   string
		active bool
	)
	err := r.st.DB().QueryRowContext(ctx, `SELECT id, username, password_hash, active FROM people WHERE username = ?`, username).Scan(&a.ID, &a.Username, &hash, &active)
	if err == sql.ErrNoRows {
		// Spend the same time as a real check so timing does not reveal which usernames exist.
		if err := r.pool.Check(ctx, lane, wait, dummyHash(), password); errors.Is(err, auth.ErrBusy) {
			return "", Actor{}, err
		}
		return "", Actor{}, ErrBadLogin
	}
	if err != nil {
		return "", Actor{}, storeErr("login", err)
	}
	if err := r.pool.Check(ctx, lane, wait, hash, password); errors.Is(err, auth.ErrBusy) {
		return "", Actor{}, err
	} else if err != nil || !active {
		return "", Actor{}, ErrBadLogin
	}
	token, digest := auth.NewToken()
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		now := time.Now()
		if err := via.insert(ctx, tx, digest, a.ID, now, ttl); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.login", Subject: fmt.Sprintf("person:%d", a.ID), After: via.audited()})
	})
	if err != nil {
		return "", Actor{}, storeErr("login", err)
	}
	a.Roles, err = r.roles(ctx, a.ID)
	return token, a, err
}

// dummyHash is made on first use, not when the package loads: custodyctl still links this package
// for its JSON types (issue 17), and every custodyctl call paid ≈230 ms and 64 MiB of argon2 at
// start for a hash only custodyd's login ever needs.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("not-a-real-password-ever")
	return h
})

// Authenticate resolves an API bearer token to its person. A console's cookie is no bearer
// token (AuthenticateConsole): a copied cookie must not open the API.
func (r *Register) Authenticate(ctx context.Context, token string) (Actor, error) {
	return r.authenticate(ctx, apitype.ClientAPI, token, "")
}

// ErrBadToken is a missing, unknown or expired token.
var ErrBadToken = refuse(CodeForbidden, "登录已失效，请重新登录", "not logged in or the session expired — log in again")

func (r *Register) roles(ctx context.Context, id int64) ([]custody.Role, error) {
	var roles string
	err := r.st.DB().QueryRowContext(ctx, `SELECT coalesce(string_agg(role, ',' ORDER BY role), '') FROM person_roles WHERE person_id = ?`, id).Scan(&roles)
	return parseRoles(roles), err
}

// ChangePassword sets a new password after checking the old one.
func (r *Register) ChangePassword(ctx context.Context, a Actor, old, new string) error {
	var hash string
	if err := r.st.DB().QueryRowContext(ctx, `SELECT password_hash FROM people WHERE id = ?`, a.ID).Scan(&hash); err != nil {
		return storeErr("change password", err)
	}
	if err := auth.CheckPassword(hash, old); err != nil {
		return ErrBadLogin
	}
	nh, err := auth.HashPassword(new)
	if err != nil {
		return refuse(CodeInvalid, "密码至少 %d 个字符", "password too short: at least %d characters", auth.MinPasswordLen)
	}
	return storeErr("change password", r.st.Change(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE people SET password_hash = ?, must_change_password = 0 WHERE id = ?`, nh, a.ID); err != nil {
			return err
		}
		// Every other token of the person dies with the old password (a stolen one included);
		// the session making the change stays signed in.
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE person_id = ? AND hash <> ?`, a.ID, a.token); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.password", Subject: fmt.Sprintf("person:%d", a.ID)})
	}))
}
