package register

import (
	"context"
	"database/sql"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Report data: the register (台账), holdings per person, overdue items and destruction
// certificates. Rendering to CSV and PDF is package report's job; titles are filled only for
// people who may see them.

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type LedgerRow = apitype.LedgerRow

// LedgerFilter narrows the register; zero fields match everything.
type LedgerFilter struct {
	Unit   string
	Level  custody.Level
	Holder string
	// Held keeps every item out with a person (holdings per person), ordered by holder.
	Held bool
	// Overdue keeps items out past their due time.
	Overdue bool
}

var readReports = custody.Text{ZH: "查看台账和报表", EN: "read the register and reports"}

// Ledger returns the register rows matching f in document and copy order.
func (r *Register) Ledger(ctx context.Context, a Actor, f LedgerFilter) ([]LedgerRow, error) {
	if err := need(a, readReports, custody.Custodian, custody.Leader, custody.SecAdmin, custody.Admin); err != nil {
		return nil, err
	}
	q := `SELECT i.id, i.document_id, d.number, coalesce(si.copy_no, i.copy_no), d.copies, d.level, i.state, coalesce(c.code, ''), coalesce(p.username, ''), coalesce(i.due_at, ''), coalesce(i.epc, ''), coalesce(i.barcode, ''),
		coalesce(i.purpose, ''), coalesce(i.place, ''), coalesce(i.source_item_id, 0),
		d.title, iu.code, coalesce(ku.code, iu.code), d.issued_on, d.secrecy_term, coalesce(p.name, ''), coalesce(i.repro_no, 0)
		FROM items i JOIN documents d ON d.id = i.document_id JOIN units iu ON iu.id = d.issuing_unit_id
		LEFT JOIN cabinets c ON c.id = i.cabinet_id LEFT JOIN cabinets hc ON hc.id = i.home_cabinet_id LEFT JOIN units ku ON ku.id = hc.unit_id
		LEFT JOIN people p ON p.id = i.holder_id LEFT JOIN items si ON si.id = i.source_item_id`
	// A declassified document has left the classified register (issue 14 point 6).
	where := []string{"d.declassified_at IS NULL"}
	var args []any
	if f.Unit != "" {
		where, args = append(where, "coalesce(ku.code, iu.code) = ?"), append(args, f.Unit)
	}
	if f.Level != "" {
		where, args = append(where, "d.level = ?"), append(args, f.Level)
	}
	if f.Holder != "" {
		where, args = append(where, "p.username = ? AND i.state IN ('checked_out','out_of_office')"), append(args, f.Holder)
	}
	if f.Held {
		where = append(where, "i.state IN ('checked_out','out_of_office')")
	}
	if f.Overdue {
		where, args = append(where, "i.state IN ('checked_out','out_of_office') AND i.due_at IS NOT NULL AND i.due_at < ?"), append(args, store.FormatTime(r.now()))
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	order := " ORDER BY d.level = 'top-secret' DESC, d.level = 'secret' DESC, d.number, coalesce(si.copy_no, i.copy_no), coalesce(i.repro_no, 0)"
	if f.Held || f.Overdue {
		order = " ORDER BY p.username, coalesce(i.due_at, ''), d.number, i.copy_no"
	}
	gate, err := r.titleGate(ctx, a)
	if err != nil {
		return nil, storeErr("ledger", err)
	}
	rows, err := r.st.DB().QueryContext(ctx, q+order, args...)
	if err != nil {
		return nil, storeErr("ledger", err)
	}
	defer rows.Close()
	out := []LedgerRow{}
	for rows.Next() {
		var l LedgerRow
		if err := rows.Scan(&l.ID, &l.DocumentID, &l.Document, &l.Copy, &l.Copies, &l.Level, &l.State, &l.Cabinet, &l.Holder, &l.Due, &l.EPC, &l.Barcode,
			&l.Purpose, &l.Place, &l.Source, &l.Title, &l.IssuingUnit, &l.Unit, &l.IssuedOn, &l.SecrecyTerm, &l.HolderName, &l.Reproduction); err != nil {
			return nil, err
		}
		l.Term = l.SecrecyTerm
		if gate == nil || !gate(l.DocumentID) {
			l.Title = ""
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Certificate is the record of a destroyed batch (销毁证明).
type Certificate struct {
	Batch      Batch       `json:"batch"`
	ApprovedBy string      `json:"approved_by"`
	ApprovedAt string      `json:"approved_at"`
	Custodians []string    `json:"custodians"` // names of the two custodians who handed it over
	Items      []LedgerRow `json:"items"`
}

// DestructionCertificate returns the certificate of a destroyed batch.
func (r *Register) DestructionCertificate(ctx context.Context, a Actor, id int64) (Certificate, error) {
	if err := need(a, readReports, custody.Custodian, custody.Leader, custody.SecAdmin, custody.Admin); err != nil {
		return Certificate{}, err
	}
	b, err := r.Batch(ctx, a, id)
	if err != nil {
		return Certificate{}, err
	}
	if b.State != "destroyed" {
		return Certificate{}, refuse(CodeRefused, "销毁批次 %d 尚未销毁（%s），没有销毁证明", "destruction batch %d is not destroyed (%s); there is no certificate", id, b.State)
	}
	c := Certificate{Batch: b}
	ap, err := r.Approval(ctx, a, b.Approval)
	if err != nil {
		return c, err
	}
	c.ApprovedBy, c.ApprovedAt = ap.DecidedBy, ap.DecidedAt
	s, err := r.session(ctx, b.Session, nil)
	if err != nil {
		return c, err
	}
	c.Custodians = []string{s.CustodianName + "（" + s.Custodian + "）", s.CounterpartName + "（" + s.Counterpart + "）"}
	all, err := r.Ledger(ctx, a, LedgerFilter{})
	if err != nil {
		return c, err
	}
	in := map[int64]bool{}
	for _, id := range b.Items {
		in[id] = true
	}
	for _, l := range all {
		if in[l.ID] {
			c.Items = append(c.Items, l)
		}
	}
	return c, nil
}

// PersonName returns a person's display name ("" if unknown), for receipts.
func (r *Register) PersonName(ctx context.Context, username string) string {
	var n string
	if err := r.st.DB().QueryRowContext(ctx, `SELECT name FROM people WHERE username = ?`, username).Scan(&n); err == sql.ErrNoRows {
		return ""
	}
	return n
}
