package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type Item = apitype.Item

// ItemFilter narrows Items; zero fields match everything.
type ItemFilter struct {
	Document string
	State    custody.State
	Cabinet  string
}

const itemSelect = `SELECT i.id, i.document_id, d.number, coalesce(si.copy_no, i.copy_no), d.copies, d.level, i.state, coalesce(c.code, ''), coalesce(p.username, ''), coalesce(i.due_at, ''), coalesce(i.epc, ''), coalesce(i.barcode, ''),
	coalesce(i.purpose, ''), coalesce(i.place, ''), coalesce(i.source_item_id, 0), d.secrecy_term, coalesce(i.repro_no, 0), coalesce(i.repro_unit, ''), coalesce(i.repro_on, '')
	FROM items i JOIN documents d ON d.id = i.document_id LEFT JOIN cabinets c ON c.id = i.cabinet_id LEFT JOIN people p ON p.id = i.holder_id LEFT JOIN items si ON si.id = i.source_item_id`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	err := row.Scan(&it.ID, &it.DocumentID, &it.Document, &it.Copy, &it.Copies, &it.Level, &it.State, &it.Cabinet, &it.Holder, &it.Due, &it.EPC, &it.Barcode, &it.Purpose, &it.Place, &it.Source, &it.Term, &it.Reproduction, &it.ReproUnit, &it.ReproOn)
	return it, err
}

// Items lists items matching f, in document and copy order.
func (r *Register) Items(ctx context.Context, a Actor, f ItemFilter) ([]Item, error) {
	var where []string
	var args []any
	if f.Document != "" {
		where, args = append(where, "d.number = ?"), append(args, f.Document)
	}
	if f.State != "" {
		where, args = append(where, "i.state = ?"), append(args, f.State)
	}
	if f.Cabinet != "" {
		where, args = append(where, "c.code = ?"), append(args, f.Cabinet)
	}
	q := itemSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := r.st.DB().QueryContext(ctx, q+" ORDER BY i.document_id, coalesce(si.copy_no, i.copy_no), coalesce(i.repro_no, 0)", args...)
	if err != nil {
		return nil, storeErr("list items", err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Item returns one item by id.
func (r *Register) Item(ctx context.Context, a Actor, id int64) (Item, error) {
	it, err := scanItem(r.st.DB().QueryRowContext(ctx, itemSelect+" WHERE i.id = ?", id))
	if err == sql.ErrNoRows {
		return Item{}, refuse(CodeNotFound, "文件份 %d 不存在", "item %d does not exist", id)
	}
	return it, storeErr("read item", err)
}

// StoreItems puts registered items into a cabinet: a custodian's step, checked against the
// lifecycle for each item, all or nothing, one audit record per item.
func (r *Register) StoreItems(ctx context.Context, a Actor, cabinet string, ids []int64) ([]Item, error) {
	if len(ids) == 0 {
		return nil, refuse(CodeInvalid, "没有指定要入柜的文件份", "no items given to store")
	}
	role := actingRole(a)
	var out []Item
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var cab int64
		var unit sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT id, unit_id FROM cabinets WHERE code = ?`, cabinet).Scan(&cab, &unit); err == sql.ErrNoRows {
			return refuse(CodeNotFound, "密码柜 %q 不存在", "cabinet %q does not exist", cabinet)
		} else if err != nil {
			return err
		}
		if role == custody.Custodian {
			if err := withinCustody(ctx, tx, a.ID, unit, custody.Text{ZH: "密码柜 " + cabinet, EN: "cabinet " + cabinet}); err != nil {
				return err
			}
		}
		for _, id := range ids {
			it, err := scanItem(tx.QueryRowContext(ctx, itemSelect+" WHERE i.id = ?", id))
			if err == sql.ErrNoRows {
				return refuse(CodeNotFound, "文件份 %d 不存在", "item %d does not exist", id)
			} else if err != nil {
				return err
			}
			if it.Reproduction > 0 {
				n := it.Name()
				return refuseT(CodeRefused, n.ZH+" 是复制件，须在工作台扫描入柜（用途 store），不能直接登记入柜", n.EN+" is a reproduction: it is stored by scanning it in at the desk (purpose store), not by a typed store")
			}
			from := it.State
			to, err := custody.Check(from, custody.Store, role)
			if err != nil {
				var ref *custody.Refusal
				errors.As(err, &ref)
				code := CodeRefused
				if ref.Code == "wrong_role" {
					code = CodeForbidden
				}
				return &Error{Code: code, Text: custody.Text{
					ZH: fmt.Sprintf("%s 第%d份：%s", it.Document, it.Copy, ref.Reason.ZH),
					EN: fmt.Sprintf("%s copy %d: %s", it.Document, it.Copy, ref.Reason.EN)}, Err: err}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE items SET state = ?, cabinet_id = ?, home_cabinet_id = ?, holder_id = NULL, due_at = NULL, updated_at = ? WHERE id = ?`, to, cab, cab, store.Now(), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_events(item_id, at, action, from_state, to_state, actor_id) VALUES (?,?,?,?,?,?)`, id, store.Now(), custody.Store, from, to, a.ID); err != nil {
				return err
			}
			it.State, it.Cabinet = to, cabinet
			if err := tx.Audit(store.Entry{Actor: a.Username, Action: "item.store", Subject: custody.ItemSubject(id).Audit(),
				Before: map[string]any{"state": from}, After: map[string]any{"state": to, "cabinet": cabinet}}); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, storeErr("store items", err)
	}
	return out, nil
}

// actingRole picks the role under which the actor takes an item step: custodian first, since
// only custodians move items; then leader, then holder; otherwise the first role held, which the
// lifecycle will refuse with a clear reason.
func actingRole(a Actor) custody.Role {
	for _, r := range []custody.Role{custody.Custodian, custody.Leader, custody.Holder} {
		if a.Has(r) {
			return r
		}
	}
	if len(a.Roles) > 0 {
		return a.Roles[0]
	}
	return ""
}
