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

// Recall campaigns (清退, rule 7) and personnel clearance (离岗清退, rule 6).

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Clearance     = apitype.Clearance
	Recall        = apitype.Recall
	RecallItem    = apitype.RecallItem
	RecallRequest = apitype.RecallRequest
)

var runRecalls = custody.Text{ZH: "组织清退", EN: "run recall campaigns"}

// StartRecall opens a campaign: every copy of the documents that is still in custody joins it;
// while it is open none of them may go out again.
func (r *Register) StartRecall(ctx context.Context, a Actor, req RecallRequest) (Recall, error) {
	if err := need(a, runRecalls, custody.Custodian); err != nil {
		return Recall{}, err
	}
	if err := clean(text("name（清退名称）", &req.Name, custody.MaxTitle, false)); err != nil {
		return Recall{}, err
	}
	for i := range req.Documents {
		if err := clean(text("documents（发文字号）", &req.Documents[i], custody.MaxDocNumber, true)); err != nil {
			return Recall{}, err
		}
	}
	if req.Name == "" || len(req.Documents) == 0 {
		return Recall{}, refuse(CodeInvalid, "清退需要名称和至少一个发文字号", "a recall needs a name and at least one document number")
	}
	nowT := r.now()
	dl, err := r.parseDue(req.Deadline)
	if err != nil {
		return Recall{}, err
	}
	if !dl.After(nowT) {
		return Recall{}, refuse(CodeInvalid, "清退截止时间 %s 已过", "the recall deadline %s is in the past", req.Deadline)
	}
	now := store.FormatTime(nowT)
	var id int64
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO recalls(name, deadline, state, created_by, created_at) VALUES (?,?,?,?,?) RETURNING id`, req.Name, store.FormatTime(dl), "open", a.ID, now).Scan(&id); err != nil {
			return err
		}
		n := 0
		for _, number := range req.Documents {
			var doc int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM documents WHERE number = ?`, number).Scan(&doc); err == sql.ErrNoRows {
				return refuse(CodeNotFound, "文件 %q 不存在", "document %q does not exist", number)
			} else if err != nil {
				return err
			}
			// Items out of custody for good by a recorded step (destroyed, sent to the bureau,
			// transferred) have nothing to return. A lost copy is listed — as 已报失, never as
			// returned — so the recall's paper accounts for every copy (issue 14 point 3).
			res, err := tx.ExecContext(ctx, `INSERT INTO recall_items(recall_id, item_id, holder_id, returned_at)
				SELECT ?, id, holder_id, CASE WHEN state IN ('checked_out','out_of_office','lost') THEN NULL ELSE ? END FROM items
				WHERE document_id = ? AND state NOT IN ('destroyed','sent_for_destruction','transferred_out')
				ON CONFLICT DO NOTHING`, id, now, doc)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "recall.start", Subject: fmt.Sprintf("recall:%d", id),
			After: map[string]any{"name": req.Name, "deadline": store.FormatTime(dl), "documents": req.Documents, "items": n}})
	})
	if err != nil {
		return Recall{}, storeErr("start recall", err)
	}
	return r.Recall(ctx, a, id)
}

// Recall returns a campaign with its progress.
func (r *Register) Recall(ctx context.Context, a Actor, id int64) (Recall, error) {
	rcs, err := r.recalls(ctx, []int64{id})
	if err != nil {
		return Recall{}, storeErr("read recall", err)
	}
	if len(rcs) == 0 {
		return Recall{}, refuse(CodeNotFound, "清退 %d 不存在", "recall %d does not exist", id)
	}
	return rcs[0], nil
}

