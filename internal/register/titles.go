package register

import (
	"context"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
)

// titleGate says, for one actor, whose documents' titles they may read (issue 13): a person in
// the document's readership scope (a document without a scope is its issuing unit's), a leader
// of a unit in the scope or of a scoped person's unit, and the custodians of the units that
// issued it or keep its copies (they register and hand it over). Everyone else — the 三员
// always — sees the number and the level only. A nil gate shows no title.
func (r *Register) titleGate(ctx context.Context, a Actor) (func(doc int64) bool, error) {
	if !a.SeesTitles() || a.ID == 0 {
		return nil, nil
	}
	me, err := loadPerson(ctx, r.st.DB(), "p.id = ?", a.ID)
	if err != nil {
		return nil, err
	}
	unit := me.UnitID.Int64 // 0 matches no unit
	q := `SELECT d.id FROM documents d WHERE
		EXISTS (SELECT 1 FROM document_scope s WHERE s.document_id = d.id AND (s.person_id = ?1 OR s.unit_id = ?2))
		OR (NOT EXISTS (SELECT 1 FROM document_scope s WHERE s.document_id = d.id) AND d.issuing_unit_id = ?2)`
	if me.has(custody.Leader) {
		q += ` OR EXISTS (SELECT 1 FROM document_scope s JOIN people sp ON sp.id = s.person_id WHERE s.document_id = d.id AND sp.unit_id = ?2)`
	}
	if me.has(custody.Custodian) {
		units, err := custodyUnits(ctx, r.st.DB(), a.ID)
		if err != nil {
			return nil, err
		}
		if len(units) > 0 {
			ids := make([]string, 0, len(units))
			for u := range units {
				ids = append(ids, fmt.Sprint(u))
			}
			in := "(" + strings.Join(ids, ",") + ")"
			q += ` OR d.issuing_unit_id IN ` + in + ` OR EXISTS (SELECT 1 FROM items i JOIN cabinets c ON c.id = coalesce(i.home_cabinet_id, i.cabinet_id)
				WHERE i.document_id = d.id AND c.unit_id IN ` + in + `)`
		}
	}
	rows, err := r.st.DB().QueryContext(ctx, q, a.ID, unit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		seen[id] = true
	}
	return func(doc int64) bool { return seen[doc] }, rows.Err()
}
