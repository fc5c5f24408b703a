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

// IssueBadge gives a person a badge with a PIN (4–12 digits), replacing any earlier badge.
// Admins issue badges, as they manage accounts.
func (r *Register) IssueBadge(ctx context.Context, a Actor, username, code, pin string) error {
	if err := need(a, manageBadges, custody.Admin); err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" || strings.ContainsAny(code, " \t\n") || isDigits(code) {
		// A code of digits only would read like a typed item number at the desk.
		return refuse(CodeInvalid, "工作证编码 %q 无效：不能为空、不含空格、不能全是数字", "badge code %q is invalid: not empty, no spaces, not digits only", code)
	}
	if len(pin) < 4 || len(pin) > 12 || !isDigits(pin) {
		return refuse(CodeInvalid, "PIN 须为 4 到 12 位数字", "the PIN must be 4 to 12 digits")
	}
	hash, err := auth.HashPassword(pinPepper + pin)
	if err != nil {
		return fmt.Errorf("hash PIN: %w", err)
	}
	return storeErr("issue badge", r.st.Change(ctx, func(tx *store.Tx) error {
		p, err := personByName(ctx, tx, username)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO badges(person_id, code, pin_hash, issued_at) VALUES (?,?,?,?)
			ON CONFLICT(person_id) DO UPDATE SET code = excluded.code, pin_hash = excluded.pin_hash, issued_at = excluded.issued_at, failed_pins = 0`, p.ID, code, hash, store.Now())
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "工作证编码 %q 已发给他人", "badge code %q belongs to someone else", code)
		} else if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "badge.issue", Subject: fmt.Sprintf("person:%d", p.ID), After: map[string]string{"badge": code}})
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

// MaxPINFailures wrong PINs in a row lock a badge until an admin issues it again.
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
	locked := refuse(CodeForbidden, "%s 的工作证因 PIN 连续输错已锁定，请系统管理员重新发放", "%s's badge is locked after repeated wrong PINs; an admin must issue it again", username)
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
	return label{}, refuse(CodeNotFound, "未知标签 %q：登记簿中没有这个条码、电子标签或工作证", "unknown label %q: no item barcode, EPC or badge has this code", clip(raw))
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

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
