package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Badges: the card a person shows at the desk. Its code is scanned into a handover session; the
// PIN typed on the desk confirms that the person is really there and agrees (the counterpart's
// signature on the handover).

var manageBadges = custody.Text{ZH: "发放工作证", EN: "issue badges"}

// pinPepper prefixes a PIN before hashing: auth.HashPassword refuses secrets shorter than a
// password, and a PIN is short by design. The prefix only lengthens the input — the protection is
// argon2id's cost and the random salt, as for passwords.
const pinPepper = "custody-badge-pin:"

// IssueBadge gives a person a badge, replacing any earlier badge. Admins issue badges, as they
// manage accounts; the badge has no PIN until its holder chooses one (SetBadgePIN, or at its
// first use at a desk), so nobody but the holder knows the signature.
func (r *Register) IssueBadge(ctx context.Context, a Actor, username, code string) error {
	if err := need(a, manageBadges, custody.Admin); err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" || strings.ContainsAny(code, " \t\n") || isDigits(code) {
		// A code of digits only would read like a typed item number at the desk.
		return refuse(CodeInvalid, "工作证编码 %q 无效：不能为空、不含空格、不能全是数字", "badge code %q is invalid: not empty, no spaces, not digits only", code)
	}
	return storeErr("issue badge", r.st.Change(ctx, func(tx *store.Tx) error {
		p, err := personByName(ctx, tx, username)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO badges(person_id, code, pin_hash, issued_at) VALUES (?,?,'',?)
			ON CONFLICT(person_id) DO UPDATE SET code = excluded.code, pin_hash = '', issued_at = excluded.issued_at, failed_pins = 0`, p.ID, code, store.Now())
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "工作证编码 %q 已发给他人", "badge code %q belongs to someone else", code)
		} else if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "badge.issue", Subject: fmt.Sprintf("person:%d", p.ID), After: map[string]string{"badge": code}})
	}))
}

// ResetBadge clears a badge's PIN (forgotten, or locked after wrong PINs): the badge signs
// nothing until its holder chooses a new PIN. An administrator can reset a PIN, never set one.
func (r *Register) ResetBadge(ctx context.Context, a Actor, username string) error {
	if err := need(a, custody.Text{ZH: "重置工作证", EN: "reset badges"}, custody.Admin); err != nil {
		return err
	}
	return storeErr("reset badge", r.st.Change(ctx, func(tx *store.Tx) error {
		p, err := personByName(ctx, tx, username)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE badges SET pin_hash = '', failed_pins = 0 WHERE person_id = ?`, p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refuse(CodeNotFound, "%s 没有工作证", "%s has no badge", username)
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "badge.reset", Subject: fmt.Sprintf("person:%d", p.ID)})
	}))
}

func validPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 || !isDigits(pin) {
		return refuse(CodeInvalid, "PIN 须为 4 到 12 位数字", "the PIN must be 4 to 12 digits")
	}
	return nil
}

// SetBadgePIN lets the holder choose their own badge's PIN. A badge that has a PIN needs the
// current one (old); a new or reset badge needs none.
func (r *Register) SetBadgePIN(ctx context.Context, a Actor, old, pin string) error {
	if err := validPIN(pin); err != nil {
		return err
	}
	var hash string
	err := r.st.DB().QueryRowContext(ctx, `SELECT pin_hash FROM badges WHERE person_id = ?`, a.ID).Scan(&hash)
	if err == sql.ErrNoRows {
		return refuse(CodeNotFound, "您还没有工作证：请系统管理员发放", "you have no badge: the system administrator issues one")
	} else if err != nil {
		return storeErr("set PIN", err)
	}
	if hash != "" {
		if err := r.checkPIN(ctx, a.ID, old); err != nil {
			return err
		}
	}
	return r.writePIN(ctx, a.Username, a.ID, pin, hash, "")
}

