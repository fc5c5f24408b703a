package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Handover sessions (交接) at a custodian's desk. The custodian opens a session for a purpose;
// scans (typed at the desk, or from the desk's scanner through the agent) add the counterpart's
// badge and the items' labels, each checked at once so mistakes show while the people are still
// at the desk; closing re-checks everything and applies all transitions in one transaction with
// one audit record naming both parties — or changes nothing. An abandoned session changes nothing.

// Handover purposes: the words are apitype's, which custodyctl sends; what each does is the
// purposes table below.
const (
	PurposeBorrow      = apitype.PurposeBorrow
	PurposeCirculate   = apitype.PurposeCirculate
	PurposeReadingRoom = apitype.PurposeReadingRoom
	PurposeTakeOut     = apitype.PurposeTakeOut
	PurposeReturn      = apitype.PurposeReturn
	PurposeTransfer    = apitype.PurposeTransfer
	PurposeArchive     = apitype.PurposeArchive
	PurposeDestroy     = apitype.PurposeDestroy
	PurposeStore       = apitype.PurposeStore
	PurposeDispatch    = apitype.PurposeDispatch
	PurposeReceive     = apitype.PurposeReceive
)

// purposeSpec is what a handover purpose does: who is on the other side, what the copy records
// (holder and due, the approval, where it goes, the receipt, the batch) and what else the close
// settles (the approval used up, the batch sent, the recall counted). OpenSession, the scan
// checks and CloseSession read this table; none of them switches on the purpose.
type purposeSpec struct {
	text   custody.Text // apitype's word for the purpose (init)
	action custody.Action
	// reader: the counterpart reads the items — readership scope, reader roles, recalls and
	// borrowing limits apply.
	reader bool
	// party is who stands on the other side of the desk.
	party party
	// holder: the counterpart holds the copies until due (required, or a default).
	holder bool
	due    dueRule
	// approval is the kind of approval the session names (take_out): the approval sets the
	// due, lists the copies, names who takes them and is used up at close.
	approval string
	// cabinet: the copies go into the session's cabinet, or their home cabinet.
	cabinet bool
	// roomPlace: the desk's room is the place unless the session names one (reading room).
	roomPlace bool
	// place is a fixed place the copy records (archive).
	place string
	// keepPurpose: the copy records the purpose it is out for.
	keepPurpose bool
	// target: the receiving unit is one in the register (target_unit, its member signs) or,
	// named by destination, one outside it (see outside).
	target bool
	// receipt: the copy records the session's receipt number, generated when none is given.
	receipt bool
	// batch: an approved destruction batch is sent whole; the counterpart is a custodian (the
	// second of the two), and the batch's approval is used up.
	batch bool
	// fromHolder: the counterpart gives back what is registered to them (the giver is named
	// first); the copies' open recalls count them returned.
	fromHolder bool
}

// party is who stands on the other side of a handover.
type party int

const (
	partyBadge   party = iota // a person with an account here signs with badge and PIN
	partyCourier              // a courier without an account here (dispatch); see sessionRow.outside
	partyNone                 // nobody: the custodian scans copies in
)

// dueRule says how a holder's due time is set when the session is opened.
type dueRule struct {
	required bool          // the custodian must give it
	def      time.Duration // otherwise this long after opening
	sameDay  bool          // and never past the end of the site's day
}

var purposes = map[string]purposeSpec{
	PurposeBorrow: {action: custody.CheckOut, reader: true,
		holder: true, due: dueRule{required: true}, keepPurpose: true},
	PurposeCirculate: {action: custody.CheckOut, reader: true,
		holder: true, due: dueRule{def: 8 * time.Hour}, keepPurpose: true},
	// Reading in the reading room ends the same day: by default four hours, never past the end of
	// the site's day.
	PurposeReadingRoom: {action: custody.CheckOut, reader: true,
		holder: true, due: dueRule{def: 4 * time.Hour, sameDay: true}, roomPlace: true, keepPurpose: true},
	PurposeTakeOut: {action: custody.TakeOut, reader: true,
		holder: true, approval: ApproveTakeOut, keepPurpose: true},
	PurposeReturn: {action: custody.Return,
		cabinet: true, fromHolder: true},
	PurposeTransfer: {action: custody.TransferOut,
		target: true, receipt: true, keepPurpose: true},
	PurposeArchive: {action: custody.ArchiveTransferTo,
		place: "archive", receipt: true, keepPurpose: true},
	PurposeDestroy: {action: custody.Destroy,
		batch: true},
	PurposeStore: {action: custody.Store,
		party: partyNone, cabinet: true},
	PurposeDispatch: {action: custody.Dispatch,
		party: partyCourier, keepPurpose: true},
	PurposeReceive: {action: custody.Receive,
		party: partyNone, cabinet: true},
}

func init() {
	for p, spec := range purposes {
		spec.text = apitype.PurposeText(p) // the words custodyctl shows too
		purposes[p] = spec
	}
}

// PurposeText is the display name of a handover purpose.
func PurposeText(p string) custody.Text { return purposes[p].text }

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	CloseRequest = apitype.CloseRequest
	OpenRequest  = apitype.OpenRequest
	ScanResult   = apitype.ScanResult
	Session      = apitype.Session
	SessionItem  = apitype.SessionItem
	Signature    = apitype.Signature
)

var runHandovers = custody.Text{ZH: "办理交接", EN: "run handovers"}

