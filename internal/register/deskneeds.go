package register

import (
	"context"
	"database/sql"

	"github.com/custodyhq/custody/internal/custody"
)

// What a desk asks for, read from the same table of purposes the rules use (purposes), so the
// console shows a purpose's own fields and the confirmations a handover needs — and no others
// (issue 21 point 7) — without knowing the rules itself.

// PurposeFields names the OpenRequest fields (by their JSON names) a handover for purpose takes;
// note is always among them. Nil for an unknown purpose.
func PurposeFields(purpose string) []string {
	spec, ok := purposes[purpose]
	if !ok {
		return nil
	}
	var f []string
	add := func(on bool, names ...string) {
		if on {
			f = append(f, names...)
		}
	}
	add(spec.holder && spec.approval == "", "due")
	add(spec.approval != "", "approval")
	add(spec.cabinet, "cabinet")
	add(spec.roomPlace, "place")
	add(spec.target, "target_unit", "destination", "receiver")
	add(spec.receipt || spec.batch, "receipt")
	add(spec.batch, "batch", "courier", "supervisor")
	add(spec.party == partyCourier, "courier", "envelope", "destination", "expected")
	return append(f, "note")
}

// Confirmation is what closing an open handover asks of the people at the desk.
type Confirmation struct {
	PIN       bool // the counterpart signs with badge and PIN
	NewPIN    bool // … and the badge has no PIN yet: the counterpart sets one, which signs
	Second    bool // a second custodian signs: a top-secret copy is in it (rule 10)
	Companion bool // the take-out's approval names a second person, who signs too
}

// Confirmation says what closing s asks for now; it changes as badges and copies are scanned.
func (r *Register) Confirmation(ctx context.Context, s Session) (Confirmation, error) {
	var c Confirmation
	spec, ok := purposes[s.Purpose]
	if !ok || s.State != "open" || spec.party == partyNone {
		return c, nil
	}
	outside := spec.party == partyCourier || spec.target && s.Destination != ""
	c.PIN = !outside
	for _, it := range s.Items {
		c.Second = c.Second || (it.Level == custody.TopSecret && !spec.batch)
	}
	db := r.st.DB()
	if c.PIN && s.Counterpart != "" {
		var hash string
		err := db.QueryRowContext(ctx, `SELECT b.pin_hash FROM badges b JOIN people p ON p.id = b.person_id WHERE p.username = ?`, s.Counterpart).Scan(&hash)
		if err != nil && err != sql.ErrNoRows {
			return c, storeErr("read handover", err)
		}
		c.NewPIN = err == nil && hash == ""
		c.PIN = !c.NewPIN
	}
	if !outside && spec.approval != "" && s.Approval != 0 {
		var with sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT companion_id FROM approvals WHERE id = ?`, s.Approval).Scan(&with); err != nil && err != sql.ErrNoRows {
			return c, storeErr("read handover", err)
		}
		c.Companion = with.Valid
	}
	return c, nil
}
