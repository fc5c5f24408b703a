package register

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Transit (机要交通) and handovers to units outside the register (上交、移交), issue 14 point 5.
//
// A dispatch is a desk handover (purpose dispatch): the custodian opens it with the courier's
// name, the envelope number, the receiving unit and the expected arrival, scans each copy that
// goes into the envelope, and confirms; the copies are 传递中 (in_transit) and a transit records
// the envelope. The courier and the other unit have no account here, so nobody else signs —
// except a second custodian with badge and PIN when a copy is top-secret (rule 10). When the
// other unit's receipt comes back, RecordReceipt enters its number and the receiver's name and the
// copies are 已移交 (transferred_out). An envelope that comes back undelivered is scanned in at
// the desk (purpose receive) like any store. A handover at the desk to a person of an outside
// unit (purpose transfer with a destination instead of target_unit) records the receipt at once.
// Until the receipt or a loss report ends it, a transit past its expected arrival is a finding
// (transit_overdue, package alert), read through OverdueTransits.

// outside reports whether the session's counterpart has no account here: a courier, or a person
// of an outside unit. Nobody's badge is scanned; a second custodian signs top-secret copies.
func (s sessionRow) outside() bool {
	spec := purposes[s.purpose]
	return spec.party == partyCourier || spec.target && s.destination != ""
}

// openDispatch checks what a dispatch is opened with and returns the expected arrival.
func (r *Register) openDispatch(req OpenRequest, now time.Time) (sql.NullString, error) {
	var missing []string
	for _, f := range []struct{ v, zh string }{{req.Courier, "机要交通员（courier）"}, {req.Envelope, "信封编号（envelope）"},
		{req.Destination, "接收单位（destination）"}, {req.Expected, "预计送达时间（expected）"}} {
		if f.v == "" {
			missing = append(missing, f.zh)
		}
	}
	if len(missing) > 0 {
		// A rule of the office, not a malformed request: refused (and so audited) like any step.
		return sql.NullString{}, refuseT(CodeRefused, "交机要交通须填写"+strings.Join(missing, "、")+"：信封封号、交通员和接收单位记入登记簿，逾期未收到回执即报警",
			"a dispatch by courier records the courier, the envelope number, the receiving unit and the expected arrival (courier, envelope, destination, expected): an envelope without its receipt by then raises an alert")
	}
	if req.TargetUnit != "" || req.Receiver != "" {
		return sql.NullString{}, refuse(CodeInvalid, "交机要交通以接收单位名称（destination）填写，签收人在登记回执时填写",
			"a dispatch names the receiving unit (destination); the receiver is recorded with the receipt")
	}
	t, err := r.parseDue(req.Expected)
	if err != nil {
		return sql.NullString{}, err
	}
	if !t.After(now) {
		return sql.NullString{}, refuse(CodeInvalid, "预计送达时间 %s 已过", "the expected arrival %s is in the past", req.Expected)
	}
	return sql.NullString{String: store.FormatTime(t), Valid: true}, nil
}

// openOutsideTransfer checks a transfer to a unit outside the register (上交、移交): the unit by
// name, the receiver's name and the receipt number they gave, never an account here.
func openOutsideTransfer(req OpenRequest) error {
	if req.TargetUnit != "" {
		return refuse(CodeInvalid, "移交给本系统内的单位用 target_unit（对方刷工作证签收），给系统外的单位用 destination（记录回执编号和签收人），二者只能选一",
			"a transfer goes to a unit in the register (target_unit, signed with a badge) or outside it (destination, with receipt and receiver), not both")
	}
	var missing []string
	for _, f := range []struct{ v, zh string }{{req.Destination, "接收单位（destination）"}, {req.Receiver, "签收人姓名（receiver）"}, {req.Receipt, "对方回执编号（receipt）"}} {
		if f.v == "" {
			missing = append(missing, f.zh)
		}
	}
	if len(missing) > 0 {
		return refuseT(CodeRefused, "移交给系统外单位须填写"+strings.Join(missing, "、")+"：对方在本系统没有账号，以回执编号和签收人姓名为凭",
			"a transfer to a unit outside the register records the unit, the receiver's name and their receipt number (destination, receiver, receipt): they have no account here")
	}
	return nil
}

