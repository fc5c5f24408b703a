package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// This file holds what every desk workflow shares: the clock, loading an item with what the rules
// need to know about it, checking a lifecycle step with a readable refusal, moving an item and
// recording the move in its chain of custody (item_events).

// SetClock replaces the clock (tests of due times and expiry). Not safe to call while serving.
func (r *Register) SetClock(now func() time.Time) { r.clock = now }

func (r *Register) now() time.Time {
	if r.clock != nil {
		return r.clock()
	}
	return time.Now()
}

// row is an item as the rules see it inside a transaction.
type row struct {
	Item
	docID      int64
	title      string
	issuingID  int64
	holderID   sql.NullInt64
	cabinetID  sql.NullInt64
	homeCab    sql.NullInt64
	batchID    sql.NullInt64
	purpose    string
	sourceItem sql.NullInt64
}

const rowSelect = `SELECT i.id, i.document_id, d.number, coalesce(si.copy_no, i.copy_no), d.copies, d.level, i.state, coalesce(c.code, ''), coalesce(p.username, ''), coalesce(i.due_at, ''), coalesce(i.epc, ''), coalesce(i.barcode, ''),
	d.title, d.issuing_unit_id, i.holder_id, i.cabinet_id, i.home_cabinet_id, i.batch_id, coalesce(i.purpose, ''), i.source_item_id, d.secrecy_term, coalesce(i.repro_no, 0), coalesce(i.repro_unit, ''), coalesce(i.repro_on, '')
	FROM items i JOIN documents d ON d.id = i.document_id LEFT JOIN cabinets c ON c.id = i.cabinet_id LEFT JOIN people p ON p.id = i.holder_id LEFT JOIN items si ON si.id = i.source_item_id`

func scanRow(s interface{ Scan(...any) error }) (row, error) {
	var x row
	err := s.Scan(&x.ID, &x.DocumentID, &x.Document, &x.Copy, &x.Copies, &x.Level, &x.State, &x.Cabinet, &x.Holder, &x.Due, &x.EPC, &x.Barcode,
		&x.title, &x.issuingID, &x.holderID, &x.cabinetID, &x.homeCab, &x.batchID, &x.purpose, &x.sourceItem, &x.Term, &x.Reproduction, &x.ReproUnit, &x.ReproOn)
	x.docID = x.DocumentID
	x.Purpose = x.purpose
	if x.sourceItem.Valid {
		x.Source = x.sourceItem.Int64
	}
	return x, err
}

func loadRow(ctx context.Context, q querier, id int64) (row, error) {
	x, err := scanRow(q.QueryRowContext(ctx, rowSelect+" WHERE i.id = ?", id))
	if err == sql.ErrNoRows {
		return row{}, refuse(CodeNotFound, "文件份 %d 不存在", "item %d does not exist", id)
	}
	return x, err
}

// name is how refusals name an item: document number and copy, never the title.
func (x row) name() custody.Text {
	return x.Item.Name()
}

// step checks one lifecycle step for the item and turns a refusal into an *Error naming it.
func step(x row, act custody.Action, role custody.Role) (custody.State, error) {
	to, err := custody.Check(x.State, act, role)
	if err == nil {
		return to, nil
	}
	var ref *custody.Refusal
	errors.As(err, &ref)
	code := CodeRefused
	if ref.Code == "wrong_role" {
		code = CodeForbidden
	}
	n := x.name()
	return "", &Error{Code: code, Text: custody.Text{ZH: n.ZH + "：" + ref.Reason.ZH, EN: n.EN + ": " + ref.Reason.EN}, Err: err}
}

// move is one item's transition: the new state and where it now is.
type move struct {
	to       custody.State
	cabinet  sql.NullInt64 // set for in_cabinet
	holder   sql.NullInt64 // set for checked_out / out_of_office
	due      string
	purpose  string
	place    string
	approval sql.NullInt64
	batch    sql.NullInt64
	receipt  string
}

