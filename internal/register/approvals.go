package register

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Approval kinds.
const (
	ApproveTakeOut     = "take_out"    // 携带外出 (rule 5)
	ApproveReproduce   = "reproduce"   // 复制 (rule 4)
	ApproveDestruction = "destruction" // 销毁清册 (rule 8)
	ApproveScope       = "scope"       // 扩大知悉范围: the issuing unit's consent (rule 3)
)

var approvalKinds = map[string]custody.Text{
	ApproveTakeOut:     {ZH: "携带外出", EN: "take out of the office"},
	ApproveReproduce:   {ZH: "复制", EN: "reproduction"},
	ApproveDestruction: {ZH: "销毁", EN: "destruction"},
	ApproveScope:       {ZH: "扩大知悉范围", EN: "widening the readership scope"},
}

// approvalStateText words an approval's state as people read it (a refusal names it; the
// internal value never reaches a page).
var approvalStateText = map[string]custody.Text{
	"pending":  {ZH: "待审批", EN: "pending"},
	"approved": {ZH: "已批准", EN: "approved"},
	"rejected": {ZH: "已驳回", EN: "rejected"},
	"used":     {ZH: "已使用", EN: "used"},
}

// ApprovalStateText is the display word of an approval's state.
func ApprovalStateText(state string) custody.Text { return approvalStateText[state] }

// ApprovalKindText is the display word of an approval's kind.
func ApprovalKindText(kind string) custody.Text { return approvalKinds[kind] }

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Approval        = apitype.Approval
	ApprovalRequest = apitype.ApprovalRequest
)

var requestApprovals = custody.Text{ZH: "申请审批", EN: "request approvals"}

// errNamesDecider refuses a request that names who decides.
var errNamesDecider = refuse(CodeRefused, "审批人由审批规则确定（安全保密管理员维护），申请中不能指定审批人角色或审批单位（approver_role、unit）",
	"who decides comes from the approval policy kept by the security administrator; a request may not name the approver role or unit (approver_role, unit)")

// RequestApproval records a request. Custodians file requests; a holder may ask for their own
// take-out. The register fills in who decides from the approval policy.
func (r *Register) RequestApproval(ctx context.Context, a Actor, req ApprovalRequest) (Approval, error) {
	if err := need(a, requestApprovals, custody.Custodian, custody.Holder, custody.Leader); err != nil {
		return Approval{}, err
	}
	if req.Unit != "" || req.ApproverRole != "" {
		return Approval{}, errNamesDecider
	}
	if _, ok := approvalKinds[req.Kind]; !ok {
		return Approval{}, refuse(CodeInvalid, "审批类型 %q 无效，应为 take_out、reproduce、destruction 或 scope", "approval kind %q is invalid: want take_out, reproduce, destruction or scope", req.Kind)
	}
	if req.Kind == ApproveDestruction {
		return Approval{}, refuse(CodeInvalid, "销毁审批随销毁清册提交（destruction list），不能单独申请", "destruction approvals are requested by listing a destruction batch, not on their own")
	}
	if !a.Has(custody.Custodian) && (req.Kind != ApproveTakeOut || (req.For != "" && req.For != a.Username)) {
		return Approval{}, refuse(CodeForbidden, "阅文人只能为本人申请携带外出", "a reader may only request taking items out for themselves")
	}
	if err := clean(freeText("reason（申请事由）", &req.Reason)); err != nil {
		return Approval{}, err
	}
	if req.Reason == "" {
		return Approval{}, refuse(CodeInvalid, "请填写申请事由", "give a reason for the request")
	}
	now := r.now()
	expires := now.Add(7 * 24 * time.Hour)
	if req.Expires != "" {
		t, err := r.parseDue(req.Expires)
		if err != nil {
			return Approval{}, err
		}
		if !t.After(now) {
			return Approval{}, refuse(CodeInvalid, "审批有效期 %s 已过", "the approval would expire in the past (%s)", req.Expires)
		}
		expires = t
	}
	ap := Approval{Kind: req.Kind, State: "pending", RequestedBy: a.Username, Reason: req.Reason,
		Items: req.Items, Copies: req.Copies, ScopeUnits: req.ScopeUnits, ScopePeople: req.ScopePeople, Expires: store.FormatTime(expires), Created: store.FormatTime(now)}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		id, err := r.insertApproval(ctx, tx, a, req, &ap, now)
		if err != nil {
			return err
		}
		ap.ID = id
		return tx.Audit(store.Entry{Actor: a.Username, Action: "approval.request", Subject: fmt.Sprintf("approval:%d", id), After: ap})
	})
	if err != nil {
		return Approval{}, storeErr("request approval", err)
	}
	return ap, nil
}