// openTransit records the transit a dispatch or an outside transfer makes as it closes (the
// envelope, or the receipt given at once) and returns it with the note each copy's event carries.
func openTransit(ctx context.Context, tx *store.Tx, s sessionRow, actor int64, now string) (int64, string, error) {
	kind := "courier"
	if purposes[s.purpose].party != partyCourier {
		kind = "handover"
	}
	var receipt, receiver, received sql.NullString
	if kind == "handover" {
		receipt, receiver, received = sql.NullString{String: s.receipt, Valid: true}, sql.NullString{String: s.receiver, Valid: true}, sql.NullString{String: now, Valid: true}
	}
	var transit int64
	err := tx.QueryRowContext(ctx, `INSERT INTO transits(kind, session_id, destination, courier, envelope, expected_at, sent_at, sent_by, receipt, receiver, received_at, recorded_by)
		VALUES (?,?,?,?,?,?,?,?,coalesce(?, ''),coalesce(?, ''),?,?) RETURNING id`, kind, s.id, s.destination, s.courier, s.envelope, nullStr(s.expected), now, actor,
		receipt, receiver, received, sql.NullInt64{Int64: actor, Valid: kind == "handover"}).Scan(&transit)
	if err != nil {
		return 0, "", err
	}
	note := fmt.Sprintf("交机要交通员 %s，封号 %s，送 %s", s.courier, s.envelope, s.destination)
	if kind == "handover" {
		note = fmt.Sprintf("移交 %s，签收人 %s，回执编号 %s", s.destination, s.receiver, s.receipt)
	}
	return transit, note, nil
}

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	ReceiptRequest = apitype.ReceiptRequest
	Transit        = apitype.Transit
)

// Transit states.
const (
	TransitOpen     = apitype.TransitOpen
	TransitReceived = apitype.TransitReceived
	TransitEnded    = apitype.TransitEnded
)

// TransitStateText is how the console and custodyctl name a transit's state.
func TransitStateText(state string, overdue bool) custody.Text {
	return apitype.TransitStateText(state, overdue)
}

var viewTransits = custody.Text{ZH: "查看机要交通和移交记录", EN: "read transits"}

const transitSelect = `SELECT t.id, t.kind, t.session_id, t.destination, t.courier, t.envelope, coalesce(t.expected_at, ''), t.sent_at, sp.username,
	t.receipt, t.receiver, coalesce(t.received_at, ''), coalesce(rp.username, ''), t.note
	FROM transits t JOIN people sp ON sp.id = t.sent_by LEFT JOIN people rp ON rp.id = t.recorded_by`

// Transits lists transits, newest first; state narrows (in_transit, overdue, received, ended).
func (r *Register) Transits(ctx context.Context, a Actor, state string) ([]Transit, error) {
	if err := need(a, viewTransits, custody.Custodian, custody.Leader); err != nil {
		return nil, err
	}
	switch state {
	case "", TransitOpen, "overdue", TransitReceived, TransitEnded:
	default:
		return nil, refuse(CodeInvalid, "状态 %q 无效，应为 in_transit、overdue、received 或 ended", "state %q is invalid: want in_transit, overdue, received or ended", state)
	}
	ts, err := r.transits(ctx, r.st.DB(), ` ORDER BY t.id DESC LIMIT 500`)
	if err != nil {
		return nil, storeErr("list transits", err)
	}
	out := []Transit{}
	for _, t := range ts {
		if state == "" || t.State == state || state == "overdue" && t.Overdue {
			out = append(out, t)
		}
	}
	return out, nil
}