// OpenSession opens a handover session at a desk. One desk has at most one open session, so the
// desk's scanner always feeds exactly one.
func (r *Register) OpenSession(ctx context.Context, a Actor, req OpenRequest) (Session, error) {
	if err := need(a, runHandovers, custody.Custodian); err != nil {
		return Session{}, err
	}
	if _, ok := purposes[req.Purpose]; !ok {
		return Session{}, refuse(CodeInvalid, "交接用途 %q 无效，应为 borrow、circulate、reading_room、take_out、return、transfer、archive、destroy、store、dispatch 或 receive",
			"handover purpose %q is invalid: want borrow, circulate, reading_room, take_out, return, transfer, archive, destroy, store, dispatch or receive", req.Purpose)
	}
	if err := clean(code("desk", &req.Desk, false), code("cabinet", &req.Cabinet, false), code("target_unit", &req.TargetUnit, false),
		text("place（地点）", &req.Place, custody.MaxPlace, false), text("receipt（回执编号）", &req.Receipt, custody.MaxRef, false),
		text("courier（机要交通员）", &req.Courier, custody.MaxName, false), text("supervisor（监销人）", &req.Supervisor, custody.MaxName, false),
		text("envelope（信封编号）", &req.Envelope, custody.MaxRef, false), text("destination（接收单位）", &req.Destination, custody.MaxPlace, false),
		text("receiver（签收人）", &req.Receiver, custody.MaxName, false),
		freeText("note（备注）", &req.Note)); err != nil {
		return Session{}, err
	}
	now := r.now()
	var id int64
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var deskID int64
		var room string
		var deskUnit sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT id, room, unit_id FROM desks WHERE code = ?`, req.Desk).Scan(&deskID, &room, &deskUnit); err == sql.ErrNoRows {
			return refuse(CodeNotFound, "工作台 %q 不存在", "desk %q does not exist", req.Desk)
		} else if err != nil {
			return err
		}
		if err := withinCustody(ctx, tx, a.ID, deskUnit, custody.Text{ZH: "工作台 " + req.Desk, EN: "desk " + req.Desk}); err != nil {
			return err
		}
		o, err := r.openTerms(ctx, tx, a, req, room, now)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO sessions(desk_id, purpose, state, custodian_id, due_at, approval_id, batch_id, cabinet_id, target_unit_id, place, note, receipt, courier, supervisor, envelope, destination, receiver, expected_at, opened_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, deskID, req.Purpose, "open", a.ID, o.due, o.approval, o.batch, o.cabinet, o.target, o.place, req.Note, req.Receipt, req.Courier, req.Supervisor,
			req.Envelope, req.Destination, req.Receiver, o.expected, store.FormatTime(now)).Scan(&id)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "工作台 %s 已有未结束的交接，请先完成或放弃", "desk %s already has an open handover; close or abandon it first", req.Desk)
		} else if err != nil {
			return err
		}
		if purposes[req.Purpose].receipt && req.Receipt == "" {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET receipt = ? WHERE id = ?`, fmt.Sprintf("JJ-%s-%06d", r.zone.Format(now, "2006"), id), id); err != nil {
				return err
			}
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "handover.open", Subject: fmt.Sprintf("session:%d", id),
			After: map[string]any{"desk": req.Desk, "purpose": req.Purpose, "due": o.due.String, "approval": o.approval.Int64, "batch": o.batch.Int64, "target_unit": req.TargetUnit,
				"courier": req.Courier, "envelope": req.Envelope, "destination": req.Destination, "receiver": req.Receiver, "receipt": req.Receipt, "expected": o.expected.String}})
	})
	if err != nil {
		return Session{}, storeErr("open handover", err)
	}
	return r.Session(ctx, a, id)
}

// opening is what a session is opened with, once checked against its purpose.
type opening struct {
	due, expected                    sql.NullString
	approval, batch, cabinet, target sql.NullInt64
	place                            string
}

// openTerms checks the request against what its purpose needs (purposeSpec) and returns what the
// session records.
func (r *Register) openTerms(ctx context.Context, tx *store.Tx, a Actor, req OpenRequest, room string, now time.Time) (opening, error) {
	spec := purposes[req.Purpose]
	o := opening{place: req.Place}
	if spec.holder && spec.approval == "" {
		if err := r.openDue(req, spec.due, now, &o); err != nil {
			return o, err
		}
	}
	if spec.roomPlace && o.place == "" {
		o.place = room
	}
	if spec.approval != "" {
		ap, err := r.validApproval(ctx, tx, req.Approval, spec.approval)
		if err != nil {
			return o, err
		}
		o.approval, o.due = nullID(ap.ID), sql.NullString{String: ap.Due, Valid: true}
	}
	if spec.cabinet && req.Cabinet != "" {
		c, err := cabinetID(ctx, tx, req.Cabinet)
		o.cabinet = nullID(c)
		if err != nil {
			return o, err
		}
		u, err := cabinetUnit(ctx, tx, c)
		if err != nil {
			return o, err
		}
		if err := withinCustody(ctx, tx, a.ID, u, custody.Text{ZH: "密码柜 " + req.Cabinet, EN: "cabinet " + req.Cabinet}); err != nil {
			return o, err
		}
	}
	if spec.party == partyCourier {
		var err error
		o.expected, err = r.openDispatch(req, now)
		o.place = req.Destination
		return o, err
	}
	if spec.target {
		if req.Destination != "" || req.Receiver != "" {
			o.place = req.Destination
			return o, openOutsideTransfer(req)
		}
		if req.TargetUnit == "" {
			return o, refuse(CodeInvalid, "移交须指定接收单位（target_unit）", "a transfer names the receiving unit (target_unit)")
		}
		u, err := r.unitID(ctx, tx, req.TargetUnit)
		o.target, o.place = nullID(u), req.TargetUnit
		if err != nil {
			return o, err
		}
	}
	if spec.batch {
		return o, r.openBatch(ctx, tx, req, &o)
	}
	return o, nil
}

// openDue sets a holder's due time: the one asked for, which must be in the future, or the
// purpose's default.
func (r *Register) openDue(req OpenRequest, rule dueRule, now time.Time, o *opening) error {
	if req.Due == "" {
		if rule.required {
			return refuse(CodeInvalid, "借阅须规定归还时间", "borrowing needs a due time (due)")
		}
		d := rule.def
		if rule.sameDay {
			z := r.zone.In(now)
			eod := time.Date(z.Year(), z.Month(), z.Day(), 23, 59, 59, 0, z.Location())
			d = min(d, eod.Sub(now))
		}
		o.due = sql.NullString{String: store.FormatTime(now.Add(d)), Valid: true}
		return nil
	}
	t, err := r.parseDue(req.Due)
	if err != nil {
		return err
	}
	if !t.After(now) {
		return refuse(CodeInvalid, "归还时间 %s 已过", "the due time %s is in the past", req.Due)
	}
	o.due = sql.NullString{String: store.FormatTime(t), Valid: true}
	return nil
}

// openBatch checks a handover for destruction (送销): an approved batch, and the bureau's
// courier, receipt number and supervisor — the secrecy bureau destroys centrally.
func (r *Register) openBatch(ctx context.Context, tx *store.Tx, req OpenRequest, o *opening) error {
	b, err := r.loadBatch(ctx, tx, req.Batch)
	if err == nil {
		if b.State != "approved" {
			err = refuse(CodeRefused, "销毁批次 %d 状态为 %s，只有经领导批准的批次才能销毁", "destruction batch %d is %s; only a batch approved by a leader can be destroyed", b.ID, b.State)
		}
		o.batch = nullID(b.ID)
	}
	var missing []string
	for _, f := range []struct{ v, zh string }{{req.Courier, "保密局交接人员（courier）"}, {req.Receipt, "保密局回执编号（receipt）"}, {req.Supervisor, "监销人（supervisor）"}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.zh)
		}
	}
	if len(missing) > 0 && err == nil {
		err = refuseT(CodeInvalid, "送销须填写"+strings.Join(missing, "、")+"：销毁由市保密局统一进行，交接时记录对方人员、回执编号和监销人",
			"sending for destruction records the bureau's courier, the bureau's receipt number and the supervisor (courier, receipt, supervisor): the secrecy bureau destroys centrally")
	}
	return err
}

