package register

import (
	"context"
	"database/sql"

	"github.com/custodyhq/custody/internal/store"
)

// The issuing unit's consent to widening a readership scope (扩大知悉范围, rule 3; issue 14 point
// 5). When the issuing unit keeps its accounts in this register, one of its leaders decides the
// request and records the document number of the consent. Most documents come from outside
// (上级机关、外单位): nobody of the issuing unit has an account here, and its consent arrives as a
// letter. Then a leader of the requesting custodian's unit decides, and the letter's document
// number is required all the same (DecideApproval); the widening's audit record names the
// issuing unit, the consent's number and who decided here. No account for the other unit is
// needed.

// consentDecidedHere returns the unit whose leaders decide a scope widening for a document of
// the issuing unit: that unit, or — when no active person of it has an account here — the
// requesting custodian's unit, so that the leader who receives the issuing unit's letter decides.
func consentDecidedHere(ctx context.Context, tx *store.Tx, issuing, requester int64) (int64, error) {
	var people int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM people WHERE unit_id = ? AND active = 1`, issuing).Scan(&people); err != nil {
		return 0, err
	}
	if people > 0 {
		return issuing, nil
	}
	var own sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT unit_id FROM people WHERE id = ?`, requester).Scan(&own); err != nil {
		return 0, err
	}
	if !own.Valid {
		return issuing, nil // decidingUnit explains that nobody can decide
	}
	return own.Int64, nil
}