// Transit returns one transit with its copies.
func (r *Register) Transit(ctx context.Context, a Actor, id int64) (Transit, error) {
	if err := need(a, viewTransits, custody.Custodian, custody.Leader); err != nil {
		return Transit{}, err
	}
	ts, err := r.transits(ctx, r.st.DB(), ` WHERE t.id = ?`, id)
	if err != nil {
		return Transit{}, storeErr("read transit", err)
	}
	if len(ts) == 0 {
		return Transit{}, refuse(CodeNotFound, "传递记录 %d 不存在", "transit %d does not exist", id)
	}
	return ts[0], nil
}

// ItemTransit is the latest transit of an item (nil: it was never dispatched or transferred out
// by one), for the item's page.
func (r *Register) ItemTransit(ctx context.Context, a Actor, item int64) (*Transit, error) {
	// Whoever may read the item may read where it went: no title is in a transit.
	if err := need(a, viewTransits, custody.Custodian, custody.Leader, custody.Admin, custody.SecAdmin); err != nil {
		return nil, err
	}
	ts, err := r.transits(ctx, r.st.DB(), ` WHERE t.id = (SELECT max(transit_id) FROM transit_items WHERE item_id = ?)`, item)
	if err != nil || len(ts) == 0 {
		return nil, storeErr("read transit", err)
	}
	return &ts[0], nil
}