// owningUnit is the unit that keeps an item: its home cabinet's unit, else its cabinet's, else
// the document's issuing unit.
func owningUnit(ctx context.Context, q querier, x row) (int64, error) {
	var unit sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT coalesce((SELECT unit_id FROM cabinets WHERE id = ?), (SELECT unit_id FROM cabinets WHERE id = ?))`, x.homeCab, x.cabinetID).Scan(&unit)
	if err != nil {
		return 0, err
	}
	if unit.Valid {
		return unit.Int64, nil
	}
	return x.issuingID, nil
}

// insertApproval validates a request against the register, finds who decides from the approval
// policy and inserts it (no audit record: the caller writes one for the whole step).
func (r *Register) insertApproval(ctx context.Context, tx *store.Tx, a Actor, req ApprovalRequest, ap *Approval, now time.Time) (int64, error) {
	var forID, withID, docID sql.NullInt64
	var due sql.NullString
	var unit int64
	var level custody.Level
	concerned := []int64{a.ID}
	switch req.Kind {
	case ApproveTakeOut:
		if len(req.Items) == 0 {
			return 0, refuse(CodeInvalid, "携带外出须列明文件份", "a take-out request must list the items")
		}
		if req.For == "" {
			req.For = a.Username
		}
		p, err := personByName(ctx, tx, req.For)
		if err != nil {
			return 0, err
		}
		forID, ap.For = nullID(p.ID), p.Username
		concerned = append(concerned, p.ID)
		if req.With != "" {
			w, err := personByName(ctx, tx, req.With)
			if err != nil {
				return 0, err
			}
			if w.ID == p.ID {
				return 0, refuse(CodeInvalid, "同行人须是另一人", "the second person must be someone else")
			}
			withID, ap.With = nullID(w.ID), w.Username
			concerned = append(concerned, w.ID)
		}
		if req.Due == "" {
			return 0, refuse(CodeInvalid, "携带外出须规定归还时间", "taking items out needs a due time")
		}
		t, err := r.parseDue(req.Due)
		if err != nil {
			return 0, err
		}
		if !t.After(now) {
			return 0, refuse(CodeInvalid, "归还时间 %s 已过", "the due time %s is in the past", req.Due)
		}
		due = sql.NullString{String: store.FormatTime(t), Valid: true}
		ap.Due = due.String
	case ApproveReproduce:
		if len(req.Items) != 1 || req.Copies < 1 || req.Copies > 100 {
			return 0, refuse(CodeInvalid, "复制申请须指定一份原件和 1 到 100 份复制数", "a reproduction request names one source item and 1 to 100 copies")
		}
	case ApproveScope:
		if req.Document == "" || len(req.ScopeUnits)+len(req.ScopePeople) == 0 {
			return 0, refuse(CodeInvalid, "扩大知悉范围须指定文件和新增的单位或人员", "widening the scope names the document and the units or people to add")
		}
		for _, u := range req.ScopePeople {
			p, err := personByName(ctx, tx, u)
			if err != nil {
				return 0, err
			}
			concerned = append(concerned, p.ID)
		}
	}
	for i, id := range req.Items {
		x, err := loadRow(ctx, tx, id)
		if err != nil {
			return 0, err
		}
		if req.Kind == ApproveReproduce {
			docID = nullID(x.docID)
			ap.Document = x.Document
		}
		if x.holderID.Valid {
			concerned = append(concerned, x.holderID.Int64)
		}
		u, err := owningUnit(ctx, tx, x)
		if err != nil {
			return 0, err
		}
		if i > 0 && u != unit {
			return 0, refuse(CodeInvalid, "一份申请中的文件须属于同一单位；请按单位分别申请", "the items of one request must belong to one unit; file one request per unit")
		}
		unit = u
		if x.Level.Rank() > level.Rank() {
			level = x.Level
		}
	}
	if req.Document != "" {
		var issuing int64
		var lvl custody.Level
		err := tx.QueryRowContext(ctx, `SELECT id, issuing_unit_id, level FROM documents WHERE number = ?`, req.Document).Scan(&docID, &issuing, &lvl)
		if err == sql.ErrNoRows {
			return 0, refuse(CodeNotFound, "文件 %q 不存在", "document %q does not exist", req.Document)
		} else if err != nil {
			return 0, err
		}
		ap.Document = req.Document
		if req.Kind == ApproveScope {
			unit, level = issuing, lvl
		}
	}
	if level == custody.TopSecret && req.Kind == ApproveTakeOut && !withID.Valid {
		return 0, refuse(CodeRefused, "携带绝密文件外出须两人同行：请在申请中指定同行人（with），两人在交接时都须刷证签字", "taking top-secret items out needs two named persons: name the second one (with); both sign at the desk")
	}
	decider, err := policyDecider(ctx, tx, req.Kind, level, unit)
	if err != nil {
		return 0, err
	}
	if decider == DecideIssuingUnit {
		if unit, err = consentDecidedHere(ctx, tx, unit, a.ID); err != nil {
			return 0, err
		}
	}
	deciding, err := decidingUnit(ctx, tx, decider, unit, concerned)
	if err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT code FROM units WHERE id = ?`, deciding).Scan(&ap.Unit); err != nil {
		return 0, err
	}
	ap.Decider, ap.DeciderText, ap.Level = decider, deciderText[decider], string(level)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO approvals(kind, unit_id, approver_role, state, requested_by, for_person_id, companion_id, document_id, reason, copies, due_at, scope_units, scope_people, expires_at, created_at, level)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, req.Kind, deciding, decider, "pending", a.ID, forID, withID, docID, req.Reason, req.Copies, due,
		strings.Join(req.ScopeUnits, "\n"), strings.Join(req.ScopePeople, "\n"), ap.Expires, ap.Created, level).Scan(&id)
	if err != nil {
		return 0, err
	}
	for _, item := range req.Items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO approval_items(approval_id, item_id) VALUES (?,?) ON CONFLICT DO NOTHING`, id, item); err != nil {
			return 0, err
		}
	}
	return id, nil
}

const approvalSelect = `SELECT a.id, a.kind, u.code, a.approver_role, a.state, rq.username, coalesce(fp.username, ''), coalesce(d.number, ''), a.copies, coalesce(a.due_at, ''),
	a.scope_units, a.scope_people, a.reason, coalesce(dp.username, ''), coalesce(a.decided_at, ''), a.note, a.expires_at, a.created_at, a.unit_id,
	a.level, coalesce(wp.username, ''), a.consent_ref
	FROM approvals a JOIN units u ON u.id = a.unit_id JOIN people rq ON rq.id = a.requested_by LEFT JOIN people fp ON fp.id = a.for_person_id LEFT JOIN people wp ON wp.id = a.companion_id
	LEFT JOIN documents d ON d.id = a.document_id LEFT JOIN people dp ON dp.id = a.decided_by`

func (r *Register) loadApproval(ctx context.Context, q rowsQuerier, id int64) (Approval, int64, error) {
	aps, units, err := r.loadApprovals(ctx, q, []int64{id})
	if err != nil {
		return Approval{}, 0, err
	}
	if len(aps) == 0 {
		return Approval{}, 0, refuse(CodeNotFound, "审批 %d 不存在", "approval %d does not exist", id)
	}
	return aps[0], units[0], nil
}

// loadApprovals reads the approvals of ids (those that exist) and the id of each one's unit, in
// their order, in two queries.
func (r *Register) loadApprovals(ctx context.Context, q rowsQuerier, ids []int64) ([]Approval, []int64, error) {
	type withUnit struct {
		ap   Approval
		unit int64
	}
	got := newByID[withUnit](ids)
	now := r.now()
	err := eachIn(ctx, q, approvalSelect+" WHERE a.id IN (:ids)", ids, func(rows *sql.Rows) error {
		var x withUnit
		ap := &x.ap
		var su, sp string
		if err := rows.Scan(&ap.ID, &ap.Kind, &ap.Unit, &ap.Decider, &ap.State, &ap.RequestedBy, &ap.For, &ap.Document,
			&ap.Copies, &ap.Due, &su, &sp, &ap.Reason, &ap.DecidedBy, &ap.DecidedAt, &ap.Note, &ap.Expires, &ap.Created, &x.unit, &ap.Level, &ap.With, &ap.Consent); err != nil {
			return err
		}
		ap.DeciderText = deciderText[ap.Decider]
		ap.ScopeUnits, ap.ScopePeople = splitLines(su), splitLines(sp)
		if t, err := store.ParseTime(ap.Expires); err == nil && now.After(t) {
			ap.Expired = true
		}
		got.add(ap.ID, x)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = eachIn(ctx, q, `SELECT approval_id, item_id FROM approval_items WHERE approval_id IN (:ids) ORDER BY item_id`, ids, func(rows *sql.Rows) error {
		var id, item int64
		if err := rows.Scan(&id, &item); err != nil {
			return err
		}
		if x := got.get(id); x != nil {
			x.ap.Items = append(x.ap.Items, item)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	list := got.list()
	aps, units := make([]Approval, len(list)), make([]int64, len(list))
	for i, x := range list {
		aps[i], units[i] = x.ap, x.unit
	}
	return aps, units, nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Approval returns one approval.
// A reader sees only the approvals they asked for or that name them.
func (r *Register) Approval(ctx context.Context, a Actor, id int64) (Approval, error) {
	ap, _, err := r.loadApproval(ctx, r.st.DB(), id)
	if err == nil && !seesAllApprovals(a) && ap.RequestedBy != a.Username && ap.For != a.Username {
		return Approval{}, refuse(CodeNotFound, "审批 %d 不存在", "approval %d does not exist", id)
	}
	return ap, storeErr("read approval", err)
}

func seesAllApprovals(a Actor) bool {
	return a.Has(custody.Custodian, custody.Leader, custody.Admin, custody.SecAdmin)
}

// Approvals lists approvals, newest first; pendingOnly narrows to undecided ones.
func (r *Register) Approvals(ctx context.Context, a Actor, pendingOnly bool) ([]Approval, error) {
	q, where, args := `SELECT id FROM approvals`, []string{}, []any{}
	if pendingOnly {
		where = append(where, `state = 'pending'`)
	}
	if !seesAllApprovals(a) {
		where, args = append(where, `(requested_by = ? OR for_person_id = ?)`), append(args, a.ID, a.ID)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	ids, err := queryIDs(ctx, r.st.DB(), q+` ORDER BY id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, storeErr("list approvals", err)
	}
	aps, _, err := r.loadApprovals(ctx, r.st.DB(), ids)
	if err != nil {
		return nil, storeErr("list approvals", err)
	}
	return aps, nil
}