// recalls reads the campaigns of ids (those that exist) with their items and progress, in their
// order, in three queries.
func (r *Register) recalls(ctx context.Context, ids []int64) ([]Recall, error) {
	db := r.st.DB()
	got := newByID[Recall](ids)
	err := eachIn(ctx, db, `SELECT r.id, r.name, r.deadline, r.state, p.username, r.created_at, coalesce(cp.username, ''), r.close_note
		FROM recalls r JOIN people p ON p.id = r.created_by LEFT JOIN people cp ON cp.id = r.closed_by WHERE r.id IN (:ids)`, ids, func(rows *sql.Rows) error {
		var rc Recall
		if err := rows.Scan(&rc.ID, &rc.Name, &rc.Deadline, &rc.State, &rc.CreatedBy, &rc.Created, &rc.ClosedBy, &rc.CloseNote); err != nil {
			return err
		}
		got.add(rc.ID, rc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	items := map[int64]Item{}
	err = eachIn(ctx, db, itemSelect+` WHERE i.id IN (SELECT item_id FROM recall_items WHERE recall_id IN (:ids))`, ids, func(rows *sql.Rows) error {
		it, err := scanItem(rows)
		items[it.ID] = it
		return err
	})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, `SELECT ri.recall_id, ri.item_id, coalesce(p.username, ''), coalesce(ri.returned_at, '') FROM recall_items ri LEFT JOIN people p ON p.id = ri.holder_id
		WHERE ri.recall_id IN (:ids) ORDER BY ri.recall_id, ri.item_id`, ids, func(rows *sql.Rows) error {
		var id int64
		var ri RecallItem
		if err := rows.Scan(&id, &ri.ID, &ri.HeldBy, &ri.At); err != nil {
			return err
		}
		rc := got.get(id)
		if rc == nil {
			return nil
		}
		ri.Item = items[ri.ID]
		// Back in custody, or gone for good by a recorded step: nothing is outstanding. A lost
		// copy is not returned: it is counted apart.
		ri.Lost = ri.State == custody.Lost
		ri.Returned = ri.State != custody.CheckedOut && ri.State != custody.OutOfOffice && !ri.Lost
		switch {
		case ri.Returned:
			rc.Returned++
		case ri.Lost:
			rc.Lost++
		}
		rc.Items = append(rc.Items, ri)
		rc.Total++
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := got.list()
	for i := range out {
		if dl, err := store.ParseTime(out[i].Deadline); err == nil && now.After(dl) && out[i].Returned+out[i].Lost < out[i].Total {
			out[i].Overdue = true
		}
	}
	return out, nil
}

// Recalls lists campaigns with their progress (without item lists).
func (r *Register) Recalls(ctx context.Context, a Actor) ([]Recall, error) {
	ids, err := queryIDs(ctx, r.st.DB(), `SELECT id FROM recalls ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, storeErr("list recalls", err)
	}
	rcs, err := r.recalls(ctx, ids)
	if err != nil {
		return nil, storeErr("read recall", err)
	}
	for i := range rcs {
		rcs[i].Items = nil
	}
	return rcs, nil
}

// CloseRecall ends a campaign. It is refused while items are outstanding; over copies reported
// lost it closes only by a leader, with the leader's note (issue 14 point 3), so a campaign never
// reads as complete while copies are missing.
func (r *Register) CloseRecall(ctx context.Context, a Actor, id int64, note ...string) (Recall, error) {
	if err := need(a, runRecalls, custody.Custodian, custody.Leader); err != nil {
		return Recall{}, err
	}
	n := strings.Join(note, " ")
	if err := clean(freeText("note（清退说明）", &n)); err != nil {
		return Recall{}, err
	}
	rc, err := r.Recall(ctx, a, id)
	if err != nil {
		return Recall{}, err
	}
	if rc.State != "open" {
		return Recall{}, refuse(CodeConflict, "清退 %d 已结束", "recall %d is already closed", id)
	}
	if out := rc.Total - rc.Returned - rc.Lost; out > 0 {
		return Recall{}, refuse(CodeRefused, "清退 %d 还有 %d 份未收回，不能结束", "recall %d still has %d items out and cannot close", id, out)
	}
	if rc.Lost > 0 && (!a.Has(custody.Leader) || n == "") {
		return Recall{}, refuse(CodeRefused, "清退 %d 有 %d 份已报失、未收回：须由领导填写处理意见后结束清退", "recall %d has %d copies reported lost, not returned: only a leader closes it, with a note on them", id, rc.Lost)
	}
	if !a.Has(custody.Custodian) && rc.Lost == 0 {
		return Recall{}, need(a, runRecalls, custody.Custodian)
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE recalls SET state = 'closed', closed_at = ?, closed_by = ?, close_note = ? WHERE id = ? AND state = 'open'`, store.FormatTime(r.now()), a.ID, n, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "recall.close", Subject: fmt.Sprintf("recall:%d", id), After: map[string]any{"total": rc.Total, "returned": rc.Returned, "lost": rc.Lost, "note": n}})
	})
	if err != nil {
		return Recall{}, storeErr("close recall", err)
	}
	return r.Recall(ctx, a, id)
}

// Clearance lists what a person holds and the approvals still open for them.
func (r *Register) Clearance(ctx context.Context, a Actor, username string) (Clearance, error) {
	if !a.Has(custody.Custodian, custody.Leader, custody.Admin, custody.SecAdmin) && a.Username != username {
		return Clearance{}, refuse(CodeForbidden, "只能查看本人的清退清单", "you may only see your own clearance list")
	}
	p, err := personByName(ctx, r.st.DB(), username)
	if err != nil {
		return Clearance{}, storeErr("clearance", err)
	}
	c := Clearance{Person: p.Username, Name: p.Name, Unit: p.Unit, Active: p.Active, Holdings: []Item{}, Approvals: []Approval{}}
	if c.Holdings, err = r.holdings(ctx, p.ID); err != nil {
		return c, err
	}
	// Everyone who may read this list may read these approvals (theirs, or all of them).
	ids, err := queryIDs(ctx, r.st.DB(), `SELECT id FROM approvals WHERE (for_person_id = ? OR requested_by = ?) AND state IN ('pending','approved')`, p.ID, p.ID)
	if err != nil {
		return c, storeErr("clearance", err)
	}
	aps, _, err := r.loadApprovals(ctx, r.st.DB(), ids)
	if err != nil {
		return c, storeErr("read approval", err)
	}
	c.Approvals = append(c.Approvals, aps...)
	c.Clear = len(c.Holdings) == 0
	return c, nil
}

func (r *Register) holdings(ctx context.Context, person int64) ([]Item, error) {
	rows, err := r.st.DB().QueryContext(ctx, itemSelect+` WHERE i.holder_id = ? AND i.state IN ('checked_out','out_of_office') ORDER BY i.document_id, i.copy_no`, person)
	if err != nil {
		return nil, storeErr("holdings", err)
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

func holdingRefusal(username string, held []Item) error {
	var names []string
	for i, it := range held {
		if i == 5 {
			names = append(names, "…")
			break
		}
		names = append(names, fmt.Sprintf("%s/%d", it.Document, it.Copy))
	}
	list := strings.Join(names, ", ")
	return refuseT(CodeRefused, fmt.Sprintf("%s 仍持有 %d 份涉密文件（%s），须全部交回机要员后才能办理", username, len(held), list),
		fmt.Sprintf("%s still holds %d classified items (%s); everything must be returned to the custodian first", username, len(held), list))
}

// CloseAccount closes a person's account on leaving (rule 6): refused while they hold anything.
func (r *Register) CloseAccount(ctx context.Context, a Actor, username string) error {
	if err := need(a, managePeople, custody.Admin); err != nil {
		return err
	}
	return storeErr("close account", r.st.Change(ctx, func(tx *store.Tx) error {
		p, err := personByName(ctx, tx, username)
		if err != nil {
			return err
		}
		if p.ID == a.ID {
			return refuse(CodeForbidden, "不能停用自己的账号", "you cannot close your own account")
		}
		if !p.Active {
			return refuse(CodeConflict, "%s 的账号已停用", "%s's account is already closed", username)
		}
		held, err := r.holdingsTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			return holdingRefusal(username, held)
		}
		now := store.FormatTime(r.now())
		if _, err := tx.ExecContext(ctx, `UPDATE people SET active = 0, closed_at = ? WHERE id = ?`, now, p.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE person_id = ?`, p.ID); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.close", Subject: fmt.Sprintf("person:%d", p.ID)})
	}))
}

// ChangePost moves a person to another unit (调岗): refused while they hold anything, since their
// clearance list must be empty first. The business roles and approval authority of the old post
// end with it: the security administrator grants those of the new post (the system
// administrator moving a leader must not move the leader's authority with them).
func (r *Register) ChangePost(ctx context.Context, a Actor, username, unit string) error {
	if err := need(a, managePeople, custody.Admin); err != nil {
		return err
	}
	return storeErr("change post", r.st.Change(ctx, func(tx *store.Tx) error {
		p, err := personByName(ctx, tx, username)
		if err != nil {
			return err
		}
		u, err := r.unitID(ctx, tx, unit)
		if err != nil {
			return err
		}
		held, err := r.holdingsTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			return holdingRefusal(username, held)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE people SET unit_id = ? WHERE id = ?`, u, p.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM person_roles WHERE person_id = ? AND role IN ('custodian','leader','holder')`, p.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM person_grants WHERE person_id = ? AND grant_kind IN ('principal_leader','secrecy_leader')`, p.ID); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "person.post", Subject: fmt.Sprintf("person:%d", p.ID), Before: map[string]any{"unit": p.Unit, "roles": p.Roles}, After: map[string]any{"unit": unit, "roles": "granted again by the security administrator"}})
	}))
}

func (r *Register) holdingsTx(ctx context.Context, tx *store.Tx, person int64) ([]Item, error) {
	rows, err := tx.QueryContext(ctx, itemSelect+` WHERE i.holder_id = ? AND i.state IN ('checked_out','out_of_office') ORDER BY i.document_id, i.copy_no`, person)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