// DeskScan adds a scan to the open session of a desk. It is the one entry point for the desk's
// scanner (the agent's scan observations, source "agent:<id>") and for typed or pasted codes.
func (r *Register) DeskScan(ctx context.Context, desk, data, source string) (ScanResult, error) {
	var id int64
	err := r.st.DB().QueryRowContext(ctx, `SELECT s.id FROM sessions s JOIN desks d ON d.id = s.desk_id WHERE d.code = ? AND s.state = 'open'`, desk).Scan(&id)
	if err == sql.ErrNoRows {
		return ScanResult{}, refuse(CodeRefused, "工作台 %s 没有进行中的交接，扫描未记录", "desk %s has no open handover; the scan was not recorded", desk)
	} else if err != nil {
		return ScanResult{}, storeErr("desk scan", err)
	}
	return r.scan(ctx, Actor{Username: source}, id, data, source)
}

// Scan adds a typed or pasted code to a session the actor opened.
func (r *Register) Scan(ctx context.Context, a Actor, session int64, data string) (ScanResult, error) {
	if err := need(a, runHandovers, custody.Custodian); err != nil {
		return ScanResult{}, err
	}
	var custodian int64
	err := r.st.DB().QueryRowContext(ctx, `SELECT custodian_id FROM sessions WHERE id = ?`, session).Scan(&custodian)
	if err == sql.ErrNoRows {
		return ScanResult{}, refuse(CodeNotFound, "交接 %d 不存在", "handover %d does not exist", session)
	} else if err != nil {
		return ScanResult{}, storeErr("scan", err)
	}
	if custodian != a.ID {
		return ScanResult{}, refuse(CodeForbidden, "交接 %d 由另一位机要员办理", "handover %d is run by another custodian", session)
	}
	res, err := r.scan(ctx, a, session, data, "typed")
	var re *Error
	if errors.As(err, &re) && re.Err == nil {
		// Kept with the session like the scanner's (issue 21 point 7): the answer shows the
		// refusal at once, the list keeps it after the next scan and a reload.
		r.keepReject(ctx, session, data, "typed", re.Text)
	}
	return res, err
}

// sessionRow is a session as the rules see it.
type sessionRow struct {
	id, custodian                    int64
	purpose, state                   string
	counterpart, approval, batch     sql.NullInt64
	cabinet, target, second          sql.NullInt64
	due, place, receipt, desk, opens string
	courier, supervisor              string
	envelope, destination, receiver  string
	expected                         string
}

func loadSession(ctx context.Context, q querier, id int64) (sessionRow, error) {
	var s sessionRow
	err := q.QueryRowContext(ctx, `SELECT s.id, s.custodian_id, s.purpose, s.state, s.counterpart_id, s.approval_id, s.batch_id, s.cabinet_id, s.target_unit_id, s.second_custodian_id,
		coalesce(s.due_at, ''), s.place, s.receipt, d.code, s.opened_at, s.courier, s.supervisor, s.envelope, s.destination, s.receiver, coalesce(s.expected_at, '')
		FROM sessions s JOIN desks d ON d.id = s.desk_id WHERE s.id = ?`, id).
		Scan(&s.id, &s.custodian, &s.purpose, &s.state, &s.counterpart, &s.approval, &s.batch, &s.cabinet, &s.target, &s.second, &s.due, &s.place, &s.receipt, &s.desk, &s.opens, &s.courier, &s.supervisor,
			&s.envelope, &s.destination, &s.receiver, &s.expected)
	if err == sql.ErrNoRows {
		return s, refuse(CodeNotFound, "交接 %d 不存在", "handover %d does not exist", id)
	}
	if err == nil && s.state != "open" {
		return s, refuseT(CodeConflict, fmt.Sprintf("交接 %d 已%s，不能再更改", id, map[string]string{"closed": "完成", "abandoned": "放弃"}[s.state]), fmt.Sprintf("handover %d is already %s and cannot change", id, s.state))
	}
	return s, err
}

