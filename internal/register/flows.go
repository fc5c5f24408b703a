package register

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// The flows that are not a desk handover: receiving (收文), reproduction (复制), widening a
// readership scope, loss reports (报失), and an item's chain of custody.

// ReceiveRequest registers an incoming document and stores its copies.
type ReceiveRequest struct {
	Document Document `json:"document"`
	Cabinet  string   `json:"cabinet"`
	From     string   `json:"from"` // who delivered it (机要交通、外单位), as written on the delivery slip
}

// Receive is 收文: the document is registered, its copies numbered and stored in a cabinet, in
// one transaction.
func (r *Register) Receive(ctx context.Context, a Actor, req ReceiveRequest) (Document, []Item, error) {
	if err := need(a, registerDocs, custody.Custodian); err != nil {
		return Document{}, nil, err
	}
	if strings.TrimSpace(req.From) == "" {
		return Document{}, nil, refuse(CodeInvalid, "请填写来文单位或送件人（from）", "say who delivered the document (from)")
	}
	d := req.Document
	if err := d.validate(); err != nil {
		return Document{}, nil, err
	}
	d.TitleDigest, d.TitleVisible = digest(d.Title), true
	var items []Item
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		cab, err := cabinetID(ctx, tx, req.Cabinet)
		if err != nil {
			return err
		}
		if items, err = r.registerTx(ctx, tx, a, &d); err != nil {
			return err
		}
		for i := range items {
			x, err := loadRow(ctx, tx, items[i].ID)
			if err != nil {
				return err
			}
			to, err := step(x, custody.Store, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, cabinet: nullID(cab)}, custody.Store, a.ID, sql.NullInt64{}, sql.NullInt64{}, "收文 "+req.From, now); err != nil {
				return err
			}
			items[i].State, items[i].Cabinet = to, req.Cabinet
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "document.receive", Subject: fmt.Sprintf("document:%d", d.ID), After: map[string]any{
			"number": d.Number, "from": req.From, "cabinet": req.Cabinet, "count": len(items), "items": fmt.Sprintf("%d-%d", items[0].ID, items[len(items)-1].ID)}})
	})
	if err != nil {
		return Document{}, nil, storeErr("receive document", err)
	}
	return d, items, nil
}

// ReproduceRequest makes approved copies of an item.
type ReproduceRequest struct {
	Approval int64  `json:"approval"`
	Cabinet  string `json:"cabinet"`
}

