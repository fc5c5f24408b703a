package register

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Losses (rule 9, issue 14 point 3). A 报失 is the one event the regulations say must be reported
// at once: it moves the copies to lost — which freezes them, since the lifecycle lets a lost copy
// do nothing but be recovered — and opens a loss case (追查) in the same transaction. The case
// keeps the history of the search; only a leader closes it, with a conclusion. The critical
// reported_lost alert is raised from the open cases (OpenLosses) by package alert: custodyd's API
// applies it right after the report, and the site check keeps it in line every tick, so a crash
// between the two cannot lose the alarm.

// LossCase is a loss case with its copies and history.
type LossCase struct {
	ID         int64       `json:"id"`
	State      string      `json:"state"` // open, closed
	ReportedBy string      `json:"reported_by"`
	ReportedAt string      `json:"reported_at"`
	Note       string      `json:"note"`
	ClosedBy   string      `json:"closed_by,omitempty"`
	ClosedAt   string      `json:"closed_at,omitempty"`
	Conclusion string      `json:"conclusion,omitempty"`
	Items      []Item      `json:"items"`
	History    []LossEvent `json:"history,omitempty"`
}

// LossEvent is one step of a loss case.
type LossEvent struct {
	At    string `json:"at"`
	Actor string `json:"actor,omitempty"`
	Event string `json:"event"` // reported, progress, recovered, alert_linked, closed
	Note  string `json:"note,omitempty"`
}

var (
	traceLosses = custody.Text{ZH: "记录追查情况", EN: "record the search for lost items"}
	closeLosses = custody.Text{ZH: "结束追查", EN: "close a loss case"}
	// Loss cases are read by those who trace them: custodians and leaders. The 三员 stay blind
	// to the register's content; a holder sees the case their own report opened, nothing more.
	readLosses = custody.Text{ZH: "查看追查", EN: "read loss cases"}
)

// ReportLost records items as lost at once and returns them (see ReportLoss).
func (r *Register) ReportLost(ctx context.Context, a Actor, ids []int64, note string) ([]Item, error) {
	c, err := r.ReportLoss(ctx, a, ids, note)
	return c.Items, err
}

// ReportLoss records items as lost at once (rule 9) and opens their loss case. A holder reports
// only what they hold.
func (r *Register) ReportLoss(ctx context.Context, a Actor, ids []int64, note string) (LossCase, error) {
	if len(ids) == 0 {
		return LossCase{}, refuse(CodeInvalid, "请指定丢失的文件份", "name the lost items")
	}
	if err := clean(freeText("note（丢失经过）", &note)); err != nil {
		return LossCase{}, err
	}
	if note == "" {
		return LossCase{}, refuse(CodeInvalid, "请说明丢失经过（时间、地点、情形）", "describe the loss (when, where, how)")
	}
	role := actingRole(a)
	now := store.FormatTime(r.now())
	var caseID int64
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO loss_cases(state, reported_by, reported_at, note) VALUES ('open',?,?,?) RETURNING id`, a.ID, now, note).Scan(&caseID); err != nil {
			return err
		}
		lost := []auditItem{}
		holders := []string{}
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				return refuse(CodeInvalid, "文件份 %d 重复", "item %d is named twice", id)
			}
			seen[id] = true
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if role == custody.Holder && x.holderID.Int64 != a.ID {
				return refuseT(CodeForbidden, x.name().ZH+" 不在您名下，请由机要员或领导报失", x.name().EN+" is not held by you; a custodian or leader reports it")
			}
			to, err := step(x, custody.ReportLost, role)
			if err != nil {
				return err
			}
			// The home cabinet stays: it is where a found copy goes back, and the cabinet the
			// alert names (a room code, never a title, on external channels).
			if err := apply(ctx, tx, x, move{to: to, holder: x.holderID, due: x.Due}, custody.ReportLost, a.ID, x.holderID, sql.NullInt64{}, note, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO loss_case_items(case_id, item_id) VALUES (?,?)`, caseID, id); err != nil {
				return err
			}
			lost = append(lost, toAuditItem(x, to))
			if x.Holder != "" {
				holders = append(holders, x.Holder)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO loss_case_events(case_id, at, actor_id, event, note) VALUES (?,?,?,?,?)`, caseID, now, a.ID, "reported", note); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.lost", Subject: "items:" + strings.Join(idList(ids), ","),
			After: map[string]any{"items": lost, "note": note, "loss_case": caseID}, Parties: holders})
	})
	if err != nil {
		return LossCase{}, storeErr("report loss", err)
	}
	return r.lossCase(ctx, caseID)
}

// lossEvent appends to the open loss cases of an item (a recovery, a linked alert).
func lossEvent(ctx context.Context, tx *store.Tx, item, actor int64, event, note, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO loss_case_events(case_id, at, actor_id, event, note)
		SELECT lc.id, ?, ?, ?, ? FROM loss_cases lc JOIN loss_case_items li ON li.case_id = lc.id WHERE li.item_id = ? AND lc.state = 'open'`, now, nullID(actor), event, note, item)
	return err
}