func (r *Register) scan(ctx context.Context, a Actor, id int64, data, source string) (ScanResult, error) {
	var res ScanResult
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		s, err := loadSession(ctx, tx, id)
		if err != nil {
			return err
		}
		l, err := resolveLabel(ctx, tx, data)
		if err != nil {
			return err
		}
		if l.person != 0 && s.purpose == PurposeStore {
			return refuse(CodeInvalid, "扫描入柜不需要对方刷工作证，请扫描文件标签", "scanning in needs no counterpart's badge; scan the labels")
		}
		if l.person != 0 && s.outside() {
			return refuseT(CodeInvalid, purposes[s.purpose].text.ZH+"的对方在本系统没有账号，不刷工作证：请扫描文件标签；绝密文件由第二位机要员在确认时刷证",
				purposes[s.purpose].text.EN+" has a counterpart without an account here, so no badge: scan the labels; for top-secret copies a second custodian signs at confirmation")
		}
		if l.person != 0 {
			p, err := loadPerson(ctx, tx, "p.id = ?", l.person)
			if err != nil {
				return err
			}
			if s.counterpart.Valid && s.counterpart.Int64 != p.ID {
				return refuse(CodeConflict, "本次交接的对方已确定，一次交接只能有一位对方；如需更换请放弃本次交接", "this handover already has its counterpart; one handover has one counterpart — abandon it to change")
			}
			if err := r.checkCounterpart(ctx, tx, s, p); err != nil {
				return err
			}
			// Items scanned before the badge are checked against this counterpart now, not at close.
			ids, err := sessionItemIDs(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, item := range ids {
				x, err := loadRow(ctx, tx, item)
				if err != nil {
					return err
				}
				if err := r.checkItem(ctx, tx, s, x, &p); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET counterpart_id = ? WHERE id = ?`, p.ID, id); err != nil {
				return err
			}
			res.Kind = "badge"
			return tx.Audit(store.Entry{Actor: a.Username, Action: "handover.scan", Subject: fmt.Sprintf("session:%d", id), After: map[string]any{"badge": p.Username, "source": source}})
		}
		x, err := loadRow(ctx, tx, l.item)
		if err != nil {
			return err
		}
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM session_items WHERE session_id = ? AND item_id = ?`, id, x.ID).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			n := x.name()
			return refuseT(CodeConflict, n.ZH+" 在本次交接中已扫描过，未重复计数", n.EN+" was already scanned in this handover; it is counted once")
		}
		var cp *personRow
		if s.counterpart.Valid {
			p, err := loadPerson(ctx, tx, "p.id = ?", s.counterpart.Int64)
			if err != nil {
				return err
			}
			cp = &p
		}
		if err := r.checkItem(ctx, tx, s, x, cp); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_items(session_id, item_id, scan, source, state_seen, at) VALUES (?,?,?,?,?,?)`,
			id, x.ID, custody.Clip(data, 40), source, x.State, store.FormatTime(r.now())); err != nil {
			return err
		}
		res.Kind, res.Item = "item", &x.Item
		return tx.Audit(store.Entry{Actor: a.Username, Action: "handover.scan", Subject: fmt.Sprintf("session:%d", id), After: map[string]any{"item": x.ID, "document": x.Document, "copy": x.Copy, "source": source}})
	})
	if err != nil {
		return ScanResult{}, storeErr("scan", err)
	}
	res.Session, err = r.session(ctx, id, nil)
	return res, err
}

// checkCounterpart refuses a badge whose owner may not take part in this handover.
func (r *Register) checkCounterpart(ctx context.Context, q querier, s sessionRow, p personRow) error {
	spec := purposes[s.purpose]
	switch {
	case !p.Active:
		return refuse(CodeForbidden, "%s 的账号已停用，不能办理交接", "%s's account is closed and cannot take part in a handover", p.Username)
	case p.ID == s.custodian:
		return refuse(CodeForbidden, "交接对方不能是机要员本人", "the counterpart cannot be the custodian running the handover")
	case Actor{Roles: p.Roles}.Has(custody.Admin, custody.SecAdmin, custody.Auditor):
		return refuse(CodeForbidden, "%s 是三员，不得经手涉密文件", "%s is one of the 三员 (system, security or audit administrators) and may not handle documents", p.Username)
	case spec.batch && !p.has(custody.Custodian):
		return refuse(CodeForbidden, "销毁交接须由两名机要员共同办理；%s 不是机要员", "destruction is handed over by two custodians; %s is not a custodian", p.Username)
	case spec.reader && !p.has(custody.Holder, custody.Leader):
		return refuse(CodeForbidden, "%s 没有阅文人或领导角色，不能%s", "%s holds neither the reader nor the leader role and cannot take part in %s", p.Username, spec.text.ZH)
	case spec.target && (!p.UnitID.Valid || p.UnitID != s.target):
		return refuse(CodeForbidden, "%s 不属于接收单位，不能签收移交", "%s does not belong to the receiving unit and cannot sign for the transfer", p.Username)
	}
	if spec.reader {
		if err := r.checkOverdue(ctx, q, p); err != nil {
			return err
		}
	}
	if spec.approval != "" && s.approval.Valid {
		var forID sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT for_person_id FROM approvals WHERE id = ?`, s.approval.Int64).Scan(&forID); err != nil {
			return err
		}
		if forID.Int64 != p.ID {
			return refuse(CodeForbidden, "审批 %d 批准的是另一人携带外出，%s 不能领取", "approval %d lets someone else take the items out, not %s", s.approval.Int64, p.Username)
		}
	}
	return nil
}

// checkItem says whether an item may be part of this handover (with this counterpart, when known).
func (r *Register) checkItem(ctx context.Context, q rowsQuerier, s sessionRow, x row, cp *personRow) error {
	spec := purposes[s.purpose]
	if _, err := step(x, spec.action, custody.Custodian); err != nil {
		if !spec.fromHolder && (x.State == custody.CheckedOut || x.State == custody.OutOfOffice) {
			n := x.name()
			return refuseT(CodeRefused, fmt.Sprintf("%s 在 %s 手中，须先归还机要员入柜，才能再交给他人（不得横传）", n.ZH, x.Holder),
				fmt.Sprintf("%s is with %s; it must come back to the custodian before anyone else gets it (no passing between readers)", n.EN, x.Holder))
		}
		return err
	}
	n := x.name()
	if u, err := itemUnit(ctx, q, x); err != nil {
		return err
	} else if err := withinCustody(ctx, q, s.custodian, u, n); err != nil {
		return err
	}
	if err := r.checkLimit(s, x); err != nil {
		return err
	}
	if spec.reader {
		var recalled int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM recall_items ri JOIN recalls rc ON rc.id = ri.recall_id WHERE ri.item_id = ? AND rc.state = 'open'`, x.ID).Scan(&recalled); err != nil {
			return err
		}
		if recalled > 0 {
			return refuseT(CodeRefused, n.ZH+" 正在清退中，不得借出", n.EN+" is under a recall campaign (清退) and may not go out")
		}
		if cp != nil {
			ok, err := inScope(ctx, q, x.docID, x.issuingID, *cp)
			if err != nil {
				return err
			}
			if !ok {
				return refuseT(CodeForbidden, fmt.Sprintf("%s 不在 %s 的知悉范围内，不能%s；扩大知悉范围须经发文单位同意", cp.Username, x.Document, spec.text.ZH),
					fmt.Sprintf("%s is outside the readership scope of %s and may not take part in %s; widening the scope needs the issuing unit's consent", cp.Username, x.Document, spec.text.EN))
			}
		}
	}
	// The lifecycle lets a copy in transit become transferred out — by the other unit's receipt
	// (RecordReceipt), not at this desk, where it cannot be.
	if spec.target && x.State == custody.InTransit {
		return refuseT(CodeRefused, n.ZH+" 正在机要交通途中，不在本机要室：由对方回执登记移交，或退回入柜后再办理",
			n.EN+" is with a courier, not at this desk: record the other unit's receipt, or scan it back in first")
	}
	if spec.fromHolder && cp != nil && x.holderID.Int64 != cp.ID {
		return refuseT(CodeForbidden, fmt.Sprintf("%s 登记在 %s 名下，不能由 %s 交回：涉密文件不得在阅文人之间横传，须由本人交回机要员", n.ZH, x.Holder, cp.Username),
			fmt.Sprintf("%s is registered to %s and cannot be returned by %s: items may not pass between readers — the holder returns it to the custodian", n.EN, x.Holder, cp.Username))
	}
	if spec.approval != "" {
		var covered int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM approval_items WHERE approval_id = ? AND item_id = ?`, s.approval.Int64, x.ID).Scan(&covered); err != nil {
			return err
		}
		if covered == 0 {
			return refuseT(CodeRefused, fmt.Sprintf("%s 不在携带外出审批 %d 的清单中", n.ZH, s.approval.Int64), fmt.Sprintf("%s is not on take-out approval %d", n.EN, s.approval.Int64))
		}
	}
	if spec.batch && (!x.batchID.Valid || x.batchID != s.batch) {
		return refuseT(CodeRefused, fmt.Sprintf("%s 不在销毁批次 %d 中：只能整批销毁经批准清册中的文件", n.ZH, s.batch.Int64),
			fmt.Sprintf("%s is not in destruction batch %d: only items on an approved list are destroyed, as a batch", n.EN, s.batch.Int64))
	}
	return nil
}

