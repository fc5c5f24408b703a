// Package register applies the secrecy rules to the register: it is the only place that changes
// units, people, documents, items, cabinets, desks and agents, and each change is checked against
// the actor's roles and the item lifecycle (package custody) and recorded in the audit chain in
// the same transaction (package store). It alone reads those tables too: the packages that watch
// the register (alert, schedule, the console) use Reads (reads.go), which returns typed values.
//
// The custodian's desk workflows live here too: handover sessions (sessions.go — open, scan
// badges and labels, close with the counterpart's PIN as one audited transition; DeskScan is the
// entry point for the desk scanner's observations), approvals (approvals.go), destruction batches
// (destruction.go), receiving, reproduction, scope widening and losses (flows.go), recall
// campaigns and personnel clearance (recall.go) and the data of the printed reports (reports.go).
// Every item move also lands in item_events, the per-item chain of custody.
//
// Contract: every exported method takes the acting person first; a refusal is an *Error with a
// stable Code and zh-CN/English text; nothing is half-written. The 三员 never see document titles:
// reads return them redacted for those roles, and audit records carry a title digest, never the
// title.
package register

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/store"
)

// Register is the rule-checked register over a store.
type Register struct {
	st     *store.Store
	log    *slog.Logger
	clock  func() time.Time // nil: time.Now
	issuer epc.Issuer       // zero: items get no EPC or barcode (no company prefix configured)
	zone   sitetime.Zone    // the site's zone for times people type; zero: Asia/Shanghai
	limits *BorrowLimits    // nil: DefaultBorrowLimits
	// checkPeriod is how often each unit is checked (清查): monthly or quarterly; "": quarterly.
	checkPeriod string

	guard    *loginGuard // login limits (login.go)
	pool     *auth.Pool  // password checks of logins: bounded memory
	onLocked func(username string)
	lockFor  time.Duration // SetLoginLock; 0: LockFor
}

// SetZone sets the site's time zone ([site] time_zone), in which due times and deadlines typed
// without an offset are read. Call it once, before serving.
func (r *Register) SetZone(z sitetime.Zone) { r.zone = z }

// Zone is the site's time zone.
func (r *Register) Zone() sitetime.Zone { return r.zone }

// SetIssuer gives every item registered from now on its EPC and barcode (issue 8): a GDTI-96
// with the installation's company prefix and the item's id as serial, and the same GDTI as the
// AI (253) barcode. Call it once, before serving.
func (r *Register) SetIssuer(is epc.Issuer) { r.issuer = is }

// label fills a new item's EPC and barcode inside the transaction that creates it, so an item
// never exists without its identities once an issuer is configured.
func (r *Register) label(ctx context.Context, tx *store.Tx, id int64) (epcHex, barcode string, err error) {
	if r.issuer.CompanyPrefix == "" {
		return "", "", nil
	}
	e, err := r.issuer.ForItem(uint64(id))
	if err != nil {
		return "", "", fmt.Errorf("EPC for item %d: %w", id, err)
	}
	epcHex, barcode = e.Hex(), e.BarcodeData()
	_, err = tx.ExecContext(ctx, `UPDATE items SET epc = ?, barcode = ? WHERE id = ?`, epcHex, barcode, id)
	return epcHex, barcode, err
}

// New returns a Register over st.
func New(st *store.Store, log *slog.Logger) *Register {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummyHash() // made now, so the first login with an unknown name takes no longer than the rest
	return &Register{st: st, log: log, guard: newLoginGuard(), pool: auth.NewPool()}
}

// Actor is the authenticated person making a request.
type Actor struct {
	ID       int64
	Username string
	Roles    []custody.Role
	// MustChangePassword is set while the account still has a generated one-time password.
	MustChangePassword bool `json:",omitempty"`

	token string // digest of the token this request authenticated with (Logout, ChangePassword)
}

// Has reports whether the actor holds any of the roles.
func (a Actor) Has(roles ...custody.Role) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// SeesTitles reports whether the actor may read document titles: not the 三员.
func (a Actor) SeesTitles() bool { return a.Has(custody.Custodian, custody.Leader, custody.Holder) }

// Error codes, stable for programs (the API maps them to HTTP statuses).
const (
	CodeInvalid   = "invalid"
	CodeNotFound  = "not_found"
	CodeConflict  = "conflict"
	CodeForbidden = "forbidden"
	CodeRefused   = "refused"
	CodeFull      = "storage_full"
	// CodeUnavailable: a device the step needs (an agent, a reader) is not reachable now.
	CodeUnavailable = "unavailable"
	// CodeTimeout: a device the step needs did not answer in time; the step may have happened.
	CodeTimeout = "timeout"
)

// Error is a refusal people can read.
type Error struct {
	Code string
	Text custody.Text
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Text.EN + ": " + e.Err.Error()
	}
	return e.Text.EN
}

func (e *Error) Unwrap() error { return e.Err }

// invalidText turns a refused field (custody.CleanText and friends) into a refusal.
func invalidText(err error) error {
	var te *custody.TextError
	if errors.As(err, &te) {
		return &Error{Code: CodeInvalid, Text: te.Text, Err: err}
	}
	return err
}

// clean applies the limits of docs/limits.md to each field in turn and stops at the first refusal.
func clean(checks ...func() error) error {
	for _, c := range checks {
		if err := c(); err != nil {
			return invalidText(err)
		}
	}
	return nil
}

// text returns a check that cleans *s in place (custody.CleanText).
func text(field string, s *string, max int, required bool) func() error {
	return func() (err error) { *s, err = custody.CleanText(field, *s, max, required); return err }
}

// freeText returns a check that cleans the free text *s in place (custody.CleanNote): reasons,
// notes and conclusions people type in workflows, at most custody.MaxNote characters.
func freeText(field string, s *string) func() error {
	return func() (err error) { *s, err = custody.CleanNote(field, *s); return err }
}

// code returns a check that cleans the code *s in place (custody.CleanCode).
func code(field string, s *string, required bool) func() error {
	return func() (err error) { *s, err = custody.CleanCode(field, *s, required); return err }
}

func refuse(code, zh, en string, args ...any) *Error {
	return &Error{Code: code, Text: custody.Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}}
}

// storeErr turns the store's sentinels into refusals people understand; anything else is
// returned wrapped, as an internal error.
func storeErr(doing string, err error) error {
	var re *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return err
	case errors.Is(err, store.ErrFull):
		return &Error{Code: CodeFull, Text: custody.Text{ZH: "存储空间已满，本次操作未写入任何内容；请释放磁盘空间后重试", EN: "storage is full; nothing was written — free disk space and try again"}, Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: CodeNotFound, Text: custody.Text{ZH: "未找到：" + doing, EN: "not found: " + doing}, Err: err}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// need refuses unless the actor holds one of roles; what names the step in zh-CN and English.
func need(a Actor, what custody.Text, roles ...custody.Role) error {
	if a.Has(roles...) {
		return nil
	}
	var zh, en string
	for i, r := range roles {
		if i > 0 {
			zh += "、"
			en += ", "
		}
		zh += r.Text().ZH
		en += string(r)
	}
	return &Error{Code: CodeForbidden, Text: custody.Text{ZH: "只有" + zh + "可以" + what.ZH, EN: "only " + en + " may " + what.EN}}
}

// refuseT is refuse with the two texts formatted by the caller, for messages whose arguments
// differ between the languages.
func refuseT(code, zh, en string) *Error {
	return &Error{Code: code, Text: custody.Text{ZH: zh, EN: en}}
}