// LossCase returns a loss case with its copies and history.
func (r *Register) LossCase(ctx context.Context, a Actor, id int64) (LossCase, error) {
	if err := need(a, readLosses, custody.Custodian, custody.Leader); err != nil {
		return LossCase{}, err
	}
	return r.lossCase(ctx, id)
}

// lossCase reads a case for a caller that has already been let through (the reporter sees the
// case their report opened).
func (r *Register) lossCase(ctx context.Context, id int64) (LossCase, error) {
	cs, err := r.lossCases(ctx, []int64{id})
	if err != nil {
		return LossCase{}, storeErr("read loss case", err)
	}
	if len(cs) == 0 {
		return LossCase{}, refuse(CodeNotFound, "追查 %d 不存在", "loss case %d does not exist", id)
	}
	return cs[0], nil
}

// lossCases reads the cases of ids (those that exist), in their order, in three queries.
func (r *Register) lossCases(ctx context.Context, ids []int64) ([]LossCase, error) {
	db := r.st.DB()
	got := newByID[LossCase](ids)
	err := eachIn(ctx, db, `SELECT lc.id, lc.state, p.username, lc.reported_at, lc.note, coalesce(cp.username, ''), coalesce(lc.closed_at, ''), lc.conclusion
		FROM loss_cases lc JOIN people p ON p.id = lc.reported_by LEFT JOIN people cp ON cp.id = lc.closed_by WHERE lc.id IN (:ids)`, ids, func(rows *sql.Rows) error {
		c := LossCase{Items: []Item{}}
		if err := rows.Scan(&c.ID, &c.State, &c.ReportedBy, &c.ReportedAt, &c.Note, &c.ClosedBy, &c.ClosedAt, &c.Conclusion); err != nil {
			return err
		}
		got.add(c.ID, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, itemsOf("loss_case_items", "case_id")+` ORDER BY i.document_id, i.copy_no`, ids, func(rows *sql.Rows) error {
		var id int64
		it, err := scanItem(keyed{rows, &id})
		if err != nil {
			return err
		}
		if c := got.get(id); c != nil {
			c.Items = append(c.Items, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, `SELECT e.case_id, e.at, coalesce(p.username, ''), e.event, e.note FROM loss_case_events e LEFT JOIN people p ON p.id = e.actor_id WHERE e.case_id IN (:ids) ORDER BY e.id`, ids,
		func(rows *sql.Rows) error {
			var id int64
			var e LossEvent
			if err := rows.Scan(&id, &e.At, &e.Actor, &e.Event, &e.Note); err != nil {
				return err
			}
			if c := got.get(id); c != nil {
				c.History = append(c.History, e)
			}
			return nil
		})
	return got.list(), err
}

// LossCases lists loss cases, newest first; state narrows ("open").
func (r *Register) LossCases(ctx context.Context, a Actor, state string) ([]LossCase, error) {
	if err := need(a, readLosses, custody.Custodian, custody.Leader); err != nil {
		return nil, err
	}
	if state != "" && state != "open" && state != "closed" {
		return nil, refuse(CodeInvalid, "state 应为 open（追查中）或 closed（已结案）", "state must be open or closed")
	}
	q, args := `SELECT id FROM loss_cases`, []any{}
	if state != "" {
		q, args = q+` WHERE state = ?`, append(args, state)
	}
	ids, err := queryIDs(ctx, r.st.DB(), q+` ORDER BY id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, storeErr("list loss cases", err)
	}
	cs, err := r.lossCases(ctx, ids)
	if err != nil {
		return nil, storeErr("read loss case", err)
	}
	return cs, nil
}

// NoteLossCase records progress of the search (追查情况): custodians and leaders.
func (r *Register) NoteLossCase(ctx context.Context, a Actor, id int64, note string) (LossCase, error) {
	if err := need(a, traceLosses, custody.Custodian, custody.Leader); err != nil {
		return LossCase{}, err
	}
	if err := clean(freeText("note（追查情况）", &note)); err != nil {
		return LossCase{}, err
	}
	if note == "" {
		return LossCase{}, refuse(CodeInvalid, "请填写追查情况", "write what the search found")
	}
	return r.lossStep(ctx, a, id, "progress", note, false)
}

// CloseLossCase concludes the search: a leader only, with the conclusion (结论：找回、确认丢失并已
// 上报保密部门 …). Copies still lost stay lost; the reported_lost alert clears with the case.
func (r *Register) CloseLossCase(ctx context.Context, a Actor, id int64, conclusion string) (LossCase, error) {
	if err := need(a, closeLosses, custody.Leader); err != nil {
		return LossCase{}, err
	}
	if err := clean(freeText("conclusion（追查结论）", &conclusion)); err != nil {
		return LossCase{}, err
	}
	if conclusion == "" {
		// The rule that a case ends only on a leader's written conclusion: refused and audited.
		return LossCase{}, refuse(CodeRefused, "结束追查须由领导填写结论", "closing a loss case needs the leader's conclusion")
	}
	return r.lossStep(ctx, a, id, "closed", conclusion, true)
}

func (r *Register) lossStep(ctx context.Context, a Actor, id int64, event, note string, closing bool) (LossCase, error) {
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM loss_cases WHERE id = ?`, id).Scan(&state); err == sql.ErrNoRows {
			return refuse(CodeNotFound, "追查 %d 不存在", "loss case %d does not exist", id)
		} else if err != nil {
			return err
		}
		if state != "open" {
			return refuse(CodeConflict, "追查 %d 已结束", "loss case %d is already closed", id)
		}
		if closing {
			if _, err := tx.ExecContext(ctx, `UPDATE loss_cases SET state = 'closed', closed_by = ?, closed_at = ?, conclusion = ? WHERE id = ?`, a.ID, now, note, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO loss_case_events(case_id, at, actor_id, event, note) VALUES (?,?,?,?,?)`, id, now, a.ID, event, note); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "loss." + event, Subject: fmt.Sprintf("loss_case:%d", id), After: map[string]any{"note": note}})
	})
	if err != nil {
		return LossCase{}, storeErr("loss case", err)
	}
	return r.lossCase(ctx, id)
}

// LostItem is a copy of an open loss case, as the alerting needs it: identifiers only.
type LostItem struct {
	ItemID   int64
	Number   string // 发文字号/份号
	Level    custody.Level
	Case     int64
	Holder   string
	Cabinet  string // home cabinet (for the room code), may be ""
	Reported string // RFC 3339
}

// OpenLosses lists the copies of open loss cases that are still lost.
func (r *Register) OpenLosses(ctx context.Context) ([]LostItem, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT i.id, d.number || '/' || coalesce(si.copy_no, i.copy_no) || CASE WHEN i.repro_no IS NULL THEN '' ELSE '-复制件' || i.repro_no END, d.level, lc.id, coalesce(p.username, ''), coalesce(c.code, ''), lc.reported_at
		FROM loss_cases lc JOIN loss_case_items li ON li.case_id = lc.id JOIN items i ON i.id = li.item_id JOIN documents d ON d.id = i.document_id
		LEFT JOIN people p ON p.id = i.holder_id LEFT JOIN cabinets c ON c.id = i.home_cabinet_id LEFT JOIN items si ON si.id = i.source_item_id
		WHERE lc.state = 'open' AND i.state = 'lost' ORDER BY lc.id, i.id`)
	if err != nil {
		return nil, storeErr("open losses", err)
	}
	defer rows.Close()
	var out []LostItem
	for rows.Next() {
		var l LostItem
		if err := rows.Scan(&l.ItemID, &l.Number, &l.Level, &l.Case, &l.Holder, &l.Cabinet, &l.Reported); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