// CloseSession applies the handover: every item's transition, both parties' confirmation, one
// audit record. A refusal changes nothing and leaves the session open. It loads what the people
// at the desk confirm (loadClosing, before the transaction: PINs are hashed outside the single
// writer), then in one transaction checks everything again (checkClosing) and applies it
// (applyClosing) — the same path for every purpose, which purposes describes.
func (r *Register) CloseSession(ctx context.Context, a Actor, id int64, req CloseRequest) (Session, error) {
	if err := need(a, runHandovers, custody.Custodian); err != nil {
		return Session{}, err
	}
	c, err := r.loadClosing(ctx, a, id, req)
	if err != nil {
		return Session{}, err
	}
	c.now = store.FormatTime(r.now())
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if err := r.checkClosing(ctx, tx, &c); err != nil {
			return err
		}
		return r.applyClosing(ctx, tx, c)
	})
	if err != nil {
		return Session{}, c.notDone(err)
	}
	return r.Session(ctx, a, id)
}

// closing is a handover being confirmed: the session, the people who sign it, and — once checked
// — each copy with its move.
type closing struct {
	a                 Actor
	s                 sessionRow
	spec              purposeSpec
	outside           bool      // the other side has no account here: a courier, an outside unit
	cp                personRow // the counterpart (zero when nobody signs for the other side)
	companion, second personRow // a top-secret carry-out's second person; the second custodian
	rows              []row
	moves             []move
	ap                Approval // the approval a take-out uses
	batchApproval     int64    // the approval a destruction batch uses
	now               string
}

// loadClosing reads the session and checks what the people at the desk confirm with badge and
// PIN: the counterpart, a carry-out's companion, a second custodian.
func (r *Register) loadClosing(ctx context.Context, a Actor, id int64, req CloseRequest) (closing, error) {
	s, err := loadSession(ctx, r.st.DB(), id)
	if err != nil {
		return closing{}, storeErr("close handover", err)
	}
	c := closing{a: a, s: s, spec: purposes[s.purpose], outside: s.outside()}
	if s.custodian != a.ID {
		return c, refuse(CodeForbidden, "交接 %d 由另一位机要员办理，须由其本人确认", "handover %d is run by another custodian, who must confirm it", id)
	}
	if c.spec.party == partyNone {
		return c, nil
	}
	if !c.outside {
		if !s.counterpart.Valid {
			return c, refuse(CodeRefused, "尚未扫描对方的工作证，交接不能完成", "the counterpart's badge has not been scanned; the handover cannot close")
		}
		if err := r.signPIN(ctx, a, s, s.counterpart.Int64, req.PIN, req.NewPIN); err != nil {
			return c, err
		}
		if c.spec.approval != "" && s.approval.Valid {
			if c.companion, err = r.companion(ctx, s, req); err != nil {
				return c, err
			}
		}
	}
	c.second, err = r.secondCustodian(ctx, a, s, req.SecondBadge, req.SecondPIN)
	return c, err
}

// companion checks the second person an approval names for a top-secret carry-out: their badge
// and PIN. No second person named: the zero person.
func (r *Register) companion(ctx context.Context, s sessionRow, req CloseRequest) (personRow, error) {
	var companion personRow
	var with sql.NullInt64
	if err := r.st.DB().QueryRowContext(ctx, `SELECT companion_id FROM approvals WHERE id = ?`, s.approval.Int64).Scan(&with); err != nil {
		return companion, storeErr("close handover", err)
	}
	if !with.Valid {
		return companion, nil
	}
	if req.CompanionBadge == "" {
		return companion, refuse(CodeRefused, "审批 %d 规定两人同行携带外出：同行人须刷工作证并输入 PIN", "approval %d names two persons for the carry-out: the second one scans a badge and types a PIN", s.approval.Int64)
	}
	l, err := resolveLabel(ctx, r.st.DB(), req.CompanionBadge)
	if err != nil {
		return companion, storeErr("close handover", err)
	}
	if l.person != with.Int64 {
		return companion, refuse(CodeForbidden, "该工作证不是审批 %d 指定的同行人", "this badge is not the second person named on approval %d", s.approval.Int64)
	}
	if companion, err = loadPerson(ctx, r.st.DB(), "p.id = ?", l.person); err != nil {
		return companion, storeErr("close handover", err)
	}
	if !companion.Active {
		return companion, refuse(CodeForbidden, "%s 的账号已停用，不能办理交接", "%s's account is closed and cannot take part in a handover", companion.Username)
	}
	return companion, r.checkPIN(ctx, companion.ID, req.CompanionPIN)
}

