package register

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Destruction batches (rule 8): a custodian lists the items (造册) — they become
// destruction_pending and an approval goes to a leader of the unit; after approval two custodians
// hand the whole batch over in one destroy session and the items become destroyed. There is no
// way to destroy one item by itself.

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Batch        = apitype.Batch
	BatchRequest = apitype.BatchRequest
)

var listDestruction = custody.Text{ZH: "编制销毁清册", EN: "list items for destruction"}

// ListDestruction records a destruction batch and its approval request in one step.
func (r *Register) ListDestruction(ctx context.Context, a Actor, req BatchRequest) (Batch, error) {
	if err := need(a, listDestruction, custody.Custodian); err != nil {
		return Batch{}, err
	}
	if req.Unit != "" {
		return Batch{}, errNamesDecider
	}
	if len(req.Items) == 0 {
		return Batch{}, refuse(CodeInvalid, "销毁清册不能为空", "a destruction list cannot be empty")
	}
	if err := clean(freeText("reason（销毁事由）", &req.Reason)); err != nil {
		return Batch{}, err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return Batch{}, refuse(CodeInvalid, "请填写销毁理由", "give the reason for destruction")
	}
	nowT := r.now()
	now := store.FormatTime(nowT)
	var b Batch
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		ap := Approval{Kind: ApproveDestruction, State: "pending", RequestedBy: a.Username, Reason: req.Reason, Items: req.Items, Created: now,
			Expires: store.FormatTime(nowT.AddDate(0, 0, 30))}
		if req.Expires != "" {
			t, err := r.parseDue(req.Expires)
			if err != nil {
				return err
			}
			if !t.After(nowT) {
				return refuse(CodeInvalid, "审批有效期 %s 已过", "the approval would expire in the past (%s)", req.Expires)
			}
			ap.Expires = store.FormatTime(t)
		}
		// The items' own refusals (lifecycle, custody) come before who would decide the list.
		for _, id := range req.Items {
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if _, err := step(x, custody.ListDestruction, custody.Custodian); err != nil {
				return err
			}
		}
		apID, err := r.insertApproval(ctx, tx, a, ApprovalRequest{Kind: ApproveDestruction, Items: req.Items, Reason: req.Reason}, &ap, nowT)
		if err != nil {
			return err
		}
		var unit sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT unit_id FROM approvals WHERE id = ?`, apID).Scan(&unit); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO destruction_batches(unit_id, state, reason, created_by, approval_id, created_at) VALUES (?,?,?,?,?,?) RETURNING id`,
			unit, "listed", req.Reason, a.ID, apID, now).Scan(&b.ID); err != nil {
			return err
		}
		moved := []auditItem{}
		seen := map[int64]bool{}
		for _, id := range req.Items {
			if seen[id] {
				return refuse(CodeInvalid, "文件份 %d 在清册中重复", "item %d is listed twice", id)
			}
			seen[id] = true
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if u, err := itemUnit(ctx, tx, x); err != nil {
				return err
			} else if err := withinCustody(ctx, tx, a.ID, u, x.name()); err != nil {
				return err
			}
			to, err := step(x, custody.ListDestruction, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, cabinet: x.cabinetID, batch: nullID(b.ID)}, custody.ListDestruction, a.ID, sql.NullInt64{}, sql.NullInt64{}, fmt.Sprintf("batch %d", b.ID), now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO destruction_items(batch_id, item_id) VALUES (?,?)`, b.ID, id); err != nil {
				return err
			}
			moved = append(moved, toAuditItem(x, to))
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "destruction.list", Subject: fmt.Sprintf("batch:%d", b.ID),
			After: map[string]any{"items": moved, "count": len(moved), "reason": req.Reason, "approval": apID}, Approvals: []string{fmt.Sprint(apID)}})
	})
	if err != nil {
		return Batch{}, storeErr("list destruction", err)
	}
	return r.Batch(ctx, a, b.ID)
}

// Batch returns a destruction batch.
func (r *Register) Batch(ctx context.Context, a Actor, id int64) (Batch, error) {
	b, err := r.loadBatch(ctx, r.st.DB(), id)
	return b, storeErr("read destruction batch", err)
}

type rowsQuerier interface {
	querier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (r *Register) loadBatch(ctx context.Context, q rowsQuerier, id int64) (Batch, error) {
	bs, err := loadBatches(ctx, q, []int64{id})
	if err != nil {
		return Batch{}, err
	}
	if len(bs) == 0 {
		return Batch{}, refuse(CodeNotFound, "销毁批次 %d 不存在", "destruction batch %d does not exist", id)
	}
	return bs[0], nil
}

// loadBatches reads the batches of ids (those that exist), in their order, in two queries.
func loadBatches(ctx context.Context, q rowsQuerier, ids []int64) ([]Batch, error) {
	got := newByID[Batch](ids)
	err := eachIn(ctx, q, `SELECT b.id, coalesce(u.code, ''), b.state, b.reason, p.username, coalesce(b.approval_id, 0), b.session_id, b.created_at, coalesce(b.destroyed_at, ''),
		coalesce(b.sent_at, ''), b.courier, b.bureau_receipt, b.supervisor, b.certificate_no, coalesce(cp.username, '')
		FROM destruction_batches b JOIN people p ON p.id = b.created_by LEFT JOIN units u ON u.id = b.unit_id LEFT JOIN people cp ON cp.id = b.certified_by WHERE b.id IN (:ids)`, ids,
		func(rows *sql.Rows) error {
			var b Batch
			var session sql.NullInt64
			if err := rows.Scan(&b.ID, &b.Unit, &b.State, &b.Reason, &b.CreatedBy, &b.Approval, &session, &b.Created, &b.Destroyed,
				&b.Sent, &b.Courier, &b.BureauReceipt, &b.Supervisor, &b.CertificateNo, &b.CertifiedBy); err != nil {
				return err
			}
			b.Session = session.Int64
			if b.State == "approved" && b.Sent != "" {
				b.State = "sent"
			}
			b.Items = []int64{}
			got.add(b.ID, b)
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, q, `SELECT batch_id, item_id FROM destruction_items WHERE batch_id IN (:ids) ORDER BY item_id`, ids, func(rows *sql.Rows) error {
		var batch, item int64
		if err := rows.Scan(&batch, &item); err != nil {
			return err
		}
		if b := got.get(batch); b != nil {
			b.Items = append(b.Items, item)
		}
		return nil
	})
	return got.list(), err
}

// Batches lists destruction batches, newest first.
func (r *Register) Batches(ctx context.Context, a Actor) ([]Batch, error) {
	db := r.st.DB()
	ids, err := queryIDs(ctx, db, `SELECT id FROM destruction_batches ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, storeErr("list destruction batches", err)
	}
	bs, err := loadBatches(ctx, db, ids)
	if err != nil {
		return nil, storeErr("read destruction batch", err)
	}
	return bs, nil
}