// apply writes the move and its chain-of-custody event. The UPDATE is conditional on the state
// the caller checked, so a step decided on stale data changes nothing and says so.
func apply(ctx context.Context, tx *store.Tx, x row, m move, action custody.Action, actor int64, counterpart sql.NullInt64, session sql.NullInt64, note string, now string) error {
	home := x.homeCab
	if m.to == custody.InCabinet {
		home = m.cabinet
	}
	res, err := tx.ExecContext(ctx, `UPDATE items SET state = ?, cabinet_id = ?, home_cabinet_id = ?, holder_id = ?, due_at = ?, purpose = ?, place = ?, approval_id = ?, batch_id = ?, receipt = coalesce(?, receipt), updated_at = ? WHERE id = ? AND state = ?`,
		m.to, m.cabinet, home, m.holder, nullStr(m.due), nullStr(m.purpose), nullStr(m.place), m.approval, m.batch, nullStr(m.receipt), now, x.ID, x.State)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		n := x.name()
		return &Error{Code: CodeConflict, Text: custody.Text{ZH: n.ZH + " 的状态刚被另一操作改变，本次未作任何更改，请刷新后重试", EN: n.EN + " was changed by another step just now; nothing was changed — refresh and try again"}}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO item_events(item_id, at, action, from_state, to_state, actor_id, counterpart_id, session_id, note) VALUES (?,?,?,?,?,?,?,?,?)`,
		x.ID, now, action, x.State, m.to, actor, counterpart, session, note)
	return err
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// personRow is a person as the rules see them.
type personRow struct {
	ID       int64
	Username string
	Name     string
	UnitID   sql.NullInt64
	Unit     string
	Active   bool
	Roles    []custody.Role
}

func (p personRow) has(roles ...custody.Role) bool {
	return Actor{Roles: p.Roles}.Has(roles...)
}

func loadPerson(ctx context.Context, q querier, where string, arg any) (personRow, error) {
	var p personRow
	var roles string
	err := q.QueryRowContext(ctx, `SELECT p.id, p.username, p.name, p.unit_id, coalesce(u.code, ''), p.active,
		(SELECT coalesce(string_agg(role, ',' ORDER BY role), '') FROM person_roles WHERE person_id = p.id)
		FROM people p LEFT JOIN units u ON u.id = p.unit_id WHERE `+where, arg).Scan(&p.ID, &p.Username, &p.Name, &p.UnitID, &p.Unit, &p.Active, &roles)
	p.Roles = parseRoles(roles)
	return p, err
}

func personByName(ctx context.Context, q querier, username string) (personRow, error) {
	p, err := loadPerson(ctx, q, "p.username = ?", username)
	if err == sql.ErrNoRows {
		return p, refuse(CodeNotFound, "人员 %q 不存在", "person %q does not exist", username)
	}
	return p, err
}

// inScope reports whether a person may read the document (rule 3): named in its readership scope,
// or a member of a unit in it. A document registered without any scope may be read within its
// issuing unit only.
func inScope(ctx context.Context, q querier, docID, issuingUnit int64, p personRow) (bool, error) {
	var n, any int
	err := q.QueryRowContext(ctx, `SELECT count(*), (SELECT count(*) FROM document_scope WHERE document_id = ?) FROM document_scope
		WHERE document_id = ? AND (person_id = ? OR (unit_id IS NOT NULL AND unit_id = ?))`, docID, docID, p.ID, p.UnitID).Scan(&n, &any)
	if err != nil {
		return false, err
	}
	if any == 0 {
		return p.UnitID.Valid && p.UnitID.Int64 == issuingUnit, nil
	}
	return n > 0, nil
}

// parseDue reads a due time: RFC 3339, or "YYYY-MM-DD HH:MM" / "YYYY-MM-DD" in the site's time
// zone (never the host's: a server on UTC must still read 18:00 as 18:00 Beijing time).
func (r *Register) parseDue(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 40 { // the longest layout with nanoseconds and offset is 35 bytes
		return time.Time{}, refuse(CodeInvalid, "时间格式不对，应为 2026-11-30 18:00 或 RFC 3339", "time is not understood: use 2026-11-30 18:00 or RFC 3339")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := r.zone.Parse(layout, s); err == nil {
			if layout == "2006-01-02" {
				t = t.Add(18 * time.Hour) // a date means the end of that working day
			}
			// Every typed due time, deadline and expiry lies ahead; callers refuse the past in
			// their own words. A year ahead is the limit (docs/limits.md): further is a typo.
			if t.After(r.now().Add(custody.MaxAhead)) {
				return time.Time{}, refuse(CodeInvalid, "时间 %s 超出范围：最晚为一年之内", "time %s is out of range: at most a year ahead", s)
			}
			return t, nil
		}
	}
	return time.Time{}, refuse(CodeInvalid, "时间 %q 格式不对，应为 2026-11-30 18:00 或 RFC 3339", "time %q is not understood: use 2026-11-30 18:00 or RFC 3339", s)
}

// ids formats item ids for audit records compactly.
func idList(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// auditItems describes moved items in audit records: identifiers and states, never titles.
type auditItem struct {
	ID       int64         `json:"id"`
	Document string        `json:"document"`
	Copy     int           `json:"copy"`
	Level    custody.Level `json:"level"`
	From     custody.State `json:"from"`
	To       custody.State `json:"to"`
}

func toAuditItem(x row, to custody.State) auditItem {
	return auditItem{x.ID, x.Document, x.Copy, x.Level, x.State, to}
}

func cabinetID(ctx context.Context, q querier, code string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM cabinets WHERE code = ?`, code).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, refuse(CodeNotFound, "密码柜 %q 不存在", "cabinet %q does not exist", code)
	}
	return id, err
}