// checkClosing re-reads the session and its copies inside the transaction and checks every rule
// again; it decides each copy's move, so applyClosing only writes.
func (r *Register) checkClosing(ctx context.Context, tx *store.Tx, c *closing) error {
	cur, err := loadSession(ctx, tx, c.s.id)
	if err != nil {
		return err
	}
	signs := c.spec.party != partyNone && !c.outside // the counterpart signs with a badge
	if signs && cur.counterpart != c.s.counterpart {
		return refuse(CodeConflict, "交接对方在确认期间被更改，请重新确认", "the counterpart changed while confirming; confirm again")
	}
	c.s = cur
	s, spec := c.s, c.spec
	if signs {
		if c.cp, err = loadPerson(ctx, tx, "p.id = ?", s.counterpart.Int64); err != nil {
			return err
		}
		if err := r.checkCounterpart(ctx, tx, s, c.cp); err != nil {
			return err
		}
	}
	ids, err := sessionItemIDs(ctx, tx, s.id)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		if spec.party == partyNone {
			return refuse(CodeRefused, "本次入柜还没有扫描任何文件", "no items have been scanned in")
		}
		return refuse(CodeRefused, "本次交接还没有扫描任何文件", "no items have been scanned into this handover")
	}
	c.rows = make([]row, len(ids))
	topSecret := false
	for i, item := range ids {
		if c.rows[i], err = loadRow(ctx, tx, item); err != nil {
			return err
		}
		topSecret = topSecret || c.rows[i].Level == custody.TopSecret
	}
	if spec.party != partyNone {
		// Rule 10: a top-secret handover has two custodians. In a destruction handover the
		// counterpart is the second custodian; otherwise a second one confirms with badge and PIN.
		if topSecret && !spec.batch && c.second.ID == 0 {
			return refuse(CodeRefused, "绝密文件交接须有两名机要员在场：请第二位机要员刷工作证并输入 PIN", "top-secret handovers need two custodians: a second custodian scans a badge and types a PIN")
		}
	}
	if spec.approval != "" {
		if c.ap, err = r.validApproval(ctx, tx, s.approval.Int64, spec.approval); err != nil {
			return err
		}
	}
	if spec.batch {
		b, err := r.loadBatch(ctx, tx, s.batch.Int64)
		if err != nil {
			return err
		}
		if b.State != "approved" {
			return refuse(CodeRefused, "销毁批次 %d 状态为 %s，不能销毁", "destruction batch %d is %s and cannot be destroyed", b.ID, b.State)
		}
		if len(b.Items) != len(ids) {
			return refuseT(CodeRefused, fmt.Sprintf("销毁批次 %d 共 %d 份，本次只扫描了 %d 份：销毁须整批进行，不得逐份销毁", b.ID, len(b.Items), len(ids)),
				fmt.Sprintf("destruction batch %d lists %d items and %d were scanned: a batch is destroyed whole, never one by one", b.ID, len(b.Items), len(ids)))
		}
		c.batchApproval = b.Approval
	}
	c.moves = make([]move, len(c.rows))
	for i, x := range c.rows {
		// Scanning in checked each copy as it was scanned; the close only moves them.
		if spec.party != partyNone {
			cp := &c.cp
			if !signs {
				cp = nil
			}
			if err := r.checkItem(ctx, tx, s, x, cp); err != nil {
				return err
			}
		}
		if c.moves[i], err = c.move(x); err != nil {
			return err
		}
	}
	return nil
}

// move is where one copy goes, as the purpose says.
func (c *closing) move(x row) (move, error) {
	s, spec := c.s, c.spec
	to, err := step(x, spec.action, custody.Custodian)
	if err != nil {
		return move{}, err
	}
	m := move{to: to}
	if spec.keepPurpose {
		m.purpose = s.purpose
	}
	if spec.cabinet {
		m.cabinet = s.cabinet
		if !m.cabinet.Valid {
			m.cabinet = x.homeCab
		}
		if !m.cabinet.Valid {
			n := x.name()
			if spec.party == partyNone {
				return m, refuseT(CodeInvalid, n.ZH+" 没有指定密码柜，请在入柜时指定", n.EN+" has no cabinet; open the scanning-in with a cabinet")
			}
			return m, refuseT(CodeInvalid, n.ZH+" 没有原存放密码柜，请在交接中指定入柜的密码柜", n.EN+" has no home cabinet; open the return with a cabinet")
		}
	} else {
		m.place = s.place
		if spec.place != "" {
			m.place = spec.place
		}
	}
	if spec.holder {
		m.holder, m.due = s.counterpart, s.due
	}
	if spec.approval != "" {
		m.due, m.approval = c.ap.Due, nullID(c.ap.ID)
	}
	if spec.receipt {
		m.receipt = s.receipt
	}
	if spec.batch {
		m.batch = s.batch
	}
	return m, nil
}

