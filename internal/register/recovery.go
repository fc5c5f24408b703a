package register

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// ResetAdmin is the way back from a lost administrator password (custodyd reset-admin): run on
// the server by whoever can read the data directory — the same person could copy the database —
// it gives the administrator account a new one-time password that must be changed at the first
// login, ends every token of that account, and records who did it from where in the audit chain
// (actor "local:<os user>", action person.reset_password). Only a 系统管理员 (admin) account can
// be reset this way; other people get new passwords from their administrator.
func (r *Register) ResetAdmin(ctx context.Context, username, osUser string) (string, error) {
	var id int64
	var roles string
	err := r.st.DB().QueryRowContext(ctx, `SELECT p.id, (SELECT coalesce(string_agg(role, ',' ORDER BY role), '') FROM person_roles WHERE person_id = p.id)
		FROM people p WHERE p.username = ?`, username).Scan(&id, &roles)
	if err == sql.ErrNoRows {
		return "", refuse(CodeNotFound, "人员 %q 不存在", "person %q does not exist", username)
	}
	if err != nil {
		return "", storeErr("reset admin", err)
	}
	if !slices.Contains(parseRoles(roles), custody.Admin) {
		return "", refuse(CodeForbidden, "%q 不是系统管理员：只有系统管理员的密码可以在服务器上重置，其他人员请由系统管理员重置", "%q is not an administrator: only an administrator's password can be reset on the server; others get theirs from an administrator", username)
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return "", err
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE people SET password_hash = ?, must_change_password = 1 WHERE id = ?`, hash, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE person_id = ?`, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: "local:" + osUser, Action: "person.reset_password", Subject: fmt.Sprintf("person:%d", id),
			After: map[string]any{"username": username, "how": "custodyd reset-admin on the server"}})
	})
	if err != nil {
		return "", storeErr("reset admin", err)
	}
	return pw, nil
}