// CancelBatch takes a batch that was not destroyed off the list: its items go back to their
// cabinets and a pending approval is withdrawn.
func (r *Register) CancelBatch(ctx context.Context, a Actor, id int64, reason string) (Batch, error) {
	if err := need(a, listDestruction, custody.Custodian); err != nil {
		return Batch{}, err
	}
	if err := clean(freeText("reason（撤销事由）", &reason)); err != nil {
		return Batch{}, err
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		b, err := r.loadBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if b.State == "destroyed" || b.State == "sent" {
			return refuse(CodeConflict, "销毁批次 %d 已送销或已销毁，不能撤销", "destruction batch %d was sent to the bureau or destroyed and cannot be cancelled", id)
		}
		for _, item := range b.Items {
			x, err := loadRow(ctx, tx, item)
			if err != nil {
				return err
			}
			if x.State != custody.DestructionPending {
				continue // reported lost meanwhile: stays as it is
			}
			to, err := step(x, custody.Unlist, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, cabinet: x.cabinetID}, custody.Unlist, a.ID, sql.NullInt64{}, sql.NullInt64{}, reason, now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM destruction_items WHERE batch_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE destruction_batches SET state = 'rejected' WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'rejected', note = CASE WHEN note = '' THEN '清册已撤销' ELSE note END WHERE id = ? AND state IN ('pending','approved')`, b.Approval); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "destruction.cancel", Subject: fmt.Sprintf("batch:%d", id), After: map[string]any{"reason": reason, "items": b.Items}})
	})
	if err != nil {
		return Batch{}, storeErr("cancel destruction batch", err)
	}
	return r.Batch(ctx, a, id)
}

// CertifyDestruction records the secrecy bureau's destruction certificate for a batch sent to it
// (送销): its copies become destroyed — the only way a copy is destroyed, since the office never
// destroys by itself. A custodian enters it; the certificate number is required.
func (r *Register) CertifyDestruction(ctx context.Context, a Actor, id int64, certificate, note string) (Batch, error) {
	if err := need(a, custody.Text{ZH: "登记保密局销毁证明", EN: "record the bureau's destruction certificate"}, custody.Custodian); err != nil {
		return Batch{}, err
	}
	if err := clean(text("certificate（销毁证明编号）", &certificate, custody.MaxRef, false), freeText("note（备注）", &note)); err != nil {
		return Batch{}, err
	}
	if certificate == "" {
		return Batch{}, refuse(CodeInvalid, "请填写保密局销毁证明编号", "enter the number of the secrecy bureau's destruction certificate")
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		b, err := r.loadBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if b.State != "sent" {
			return refuse(CodeRefused, "销毁批次 %d 状态为 %s：只有已送销（交保密局）的批次才能登记销毁证明", "destruction batch %d is %s: only a batch sent to the bureau gets its destruction certificate", id, b.State)
		}
		moved := []auditItem{}
		for _, item := range b.Items {
			x, err := loadRow(ctx, tx, item)
			if err != nil {
				return err
			}
			if x.State != custody.SentForDestruction {
				continue // reported lost meanwhile: stays lost, its loss case goes on
			}
			to, err := step(x, custody.CertifyDestroyed, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, batch: x.batchID}, custody.CertifyDestroyed, a.ID, sql.NullInt64{}, sql.NullInt64{}, "销毁证明 "+certificate, now); err != nil {
				return err
			}
			moved = append(moved, toAuditItem(x, to))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE destruction_batches SET state = 'destroyed', destroyed_at = ?, certificate_no = ?, certified_by = ? WHERE id = ?`, now, certificate, a.ID, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "destruction.certify", Subject: fmt.Sprintf("batch:%d", id),
			After: map[string]any{"certificate": certificate, "note": note, "items": moved, "count": len(moved), "bureau_receipt": b.BureauReceipt}})
	})
	if err != nil {
		return Batch{}, storeErr("record destruction certificate", err)
	}
	return r.Batch(ctx, a, id)
}