// applyClosing writes what checkClosing decided: each copy's move and event, the transit of a
// dispatch or outside transfer, the approval used up, the batch sent, the recalls counted, the
// signatures and one audit record.
func (r *Register) applyClosing(ctx context.Context, tx *store.Tx, c closing) error {
	s, spec, a, now := c.s, c.spec, c.a, c.now
	counterpart, note := s.counterpart, ""
	var transit int64
	switch {
	case spec.party == partyNone:
		counterpart, note = sql.NullInt64{}, spec.text.ZH
	case c.outside:
		var err error
		if transit, note, err = openTransit(ctx, tx, s, a.ID, now); err != nil {
			return err
		}
		counterpart = sql.NullInt64{}
	}
	moved := make([]auditItem, 0, len(c.rows))
	for i, x := range c.rows {
		if err := apply(ctx, tx, x, c.moves[i], spec.action, a.ID, counterpart, nullID(s.id), note, now); err != nil {
			return err
		}
		if spec.fromHolder {
			if _, err := tx.ExecContext(ctx, `UPDATE recall_items SET returned_at = ? WHERE item_id = ? AND returned_at IS NULL AND recall_id IN (SELECT id FROM recalls WHERE state = 'open')`, now, x.ID); err != nil {
				return err
			}
		}
		if transit != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO transit_items(transit_id, item_id) VALUES (?,?)`, transit, x.ID); err != nil {
				return err
			}
		}
		moved = append(moved, toAuditItem(x, c.moves[i].to))
	}
	var approvals []string
	if spec.approval != "" {
		if err := useApproval(ctx, tx, c.ap.ID, now); err != nil {
			return err
		}
		approvals = []string{fmt.Sprint(c.ap.ID)}
	}
	if spec.batch {
		// 送销: the batch is with the bureau; it is destroyed when the bureau's certificate
		// number is entered (CertifyDestruction).
		if _, err := tx.ExecContext(ctx, `UPDATE destruction_batches SET session_id = ?, sent_at = ?, courier = ?, bureau_receipt = ?, supervisor = ? WHERE id = ?`,
			s.id, now, s.courier, s.receipt, s.supervisor, s.batch.Int64); err != nil {
			return err
		}
		if err := useApproval(ctx, tx, c.batchApproval, now); err != nil {
			return err
		}
		approvals = []string{fmt.Sprint(c.batchApproval)}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET state = 'closed', closed_at = ?, second_custodian_id = ?, companion_id = ? WHERE id = ?`, now, nullID(c.second.ID), nullID(c.companion.ID), s.id); err != nil {
		return err
	}
	for _, sg := range []struct {
		part   string
		person int64
	}{{"counterpart", c.cp.ID}, {"companion", c.companion.ID}, {"second_custodian", c.second.ID}} {
		if sg.person == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO signatures(session_id, person_id, badge, part, desk, at) SELECT ?, person_id, code, ?, ?, ? FROM badges WHERE person_id = ?`,
			s.id, sg.part, s.desk, now, sg.person); err != nil {
			return err
		}
	}
	// Giver first, receiver second: for outgoing purposes the custodian gives.
	parties := []string{a.Username}
	if c.cp.ID != 0 {
		parties = append(parties, c.cp.Username)
		if spec.fromHolder {
			parties = []string{c.cp.Username, a.Username}
		}
	}
	for _, p := range []personRow{c.companion, c.second} {
		if p.ID != 0 {
			parties = append(parties, p.Username)
		}
	}
	after := map[string]any{"desk": s.desk, "purpose": s.purpose, "count": len(moved), "items": moved}
	switch {
	case c.outside:
		for k, v := range map[string]any{"transit": transit, "destination": s.destination, "courier": s.courier, "envelope": s.envelope, "expected": s.expected,
			"receipt": s.receipt, "receiver": s.receiver} {
			after[k] = v
		}
	case spec.party != partyNone:
		for k, v := range map[string]any{"due": s.due, "receipt": s.receipt, "batch": s.batch.Int64, "courier": s.courier, "supervisor": s.supervisor} {
			after[k] = v
		}
	}
	return tx.Audit(store.Entry{Actor: a.Username, Action: "handover." + s.purpose, Subject: fmt.Sprintf("session:%d", s.id),
		After: after, Approvals: approvals, Parties: parties})
}

// notDone words a refused close: nothing changed, and why.
func (c closing) notDone(err error) error {
	var re *Error
	if !errors.As(err, &re) {
		if c.spec.party == partyNone {
			return storeErr("close scanning in", err)
		}
		return storeErr("close handover", err)
	}
	what := custody.Text{ZH: "交接", EN: "handover"}
	if c.spec.party == partyNone || c.outside {
		what = c.spec.text
	}
	return &Error{Code: re.Code, Text: custody.Text{ZH: what.ZH + "未完成，未作任何更改：" + re.Text.ZH, EN: what.EN + " not done, nothing changed: " + re.Text.EN}, Err: err}
}

// secondCustodian checks the second custodian's badge and PIN (rule 10), when one is given: another
// active custodian, not the counterpart. No badge: the zero person.
func (r *Register) secondCustodian(ctx context.Context, a Actor, s sessionRow, badge, pin string) (personRow, error) {
	var second personRow
	if badge == "" {
		return second, nil
	}
	l, err := resolveLabel(ctx, r.st.DB(), badge)
	if err != nil {
		return second, storeErr("close handover", err)
	}
	if l.person == 0 {
		return second, refuse(CodeInvalid, "第二位机要员的工作证编码无效", "the second custodian's badge code is not a badge")
	}
	if second, err = loadPerson(ctx, r.st.DB(), "p.id = ?", l.person); err != nil {
		return second, storeErr("close handover", err)
	}
	if !second.has(custody.Custodian) || !second.Active || second.ID == a.ID || second.ID == s.counterpart.Int64 {
		return second, refuse(CodeForbidden, "%s 不能作为第二位机要员：须是另一位在职机要员", "%s cannot be the second custodian: it must be another active custodian", second.Username)
	}
	return second, r.checkPIN(ctx, second.ID, pin)
}

func sessionItemIDs(ctx context.Context, tx *store.Tx, id int64) ([]int64, error) {
	return queryIDs(ctx, tx, `SELECT item_id FROM session_items WHERE session_id = ? ORDER BY at, item_id`, id)
}

// RemoveScan takes an item back out of an open session (scanned by mistake).
func (r *Register) RemoveScan(ctx context.Context, a Actor, id, item int64) (Session, error) {
	if err := need(a, runHandovers, custody.Custodian); err != nil {
		return Session{}, err
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		s, err := loadSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if s.custodian != a.ID {
			return refuse(CodeForbidden, "交接 %d 由另一位机要员办理", "handover %d is run by another custodian", id)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM session_items WHERE session_id = ? AND item_id = ?`, id, item)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refuse(CodeNotFound, "文件份 %d 不在交接 %d 中", "item %d is not in handover %d", item, id)
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "handover.unscan", Subject: fmt.Sprintf("session:%d", id), After: map[string]any{"item": item}})
	})
	if err != nil {
		return Session{}, storeErr("remove scan", err)
	}
	return r.Session(ctx, a, id)
}