// Decide approves or rejects a pending approval (see DecideRequest).
func (r *Register) Decide(ctx context.Context, a Actor, id int64, approve bool, note string) (Approval, error) {
	return r.DecideApproval(ctx, a, id, DecideRequest{Approve: approve, Note: note})
}

// DecideRequest is a decision. Consent is the document number of the issuing unit's consent,
// required to approve a scope widening.
type DecideRequest struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty"`
	Consent string `json:"consent,omitempty"`
}

// concernedBy lists who a request concerns: requester, beneficiary, second person, people the
// scope would add and the current holders of its items. None of them may decide it.
func concernedBy(ctx context.Context, tx *store.Tx, id int64) ([]int64, error) {
	return queryIDs(ctx, tx, `SELECT requested_by FROM approvals WHERE id = ?1
		UNION SELECT for_person_id FROM approvals WHERE id = ?1 AND for_person_id IS NOT NULL
		UNION SELECT companion_id FROM approvals WHERE id = ?1 AND companion_id IS NOT NULL
		UNION SELECT i.holder_id FROM approval_items ai JOIN items i ON i.id = ai.item_id WHERE ai.approval_id = ?1 AND i.holder_id IS NOT NULL`, id)
}

// DecideApproval approves or rejects a pending approval. Only a person holding the authority the
// approval policy named, in the unit the request went to, decides; never someone the request
// concerns, never a 三员, never after expiry.
func (r *Register) DecideApproval(ctx context.Context, a Actor, id int64, d DecideRequest) (Approval, error) {
	if err := clean(freeText("note（审批意见）", &d.Note), text("consent（同意文号）", &d.Consent, custody.MaxDocNumber, false)); err != nil {
		return Approval{}, err
	}
	var ap Approval
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var unit int64
		var err error
		ap, unit, err = r.loadApproval(ctx, tx, id)
		if err != nil {
			return err
		}
		me, err := loadPerson(ctx, tx, "p.id = ?", a.ID)
		if err != nil {
			return err
		}
		who := deciderText[ap.Decider]
		ok, err := qualifies(ctx, tx, ap.Decider, unit, me)
		if err != nil {
			return err
		}
		if !ok {
			return refuseT(CodeForbidden, fmt.Sprintf("%s审批 %d 须由 %s 的%s决定；您没有这项审批权限（由安全保密管理员授予）", approvalKinds[ap.Kind].ZH, id, ap.Unit, who.ZH),
				fmt.Sprintf("%s approval %d is decided by %s of %s; you do not hold that authority (granted by the security administrator)", approvalKinds[ap.Kind].EN, id, who.EN, ap.Unit))
		}
		concerned, err := concernedBy(ctx, tx, id)
		if err != nil {
			return err
		}
		if slices.Contains(concerned, a.ID) {
			return refuseT(CodeForbidden, fmt.Sprintf("您不能审批与本人有关的申请（申请人、使用人、同行人或持有人）：审批 %d 须由 %s 的另一位%s或上级单位决定", id, ap.Unit, who.ZH),
				fmt.Sprintf("nobody decides a request that concerns themselves (requester, beneficiary, companion or holder): approval %d goes to another %s of %s or the unit above", id, who.EN, ap.Unit))
		}
		if ap.State != "pending" {
			// Refused, not a conflict: deciding again is an attempt the audit chain records.
			st := approvalStateText[ap.State]
			return refuseT(CodeRefused, fmt.Sprintf("审批 %d 已处理（%s），不能再次决定", id, st.ZH), fmt.Sprintf("approval %d was already decided (%s)", id, st.EN))
		}
		if ap.Expired {
			return refuse(CodeRefused, "审批 %d 已于 %s 过期", "approval %d expired at %s", id, ap.Expires)
		}
		d.Consent = strings.TrimSpace(d.Consent)
		if ap.Kind == ApproveScope && d.Approve && d.Consent == "" {
			return refuse(CodeRefused, "扩大知悉范围须记录发文单位同意的文件文号（consent）", "widening a scope records the document number of the issuing unit's consent (consent)")
		}
		ap.State = "rejected"
		if d.Approve {
			ap.State = "approved"
		}
		ap.DecidedBy, ap.DecidedAt, ap.Note, ap.Consent = a.Username, store.FormatTime(r.now()), d.Note, d.Consent
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, note = ?, consent_ref = ? WHERE id = ? AND state = 'pending'`, ap.State, a.ID, ap.DecidedAt, d.Note, d.Consent, id); err != nil {
			return err
		}
		if ap.Kind == ApproveDestruction {
			bs := "rejected"
			if d.Approve {
				bs = "approved"
			}
			if _, err := tx.ExecContext(ctx, `UPDATE destruction_batches SET state = ? WHERE approval_id = ? AND state = 'listed'`, bs, id); err != nil {
				return err
			}
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "approval." + map[bool]string{true: "approve", false: "reject"}[d.Approve], Subject: fmt.Sprintf("approval:%d", id),
			After: map[string]any{"kind": ap.Kind, "state": ap.State, "note": d.Note, "consent": d.Consent, "decider": ap.Decider, "unit": ap.Unit}, Approvals: []string{fmt.Sprint(id)}})
	})
	if err != nil {
		return Approval{}, storeErr("decide approval", err)
	}
	return ap, nil
}

// validApproval returns an approval a flow may act on: of the right kind, approved, not expired,
// not used. Refusals name what is missing.
func (r *Register) validApproval(ctx context.Context, tx *store.Tx, id int64, kind string) (Approval, error) {
	what := approvalKinds[kind]
	if id == 0 {
		return Approval{}, refuseT(CodeRefused, what.ZH+"须经审批：请先申请审批，批准后注明审批编号", what.EN+" needs an approval: request one and give its number once approved")
	}
	ap, _, err := r.loadApproval(ctx, tx, id)
	if err != nil {
		return ap, err
	}
	switch {
	case ap.Kind != kind:
		return ap, refuseT(CodeRefused, fmt.Sprintf("审批 %d 是%s审批，不能用于%s", id, approvalKinds[ap.Kind].ZH, what.ZH), fmt.Sprintf("approval %d is for %s, not %s", id, approvalKinds[ap.Kind].EN, what.EN))
	case ap.State == "pending":
		return ap, refuse(CodeRefused, "审批 %d 尚未批准", "approval %d has not been approved yet", id)
	case ap.State == "rejected":
		return ap, refuse(CodeRefused, "审批 %d 已被驳回：%s", "approval %d was rejected: %s", id, ap.Note)
	case ap.State == "used":
		return ap, refuse(CodeRefused, "审批 %d 已使用过，每次须重新审批", "approval %d has been used; each use needs a new approval", id)
	case ap.Expired:
		return ap, refuse(CodeRefused, "审批 %d 已于 %s 过期", "approval %d expired at %s", id, ap.Expires)
	}
	return ap, nil
}

func useApproval(ctx context.Context, tx *store.Tx, id int64, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'used', used_at = ? WHERE id = ? AND state = 'approved'`, now, id)
	return err
}

// UsableApprovals lists the approvals of kind a flow could act on now — approved, not expired,
// not used (what validApproval accepts) — newest first, for a picker: the desk offers these
// instead of a typed number. The flow itself still checks the one chosen (its items, its person).
func (r *Register) UsableApprovals(ctx context.Context, a Actor, kind string) ([]Approval, error) {
	// Expiry is judged on the loaded record (Expired), as validApproval judges it: stored times
	// do not compare as text across fractional seconds.
	q, args := `SELECT id FROM approvals WHERE kind = ? AND state = 'approved'`, []any{kind}
	if !seesAllApprovals(a) {
		q, args = q+` AND (requested_by = ? OR for_person_id = ?)`, append(args, a.ID, a.ID)
	}
	ids, err := queryIDs(ctx, r.st.DB(), q+` ORDER BY id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, storeErr("list usable approvals", err)
	}
	aps, _, err := r.loadApprovals(ctx, r.st.DB(), ids)
	if err != nil {
		return nil, storeErr("list usable approvals", err)
	}
	return slices.DeleteFunc(aps, func(ap Approval) bool { return ap.Expired }), nil
}