// writePIN stores a new PIN hash if the badge still has the hash the caller checked.
func (r *Register) writePIN(ctx context.Context, actor string, person int64, pin, was, desk string) error {
	hash, err := auth.HashPassword(pinPepper + pin)
	if err != nil {
		return fmt.Errorf("hash PIN: %w", err)
	}
	return storeErr("set PIN", r.st.Change(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE badges SET pin_hash = ?, failed_pins = 0 WHERE person_id = ? AND pin_hash = ?`, hash, person, was)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refuse(CodeConflict, "工作证 PIN 刚被更改，请重试", "the badge's PIN changed just now; try again")
		}
		after := map[string]string{}
		if desk != "" {
			after["desk"] = desk
		}
		return tx.Audit(store.Entry{Actor: actor, Action: "badge.pin_set", Subject: fmt.Sprintf("person:%d", person), After: after})
	}))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MaxPINFailures wrong PINs in a row lock a badge until an admin resets it and its holder
// chooses a new PIN.
const MaxPINFailures = 5

// checkPIN verifies a person's PIN against their badge. The hash is checked outside any
// transaction: argon2id takes tens of milliseconds and must not hold the writer. Each wrong PIN is
// counted and audited; a locked badge confirms nothing.
func (r *Register) checkPIN(ctx context.Context, personID int64, pin string) error {
	var hash, username string
	var failed int
	err := r.st.DB().QueryRowContext(ctx, `SELECT b.pin_hash, b.failed_pins, p.username FROM badges b JOIN people p ON p.id = b.person_id WHERE b.person_id = ?`, personID).Scan(&hash, &failed, &username)
	if err == sql.ErrNoRows {
		return refuse(CodeForbidden, "该人员没有工作证，无法确认交接", "this person has no badge and cannot confirm a handover")
	}
	if err != nil {
		return storeErr("check PIN", err)
	}
	locked := refuse(CodeForbidden, "%s 的工作证因 PIN 连续输错已锁定：请系统管理员重置工作证，再由持证人设置新 PIN", "%s's badge is locked after repeated wrong PINs: an admin resets the badge and its holder chooses a new PIN", username)
	if hash == "" {
		return refuse(CodeForbidden, "%s 的工作证尚未设置 PIN：须由持证人本人设置（custodyctl badge pin，或在工作台首次使用时设置）", "%s's badge has no PIN yet: its holder chooses one (custodyctl badge pin, or at its first use at a desk)", username)
	}
	if failed >= MaxPINFailures {
		return locked
	}
	if auth.CheckPassword(hash, pinPepper+pin) != nil {
		err := r.st.Change(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE badges SET failed_pins = failed_pins + 1 WHERE person_id = ?`, personID); err != nil {
				return err
			}
			return tx.Audit(store.Entry{Actor: username, Action: "badge.pin_failed", Subject: fmt.Sprintf("person:%d", personID), After: map[string]int{"failed": failed + 1}})
		})
		if err != nil {
			return storeErr("check PIN", err)
		}
		if failed+1 >= MaxPINFailures {
			return locked
		}
		return refuse(CodeForbidden, "%s 的 PIN 不正确，交接未确认", "wrong PIN for %s; the handover is not confirmed", username)
	}
	if failed > 0 {
		if err := r.st.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE badges SET failed_pins = 0 WHERE person_id = ?`, personID)
			return err
		}); err != nil {
			return storeErr("check PIN", err)
		}
	}
	return nil
}

// label is what a scanned or typed code resolved to.
type label struct {
	item   int64 // an item, or
	person int64 // a badge
}

// resolveLabel is the one place that turns a scanned or typed code into an item or a badge. Item
// labels carry a GS1 AI (253) GDTI element string (barcode) or an EPC; until labels are assigned a
// custodian may type the item number ("123", "#123" or "item:123"). Badge codes are never digits
// only, so the forms cannot be confused.
func resolveLabel(ctx context.Context, q querier, data string) (label, error) {
	raw := strings.TrimSpace(data)
	if raw == "" {
		return label{}, refuse(CodeInvalid, "扫描内容为空", "the scan is empty")
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT person_id FROM badges WHERE code = ?`, raw).Scan(&id)
	if err == nil {
		return label{person: id}, nil
	} else if err != sql.ErrNoRows {
		return label{}, err
	}
	if n, ok := typedItem(raw); ok {
		err := q.QueryRowContext(ctx, `SELECT id FROM items WHERE id = ?`, n).Scan(&id)
		if err == sql.ErrNoRows {
			return label{}, refuse(CodeNotFound, "文件份 %d 不存在", "item %d does not exist", n)
		}
		return label{item: id}, err
	}
	bc := normalBarcode(raw)
	err = q.QueryRowContext(ctx, `SELECT id FROM items WHERE barcode = ? OR barcode = ? OR epc = ? OR epc = ?`, raw, bc, raw, strings.ToUpper(raw)).Scan(&id)
	if err == nil {
		return label{item: id}, nil
	} else if err != sql.ErrNoRows {
		return label{}, err
	}
	// The register may keep the element string in its human-readable form "(253)…".
	err = q.QueryRowContext(ctx, `SELECT id FROM items WHERE barcode IS NOT NULL AND replace(replace(replace(barcode, '(', ''), ')', ''), ' ', '') = ?`, bc).Scan(&id)
	if err == nil {
		return label{item: id}, nil
	} else if err != sql.ErrNoRows {
		return label{}, err
	}
	return label{}, refuse(CodeNotFound, "未知标签 %q：登记簿中没有这个条码、电子标签或工作证", "unknown label %q: no item barcode, EPC or badge has this code", custody.Clip(raw, 40))
}

func typedItem(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "item:"), "#")
	if !isDigits(s) || len(s) > 15 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// normalBarcode strips a symbology identifier ("]C1", "]d2", "]Q3"), parentheses around AIs and
// spaces, leaving the bare element string "253…".
func normalBarcode(s string) string {
	if len(s) > 3 && s[0] == ']' {
		s = s[3:]
	}
	return strings.Map(func(c rune) rune {
		if c == '(' || c == ')' || unicode.IsSpace(c) || c == 0x1d {
			return -1
		}
		return c
	}, s)
}