// AbandonSession ends a session without changing any item. Any custodian may abandon one, so a
// session left open at the end of a shift does not block the desk; nothing moves. The reason is
// required always (issue 21 point 7): it is kept as the session's note and in its audit record,
// and a handover that ends without a word is one nobody can account for later.
func (r *Register) AbandonSession(ctx context.Context, a Actor, id int64, reason string) (Session, error) {
	if err := need(a, runHandovers, custody.Custodian); err != nil {
		return Session{}, err
	}
	if err := clean(freeText("reason（放弃事由）", &reason)); err != nil {
		return Session{}, err
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		s, err := loadSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if strings.TrimSpace(reason) == "" { // a rule of the office, so refused and audited
			if s.custodian != a.ID {
				return refuse(CodeRefused, "放弃另一位机要员的交接须说明原因", "abandoning another custodian's handover needs a reason")
			}
			return refuse(CodeRefused, "放弃交接须说明原因（reason）", "abandoning a handover needs a reason (reason)")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET state = 'abandoned', closed_at = ?, note = ? WHERE id = ?`, store.FormatTime(r.now()), reason, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "handover.abandon", Subject: fmt.Sprintf("session:%d", id), After: map[string]any{"reason": reason}})
	})
	if err != nil {
		return Session{}, storeErr("abandon handover", err)
	}
	return r.Session(ctx, a, id)
}

// Session returns a session with its items; titles only for people who may see them.
func (r *Register) Session(ctx context.Context, a Actor, id int64) (Session, error) {
	gate, err := r.titleGate(ctx, a)
	if err != nil {
		return Session{}, storeErr("read handover", err)
	}
	return r.session(ctx, id, gate)
}

// session reads a handover; titles shows the titles of the documents it allows (nil: none).
func (r *Register) session(ctx context.Context, id int64, titles func(doc int64) bool) (Session, error) {
	ss, err := r.sessions(ctx, []int64{id})
	if err != nil {
		return Session{}, storeErr("read handover", err)
	}
	if len(ss) == 0 {
		return Session{}, refuse(CodeNotFound, "交接 %d 不存在", "handover %d does not exist", id)
	}
	s := ss[0]
	db := r.st.DB()
	rows, err := db.QueryContext(ctx, `SELECT si.scan, si.source, si.at, si.item_id, d.title FROM session_items si JOIN items i ON i.id = si.item_id JOIN documents d ON d.id = i.document_id WHERE si.session_id = ? ORDER BY si.at, si.item_id`, id)
	if err != nil {
		return s, storeErr("read handover", err)
	}
	defer rows.Close()
	s.Items = []SessionItem{}
	for rows.Next() {
		var si SessionItem
		if err := rows.Scan(&si.Scan, &si.Source, &si.At, &si.ID, &si.Title); err != nil {
			return s, err
		}
		s.Items = append(s.Items, si)
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	rows.Close()
	byID := map[int64]Item{}
	irows, err := db.QueryContext(ctx, itemSelect+` WHERE i.id IN (SELECT item_id FROM session_items WHERE session_id = ?)`, id)
	if err != nil {
		return s, storeErr("read handover", err)
	}
	defer irows.Close()
	for irows.Next() {
		it, err := scanItem(irows)
		if err != nil {
			return s, err
		}
		byID[it.ID] = it
	}
	if err := irows.Err(); err != nil {
		return s, err
	}
	for i := range s.Items {
		s.Items[i].Item = byID[s.Items[i].ID]
		if titles == nil || !titles(s.Items[i].DocumentID) {
			s.Items[i].Title = ""
		}
	}
	s.Count = len(s.Items)
	return s, nil
}

// sessions reads the handovers of ids (those that exist) without their items — with the
// count of items, the desk scanner's rejected reads and the signatures — in their order, in four
// queries.
func (r *Register) sessions(ctx context.Context, ids []int64) ([]Session, error) {
	db := r.st.DB()
	got := newByID[Session](ids)
	err := eachIn(ctx, db, `SELECT s.id, d.code, d.room, s.purpose, s.state, c.username, c.name, coalesce(p.username, ''), coalesce(p.name, ''), coalesce(pu.code, ''),
		coalesce(s2.username, ''), coalesce(s2.name, ''), coalesce(s.due_at, ''), coalesce(s.approval_id, 0), coalesce(s.batch_id, 0), coalesce(cb.code, ''), coalesce(tu.code, ''), s.place, s.note, s.receipt, s.opened_at, coalesce(s.closed_at, ''), s.courier, s.supervisor,
		s.envelope, s.destination, s.receiver, coalesce(s.expected_at, ''), coalesce((SELECT id FROM transits WHERE session_id = s.id), 0)
		FROM sessions s JOIN desks d ON d.id = s.desk_id JOIN people c ON c.id = s.custodian_id LEFT JOIN people p ON p.id = s.counterpart_id LEFT JOIN units pu ON pu.id = p.unit_id
		LEFT JOIN people s2 ON s2.id = s.second_custodian_id LEFT JOIN cabinets cb ON cb.id = s.cabinet_id LEFT JOIN units tu ON tu.id = s.target_unit_id WHERE s.id IN (:ids)`, ids,
		func(rows *sql.Rows) error {
			var s Session
			if err := rows.Scan(&s.ID, &s.Desk, &s.Room, &s.Purpose, &s.State, &s.Custodian, &s.CustodianName, &s.Counterpart, &s.CounterpartName, &s.CounterpartUnit,
				&s.Second, &s.SecondName, &s.Due, &s.Approval, &s.Batch, &s.Cabinet, &s.TargetUnit, &s.Place, &s.Note, &s.Receipt, &s.Opened, &s.Closed, &s.Courier, &s.Supervisor,
				&s.Envelope, &s.Destination, &s.Receiver, &s.Expected, &s.Transit); err != nil {
				return err
			}
			got.add(s.ID, s)
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, `SELECT session_id, count(*) FROM session_items WHERE session_id IN (:ids) GROUP BY session_id`, ids, func(rows *sql.Rows) error {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		if s := got.get(id); s != nil {
			s.Count = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, `SELECT session_id, at, scan, source, reason_zh, reason_en FROM session_rejects WHERE session_id IN (:ids) ORDER BY id`, ids, func(rows *sql.Rows) error {
		var id int64
		var x RejectedScan
		if err := rows.Scan(&id, &x.At, &x.Scan, &x.Source, &x.Reason.ZH, &x.Reason.EN); err != nil {
			return err
		}
		if s := got.get(id); s != nil {
			s.Rejected = append(s.Rejected, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachIn(ctx, db, `SELECT sg.session_id, sg.part, p.username, p.name, sg.badge, sg.desk, sg.at FROM signatures sg JOIN people p ON p.id = sg.person_id WHERE sg.session_id IN (:ids) ORDER BY sg.id`, ids,
		func(rows *sql.Rows) error {
			var id int64
			var sg Signature
			if err := rows.Scan(&id, &sg.Part, &sg.Username, &sg.Name, &sg.Badge, &sg.Desk, &sg.At); err != nil {
				return err
			}
			if s := got.get(id); s != nil {
				s.Signatures = append(s.Signatures, sg)
			}
			return nil
		})
	return got.list(), err
}

// Sessions lists sessions, newest first; state narrows ("open"). The list carries no items, so
// no titles.
func (r *Register) Sessions(ctx context.Context, a Actor, state string) ([]Session, error) {
	q, args := `SELECT id FROM sessions`, []any{}
	if state != "" {
		q, args = q+` WHERE state = ?`, append(args, state)
	}
	ids, err := queryIDs(ctx, r.st.DB(), q+` ORDER BY id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, storeErr("list handovers", err)
	}
	ss, err := r.sessions(ctx, ids)
	if err != nil {
		return nil, storeErr("read handover", err)
	}
	return ss, nil
}

// signPIN checks the counterpart's PIN; at the first use of a badge without a PIN, the
// counterpart chooses it at the desk (newPIN) and that signs the handover.
func (r *Register) signPIN(ctx context.Context, a Actor, s sessionRow, person int64, pin, newPIN string) error {
	var hash string
	err := r.st.DB().QueryRowContext(ctx, `SELECT pin_hash FROM badges WHERE person_id = ?`, person).Scan(&hash)
	if err == nil && hash == "" && newPIN != "" {
		if err := validPIN(newPIN); err != nil {
			return err
		}
		return r.writePIN(ctx, a.Username, person, newPIN, "", s.desk)
	}
	return r.checkPIN(ctx, person, pin)
}