// Reproduce makes the copies an approval allows (rule 4): each is a new item of the same document
// and level, linked to its source, numbered after the existing copies, and stored in a cabinet.
func (r *Register) Reproduce(ctx context.Context, a Actor, req ReproduceRequest) ([]Item, error) {
	if err := need(a, custody.Text{ZH: "复制文件", EN: "reproduce items"}, custody.Custodian); err != nil {
		return nil, err
	}
	now := store.FormatTime(r.now())
	var ids []int64
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		ap, err := r.validApproval(ctx, tx, req.Approval, ApproveReproduce)
		if err != nil {
			return err
		}
		src, err := loadRow(ctx, tx, ap.Items[0])
		if err != nil {
			return err
		}
		if src.State == custody.Destroyed || src.State == custody.Lost || src.State == custody.TransferredOut {
			return refuseT(CodeRefused, src.name().ZH+" 已"+src.State.Text().ZH+"，不能复制", src.name().EN+" is "+src.State.Text().EN+" and cannot be reproduced")
		}
		cab, err := cabinetID(ctx, tx, req.Cabinet)
		if err != nil {
			return err
		}
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT max(copy_no) FROM items WHERE document_id = ?`, src.docID).Scan(&last); err != nil {
			return err
		}
		made := []auditItem{}
		for i := 1; i <= ap.Copies; i++ {
			res, err := tx.ExecContext(ctx, `INSERT INTO items(document_id, copy_no, source_item_id, state, updated_at) VALUES (?,?,?,?,?)`, src.docID, last+i, src.ID, custody.Registered, now)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			if _, _, err := r.label(ctx, tx, id); err != nil {
				return err
			}
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_events(item_id, at, action, from_state, to_state, actor_id, note) VALUES (?,?,?,?,?,?,?)`,
				id, now, "reproduce", "", custody.Registered, a.ID, fmt.Sprintf("copy of item %d, approval %d", src.ID, ap.ID)); err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: custody.InCabinet, cabinet: nullID(cab)}, custody.Store, a.ID, sql.NullInt64{}, sql.NullInt64{}, "", now); err != nil {
				return err
			}
			ids = append(ids, id)
			made = append(made, auditItem{ID: id, Document: x.Document, Copy: x.Copy, Level: x.Level, From: "", To: custody.InCabinet})
		}
		if err := useApproval(ctx, tx, ap.ID, now); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.reproduce", Subject: fmt.Sprintf("item:%d", src.ID),
			After: map[string]any{"source": src.ID, "copies": made, "cabinet": req.Cabinet}, Approvals: []string{fmt.Sprint(ap.ID)}})
	})
	if err != nil {
		return nil, storeErr("reproduce", err)
	}
	out := make([]Item, 0, len(ids))
	for _, id := range ids {
		it, err := r.Item(ctx, a, id)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// WidenScope adds units and people to a document's readership scope under an approval of the
// issuing unit (rule 3: no widening without the issuing unit's consent).
func (r *Register) WidenScope(ctx context.Context, a Actor, approval int64) (Document, error) {
	if err := need(a, custody.Text{ZH: "扩大知悉范围", EN: "widen a readership scope"}, custody.Custodian); err != nil {
		return Document{}, err
	}
	now := store.FormatTime(r.now())
	var number string
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		ap, err := r.validApproval(ctx, tx, approval, ApproveScope)
		if err != nil {
			return err
		}
		number = ap.Document
		var doc int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM documents WHERE number = ?`, ap.Document).Scan(&doc); err != nil {
			return err
		}
		for _, u := range ap.ScopeUnits {
			id, err := r.unitID(ctx, tx, u)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO document_scope(document_id, unit_id) VALUES (?,?)`, doc, id); err != nil {
				return err
			}
		}
		for _, u := range ap.ScopePeople {
			p, err := personByName(ctx, tx, u)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO document_scope(document_id, person_id) VALUES (?,?)`, doc, p.ID); err != nil {
				return err
			}
		}
		if err := useApproval(ctx, tx, ap.ID, now); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "document.scope", Subject: fmt.Sprintf("document:%d", doc),
			After: map[string]any{"number": ap.Document, "add_units": ap.ScopeUnits, "add_people": ap.ScopePeople, "consent_of": ap.Unit, "approved_by": ap.DecidedBy}, Approvals: []string{fmt.Sprint(ap.ID)}})
	})
	if err != nil {
		return Document{}, storeErr("widen scope", err)
	}
	docs, err := r.Documents(ctx, a)
	if err != nil {
		return Document{}, err
	}
	for _, d := range docs {
		if d.Number == number {
			return d, nil
		}
	}
	return Document{}, refuse(CodeNotFound, "文件 %q 不存在", "document %q does not exist", number)
}

// Event is one step in an item's chain of custody.
type Event struct {
	At          string        `json:"at"`
	Action      string        `json:"action"`
	From        custody.State `json:"from,omitempty"`
	To          custody.State `json:"to"`
	Actor       string        `json:"actor,omitempty"`
	Counterpart string        `json:"counterpart,omitempty"`
	Session     int64         `json:"session,omitempty"`
	Note        string        `json:"note,omitempty"`
}

// History is an item's chain of custody, oldest first (rule 9: traceable).
func (r *Register) History(ctx context.Context, a Actor, item int64) ([]Event, error) {
	if _, err := r.Item(ctx, a, item); err != nil {
		return nil, err
	}
	rows, err := r.st.DB().QueryContext(ctx, `SELECT e.at, e.action, e.from_state, e.to_state, coalesce(p.username, ''), coalesce(c.username, ''), coalesce(e.session_id, 0), e.note
		FROM item_events e LEFT JOIN people p ON p.id = e.actor_id LEFT JOIN people c ON c.id = e.counterpart_id WHERE e.item_id = ? ORDER BY e.id`, item)
	if err != nil {
		return nil, storeErr("item history", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.At, &e.Action, &e.From, &e.To, &e.Actor, &e.Counterpart, &e.Session, &e.Note); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Recover puts lost items that were found back into a cabinet; the finding is recorded in their
// chain of custody with the note (where and how they turned up).
func (r *Register) Recover(ctx context.Context, a Actor, ids []int64, cabinet, note string) ([]Item, error) {
	if err := need(a, custody.Text{ZH: "找回入柜", EN: "recover lost items"}, custody.Custodian); err != nil {
		return nil, err
	}
	if len(ids) == 0 || strings.TrimSpace(note) == "" {
		return nil, refuse(CodeInvalid, "请指定找回的文件份并说明找回经过", "name the items and say how they were found")
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		cab, err := cabinetID(ctx, tx, cabinet)
		if err != nil {
			return err
		}
		found := []auditItem{}
		for _, id := range ids {
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			to, err := step(x, custody.Recover, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, cabinet: nullID(cab)}, custody.Recover, a.ID, sql.NullInt64{}, sql.NullInt64{}, note, now); err != nil {
				return err
			}
			found = append(found, toAuditItem(x, to))
			if err := lossEvent(ctx, tx, x.ID, a.ID, "recovered", fmt.Sprintf("%s 找回入柜 %s：%s", x.name().ZH, cabinet, note), now); err != nil {
				return err
			}
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.recover", Subject: "items:" + strings.Join(idList(ids), ","),
			After: map[string]any{"items": found, "cabinet": cabinet, "note": note}})
	})
	if err != nil {
		return nil, storeErr("recover items", err)
	}
	out := []Item{}
	for _, id := range ids {
		it, err := r.Item(ctx, a, id)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