// custodyUnits are the units a custodian is custodian for: their own unit and the units below
// it (an office's custodian keeps its departments' documents).
func custodyUnits(ctx context.Context, q rowsQuerier, person int64) (map[int64]bool, error) {
	var own sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT unit_id FROM people WHERE id = ?`, person).Scan(&own); err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	if !own.Valid {
		return out, nil
	}
	frontier := []int64{own.Int64}
	for len(frontier) > 0 && len(out) < 10000 {
		u := frontier[0]
		frontier = frontier[1:]
		if out[u] {
			continue
		}
		out[u] = true
		rows, err := q.QueryContext(ctx, `SELECT id FROM units WHERE parent_id = ?`, u)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c int64
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			frontier = append(frontier, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withinCustody refuses a step on a place or item of a unit the custodian is not custodian for
// (issue 13: custody stays within the unit; a cross-unit move is a transfer). A place without a
// unit (registered before units were required) is not restricted.
func withinCustody(ctx context.Context, q rowsQuerier, person int64, unit sql.NullInt64, what custody.Text) error {
	if !unit.Valid {
		return nil
	}
	units, err := custodyUnits(ctx, q, person)
	if err != nil {
		return err
	}
	if units[unit.Int64] {
		return nil
	}
	var code string
	if err := q.QueryRowContext(ctx, `SELECT code FROM units WHERE id = ?`, unit.Int64).Scan(&code); err != nil {
		return err
	}
	return refuseT(CodeForbidden,
		fmt.Sprintf("%s属于 %s，您不是该单位的机要员：只能由 %s 的机要员办理；跨单位移动须办理移交，由接收单位签收", what.ZH, code, code),
		fmt.Sprintf("%s belongs to %s and you are not its custodian: only a custodian of %s may act on it; a move between units is a transfer signed by the receiving unit", what.EN, code, code))
}

// itemUnit is the unit that keeps an item (owningUnit) as a nullable id.
func itemUnit(ctx context.Context, q querier, x row) (sql.NullInt64, error) {
	u, err := owningUnit(ctx, q, x)
	return nullID(u), err
}

func cabinetUnit(ctx context.Context, q querier, cab int64) (sql.NullInt64, error) {
	var u sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT unit_id FROM cabinets WHERE id = ?`, cab).Scan(&u)
	return u, err
}