func (r *Register) transits(ctx context.Context, q rowsQuerier, where string, args ...any) ([]Transit, error) {
	rows, err := q.QueryContext(ctx, transitSelect+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Transit
	for rows.Next() {
		var t Transit
		if err := rows.Scan(&t.ID, &t.Kind, &t.Session, &t.Destination, &t.Courier, &t.Envelope, &t.Expected, &t.Sent, &t.SentBy,
			&t.Receipt, &t.Receiver, &t.Received, &t.RecordedBy, &t.Note); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	now := r.now()
	for i := range out {
		t := &out[i]
		irows, err := q.QueryContext(ctx, itemSelect+` JOIN transit_items ti ON ti.item_id = i.id WHERE ti.transit_id = ? ORDER BY d.number, i.copy_no, i.id`, t.ID)
		if err != nil {
			return nil, err
		}
		t.Items = []Item{}
		open := false
		for irows.Next() {
			it, err := scanItem(irows)
			if err != nil {
				irows.Close()
				return nil, err
			}
			open = open || it.State == custody.InTransit
			t.Items = append(t.Items, it)
		}
		irows.Close()
		if err := irows.Err(); err != nil {
			return nil, err
		}
		switch {
		case t.Receipt != "":
			t.State = TransitReceived
		case open:
			t.State = TransitOpen
			exp, err := store.ParseTime(t.Expected)
			t.Overdue = err == nil && now.After(exp)
		default:
			t.State = TransitEnded
		}
	}
	return out, nil
}

// RecordReceipt enters the other unit's receipt of a dispatched envelope: every copy of it still
// in transit becomes 已移交 with the receipt number, the transit_overdue alert's condition ends.
// A transit with no copy in transit (received, returned, lost, or handed over at the desk) is
// refused and nothing changes.
func (r *Register) RecordReceipt(ctx context.Context, a Actor, id int64, req ReceiptRequest) (Transit, error) {
	if err := need(a, custody.Text{ZH: "登记回执", EN: "record a receipt"}, custody.Custodian); err != nil {
		return Transit{}, err
	}
	if err := clean(text("receipt（回执编号）", &req.Receipt, custody.MaxRef, true), text("receiver（签收人）", &req.Receiver, custody.MaxName, true),
		freeText("note（备注）", &req.Note)); err != nil {
		return Transit{}, err
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		ts, err := r.transits(ctx, tx, ` WHERE t.id = ?`, id)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			return refuse(CodeNotFound, "传递记录 %d 不存在", "transit %d does not exist", id)
		}
		t := ts[0]
		switch {
		case t.Kind == "handover":
			return refuse(CodeRefused, "传递 %d 是在工作台当面移交的，回执已在交接时登记，文件不在途", "transit %d was handed over at the desk with its receipt; no copy of it is in transit", id)
		case t.Receipt != "":
			return refuse(CodeConflict, "传递 %d 的回执已登记（%s，签收人 %s），不能重复登记", "transit %d already has its receipt (%s, signed by %s)", id, t.Receipt, t.Receiver)
		case t.State != TransitOpen:
			return refuse(CodeRefused, "传递 %d 的文件已不在途（已退回入柜或已报失），不能登记回执", "no copy of transit %d is in transit any more (received back or reported lost); there is nothing to receipt", id)
		}
		moved := []auditItem{}
		note := fmt.Sprintf("%s 签收，回执编号 %s", t.Destination, req.Receipt)
		for _, it := range t.Items {
			if it.State != custody.InTransit {
				continue // came back or was lost before the receipt: its own record says so
			}
			x, err := loadRow(ctx, tx, it.ID)
			if err != nil {
				return err
			}
			u, err := itemUnit(ctx, tx, x)
			if err != nil {
				return err
			}
			if err := withinCustody(ctx, tx, a.ID, u, x.name()); err != nil {
				return err
			}
			to, err := step(x, custody.TransferOut, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to, purpose: PurposeTransfer, place: t.Destination, receipt: req.Receipt}, custody.TransferOut, a.ID, sql.NullInt64{}, sql.NullInt64{}, note, now); err != nil {
				return err
			}
			moved = append(moved, toAuditItem(x, to))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE transits SET receipt = ?, receiver = ?, received_at = ?, recorded_by = ?, note = ? WHERE id = ? AND receipt = ''`,
			req.Receipt, req.Receiver, now, a.ID, req.Note, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "transit.receipt", Subject: fmt.Sprintf("transit:%d", id),
			After: map[string]any{"receipt": req.Receipt, "receiver": req.Receiver, "destination": t.Destination, "envelope": t.Envelope, "items": moved, "note": req.Note}})
	})
	if err != nil {
		return Transit{}, storeErr("record receipt", err)
	}
	return r.Transit(ctx, a, id)
}

// OverdueCopy is a copy still in transit past its envelope's expected arrival, for the alert
// checker (transit_overdue). Cabinet is its home cabinet: the code external channels may name.
type OverdueCopy struct {
	Transit  int64
	Expected time.Time
	Item     Item
	Home     string
}

// OverdueTransits lists the copies in transit whose envelope's expected arrival has passed with
// no receipt recorded. Only each copy's latest transit counts (a copy may have been dispatched,
// come back and gone again).
func (r *Register) OverdueTransits(ctx context.Context) ([]OverdueCopy, error) {
	now := r.now()
	rows, err := r.st.DB().QueryContext(ctx, `SELECT t.id, t.expected_at, coalesce(hc.code, ''), i.id, d.number, coalesce(si.copy_no, i.copy_no), d.copies, d.level, coalesce(i.repro_no, 0)
		FROM transits t JOIN transit_items ti ON ti.transit_id = t.id JOIN items i ON i.id = ti.item_id JOIN documents d ON d.id = i.document_id
		LEFT JOIN items si ON si.id = i.source_item_id LEFT JOIN cabinets hc ON hc.id = i.home_cabinet_id
		WHERE t.kind = 'courier' AND t.receipt = '' AND t.expected_at IS NOT NULL AND i.state = 'in_transit'
		AND ti.transit_id = (SELECT max(transit_id) FROM transit_items WHERE item_id = i.id) ORDER BY t.id, i.id`)
	if err != nil {
		return nil, storeErr("overdue transits", err)
	}
	defer rows.Close()
	var out []OverdueCopy
	for rows.Next() {
		var c OverdueCopy
		var exp string
		if err := rows.Scan(&c.Transit, &exp, &c.Home, &c.Item.ID, &c.Item.Document, &c.Item.Copy, &c.Item.Copies, &c.Item.Level, &c.Item.Reproduction); err != nil {
			return nil, err
		}
		// Compared as times, not as text: RFC 3339 with and without fractions do not sort.
		if c.Expected, err = store.ParseTime(exp); err != nil || !now.After(c.Expected) {
			continue
		}
		c.Item.State = custody.InTransit
		out = append(out, c)
	}
	return out, rows.Err()
}
