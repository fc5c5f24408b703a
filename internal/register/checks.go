package register

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// Periodic checks (清查, issue 14 point 7). A custodian opens a check of one unit; its scope is
// every copy the unit keeps that has not left custody for good (destroyed, with the bureau,
// transferred, released). Copies in cabinets are judged by each cabinet's latest complete RFID
// inventory stored after the opening (never by an older one: the check proves the paper is there
// now); copies out with people (借出, 携带外出, 在途) by a desk scan or by their holder's
// confirmation — the holder signed in as themselves, or the holder's badge and PIN at the
// custodian's desk; a copy in transit with a courier who has no account here may be recorded as
// confirmed by the custodian with a note saying who confirmed it. Everything else (registered
// and not yet stored, a copy without a tag) is checked by a desk scan.
//
// Two different people sign: the custodian and a second person of the unit — another custodian
// or a leader (the 清点 … 签字 of the training talk: the count is signed by the one who keeps the
// register and countersigned by one who checks it; DESIGN rule 10 already asks two custodians for
// top-secret handovers). Each signs as themselves, signed in and with their own badge PIN; the
// same person twice is refused. The first signature fixes every copy's outcome, so both sign the
// same result; a signer signing over discrepancies writes a note. Closing (a custodian of the
// unit, after two signatures) renders the 清查记录 and stores the PDF with the check, so the
// record downloaded later is the one that was signed.

// Check outcomes of one copy (apitype's words; what each means is there and in outcomes below).
const (
	CheckFound       = apitype.CheckFound
	CheckScanned     = apitype.CheckScanned
	CheckConfirmed   = apitype.CheckConfirmed
	CheckLeft        = apitype.CheckLeft
	CheckNotFound    = apitype.CheckNotFound
	CheckElsewhere   = apitype.CheckElsewhere
	CheckUnconfirmed = apitype.CheckUnconfirmed
	CheckUnchecked   = apitype.CheckUnchecked
	CheckLost        = apitype.CheckLost
)

type outcomeSpec struct {
	text        custody.Text
	discrepancy bool
}

// checkOutcomes is the one table of whether each outcome is a discrepancy; its words are
// apitype's, which custodyctl shows too (filled in by init).
var checkOutcomes = map[string]outcomeSpec{
	CheckFound:       {discrepancy: false},
	CheckScanned:     {discrepancy: false},
	CheckConfirmed:   {discrepancy: false},
	CheckLeft:        {discrepancy: false},
	CheckNotFound:    {discrepancy: true},
	CheckElsewhere:   {discrepancy: true},
	CheckUnconfirmed: {discrepancy: true},
	CheckUnchecked:   {discrepancy: true},
	CheckLost:        {discrepancy: true},
}

func init() {
	for o, spec := range checkOutcomes {
		spec.text = apitype.CheckOutcomeText(o)
		checkOutcomes[o] = spec
	}
}

// CheckOutcomeText is the display text of an outcome.
func CheckOutcomeText(o string) custody.Text { return checkOutcomes[o].text }

// Check periods ([check] period).
const (
	PeriodMonthly   = "monthly"
	PeriodQuarterly = "quarterly"
)

// ValidCheckPeriod reports whether p names a check period.
func ValidCheckPeriod(p string) bool { return p == PeriodMonthly || p == PeriodQuarterly }

// SetCheckPeriod sets how often each unit is checked ([check] period; default quarterly). Call it
// once, before serving.
func (r *Register) SetCheckPeriod(p string) { r.checkPeriod = p }

// CheckPeriod is the configured period, monthly or quarterly.
func (r *Register) CheckPeriod() string {
	if r.checkPeriod == "" {
		return PeriodQuarterly
	}
	return r.checkPeriod
}

// periodOf names the period t falls in, in the site's zone: "2026-12" or "2026-Q4", with its
// first instant and the first instant of the next period.
func (r *Register) periodOf(t time.Time) (name string, start, end time.Time) {
	l := r.zone.In(t)
	if r.CheckPeriod() == PeriodMonthly {
		start = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, l.Location())
		return start.Format("2006-01"), start, start.AddDate(0, 1, 0)
	}
	q := (int(l.Month()) - 1) / 3
	start = time.Date(l.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, l.Location())
	return fmt.Sprintf("%d-Q%d", l.Year(), q+1), start, start.AddDate(0, 3, 0)
}

// PeriodText is how people read a period: 2026年12月, 2026年第4季度.
func PeriodText(p string) string {
	var y, n int
	if _, err := fmt.Sscanf(p, "%d-Q%d", &y, &n); err == nil {
		return fmt.Sprintf("%d年第%d季度", y, n)
	}
	if _, err := fmt.Sscanf(p, "%d-%d", &y, &n); err == nil {
		return fmt.Sprintf("%d年%d月", y, n)
	}
	return p
}

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Check                 = apitype.Check
	CheckCabinet          = apitype.CheckCabinet
	CheckConfirmation     = apitype.CheckConfirmation
	CheckCounts           = apitype.CheckCounts
	CheckInventoryCommand = apitype.CheckInventoryCommand
	CheckItem             = apitype.CheckItem
	CheckSignature        = apitype.CheckSignature
	ConfirmRequest        = apitype.ConfirmRequest
	OpenCheckRequest      = apitype.OpenCheckRequest
	SignRequest           = apitype.SignRequest
)

var (
	runChecks  = custody.Text{ZH: "组织清查", EN: "run periodic checks"}
	signChecks = custody.Text{ZH: "在清查记录上签字", EN: "sign periodic checks"}
	viewChecks = custody.Text{ZH: "查看清查记录", EN: "see periodic checks"}
)

// checkRow is a check as the rules see it.
type checkRow struct {
	id, unit               int64
	unitCode, state, opens string
}

func loadCheck(ctx context.Context, q querier, id int64) (checkRow, error) {
	var c checkRow
	err := q.QueryRowContext(ctx, `SELECT c.id, c.unit_id, u.code, c.state, c.opened_at FROM checks c JOIN units u ON u.id = c.unit_id WHERE c.id = ?`, id).
		Scan(&c.id, &c.unit, &c.unitCode, &c.state, &c.opens)
	if err == sql.ErrNoRows {
		return c, refuse(CodeNotFound, "清查 %d 不存在", "check %d does not exist", id)
	}
	return c, err
}

// checkAccess refuses an actor who may not see (or, with act, take part in) a unit's check: its
// custodians and leaders (of the unit or a unit above it) may; the security administrator may
// read every unit's; nobody else.
func (r *Register) checkAccess(ctx context.Context, q rowsQuerier, a Actor, unit int64, unitCode string, act bool) error {
	if !act && a.Has(custody.SecAdmin) {
		return nil
	}
	if !a.Has(custody.Custodian, custody.Leader) {
		if act {
			return need(a, signChecks, custody.Custodian, custody.Leader)
		}
		return need(a, viewChecks, custody.Custodian, custody.Leader, custody.SecAdmin)
	}
	units, err := custodyUnits(ctx, q, a.ID)
	if err != nil {
		return err
	}
	if units[unit] {
		return nil
	}
	return refuseT(CodeForbidden, fmt.Sprintf("清查单位 %s 不是您的单位：只能由该单位的机要员和领导办理", unitCode),
		fmt.Sprintf("the check's unit %s is not yours: only its custodians and leaders take part", unitCode))
}

// OpenCheck opens a check of a unit; its scope is fixed now. A unit has one check at a time.
func (r *Register) OpenCheck(ctx context.Context, a Actor, req OpenCheckRequest) (Check, error) {
	if err := need(a, runChecks, custody.Custodian); err != nil {
		return Check{}, err
	}
	if err := clean(code("unit（单位）", &req.Unit, true)); err != nil {
		return Check{}, err
	}
	nowT := r.now()
	now := store.FormatTime(nowT)
	period, _, _ := r.periodOf(nowT)
	var id int64
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		unit, err := r.unitID(ctx, tx, req.Unit)
		if err != nil {
			return err
		}
		if err := withinCustody(ctx, tx, a.ID, nullID(unit), custody.Text{ZH: "单位 " + req.Unit, EN: "unit " + req.Unit}); err != nil {
			return err
		}
		var open int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM checks WHERE unit_id = ? AND state <> 'closed'`, unit).Scan(&open)
		if err == nil {
			return refuse(CodeRefused, "单位 %s 已有进行中的清查 %d：一个单位同时只能有一次清查", "unit %s already has check %d in progress: one check at a time per unit", req.Unit, open)
		} else if err != sql.ErrNoRows {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO checks(unit_id, period, state, opened_by, opened_at) VALUES (?,?,?,?,?) RETURNING id`, unit, period, "open", a.ID, now).Scan(&id); err != nil {
			return err
		}
		// The unit keeping a copy is owningUnit's: its home cabinet's unit, else its cabinet's,
		// else the issuing unit's.
		res, err := tx.ExecContext(ctx, `INSERT INTO check_items(check_id, item_id, state_open, holder_open)
			SELECT ?, i.id, i.state, i.holder_id FROM items i JOIN documents d ON d.id = i.document_id
			LEFT JOIN cabinets hc ON hc.id = i.home_cabinet_id LEFT JOIN cabinets cc ON cc.id = i.cabinet_id
			WHERE coalesce(hc.unit_id, cc.unit_id, d.issuing_unit_id) = ? AND i.state NOT IN ('destroyed','sent_for_destruction','transferred_out','released')`, id, unit)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.open", Subject: fmt.Sprintf("check:%d", id),
			After: map[string]any{"unit": req.Unit, "period": period, "items": n}})
	})
	if err != nil {
		return Check{}, storeErr("open check", err)
	}
	return r.Check(ctx, a, id)
}

// Check returns a check with its copies and their outcomes: live while it is open, as fixed by
// the first signature after that.
func (r *Register) Check(ctx context.Context, a Actor, id int64) (Check, error) {
	db := r.st.DB()
	cr, err := loadCheck(ctx, db, id)
	if err != nil {
		return Check{}, storeErr("read check", err)
	}
	if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, false); err != nil {
		return Check{}, err
	}
	return r.check(ctx, db, id, true)
}

// check reads a check (no access check). With items, its copies and cabinets too.
func (r *Register) check(ctx context.Context, q rowsQuerier, id int64, items bool) (Check, error) {
	var c Check
	var fixed, closed sql.NullString
	err := q.QueryRowContext(ctx, `SELECT c.id, u.code, u.name, c.period, c.state, p.username, p.name, c.opened_at, c.frozen_at,
		coalesce(cp.username, ''), coalesce(cp.name, ''), c.closed_at, c.report_sha256
		FROM checks c JOIN units u ON u.id = c.unit_id JOIN people p ON p.id = c.opened_by LEFT JOIN people cp ON cp.id = c.closed_by WHERE c.id = ?`, id).
		Scan(&c.ID, &c.Unit, &c.UnitName, &c.Period, &c.State, &c.OpenedBy, &c.OpenedByName, &c.Opened, &fixed, &c.ClosedBy, &c.ClosedByName, &closed, &c.ReportSHA256)
	if err == sql.ErrNoRows {
		return c, refuse(CodeNotFound, "清查 %d 不存在", "check %d does not exist", id)
	} else if err != nil {
		return c, storeErr("read check", err)
	}
	c.Fixed, c.Closed, c.PeriodText = fixed.String, closed.String, PeriodText(c.Period)
	if c.Signatures, err = checkSignatures(ctx, q, id); err != nil {
		return c, storeErr("read check", err)
	}
	list, cabs, err := r.checkItems(ctx, q, c)
	if err != nil {
		return c, err
	}
	for _, it := range list {
		addOutcome(&c.Counts, it.Outcome)
	}
	if items {
		c.Items, c.Cabinets = list, cabs
	}
	return c, nil
}

func addOutcome(n *CheckCounts, outcome string) {
	n.Total++
	if checkOutcomes[outcome].discrepancy {
		n.Discrepancies++
	}
	switch outcome {
	case CheckFound:
		n.Found++
	case CheckScanned:
		n.Scanned++
	case CheckConfirmed:
		n.Confirmed++
	case CheckLeft:
		n.Left++
	case CheckNotFound:
		n.NotFound++
	case CheckElsewhere:
		n.Elsewhere++
	case CheckUnconfirmed:
		n.Unconfirmed++
	case CheckUnchecked:
		n.Unchecked++
	case CheckLost:
		n.Lost++
	}
}

func checkSignatures(ctx context.Context, q rowsQuerier, id int64) ([]CheckSignature, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.username, p.name, s.role, s.note, s.at FROM check_signatures s JOIN people p ON p.id = s.person_id WHERE s.check_id = ? ORDER BY s.at, s.person_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CheckSignature{}
	for rows.Next() {
		var s CheckSignature
		if err := rows.Scan(&s.Username, &s.Name, &s.Role, &s.Note, &s.At); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// checkItems lists the check's copies with their outcomes, in document and copy order.
func (r *Register) checkItems(ctx context.Context, q rowsQuerier, c Check) ([]CheckItem, []CheckCabinet, error) {
	rows, err := q.QueryContext(ctx, `SELECT ci.item_id, ci.state_open, coalesce(hp.username, ''), ci.outcome, ci.seen_cabinet, ci.state_fixed,
		coalesce(cf.how, ''), coalesce(bp.username, ''), coalesce(cfh.username, ''), coalesce(cf.note, ''), coalesce(cf.at, '')
		FROM check_items ci LEFT JOIN people hp ON hp.id = ci.holder_open
		LEFT JOIN check_confirmations cf ON cf.check_id = ci.check_id AND cf.item_id = ci.item_id
		LEFT JOIN people bp ON bp.id = cf.by_id LEFT JOIN people cfh ON cfh.id = cf.holder_id
		WHERE ci.check_id = ?`, c.ID)
	if err != nil {
		return nil, nil, storeErr("read check", err)
	}
	type fixedRow struct {
		outcome, seen, state string
	}
	var list []CheckItem
	var fixed []fixedRow
	for rows.Next() {
		var it CheckItem
		var f fixedRow
		var cf CheckConfirmation
		if err := rows.Scan(&it.ID, &it.StateAtOpen, &it.HeldBy, &f.outcome, &f.seen, &f.state, &cf.How, &cf.By, &cf.Holder, &cf.Note, &cf.At); err != nil {
			rows.Close()
			return nil, nil, storeErr("read check", err)
		}
		if cf.How != "" {
			it.Confirmation = &cf
		}
		list, fixed = append(list, it), append(fixed, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, storeErr("read check", err)
	}
	// The copies' rows in one query (a check can hold hundreds): not one loadRow each.
	rowsByID := map[int64]row{}
	err = eachIn(ctx, q, rowSelect+` WHERE i.id IN (SELECT item_id FROM check_items WHERE check_id IN (:ids))`, []int64{c.ID}, func(rs *sql.Rows) error {
		x, err := scanRow(rs)
		rowsByID[x.ID] = x
		return err
	})
	if err != nil {
		return nil, nil, storeErr("read check", err)
	}
	for i := range list {
		x, ok := rowsByID[list[i].ID]
		if !ok {
			return nil, nil, storeErr("read check", refuse(CodeNotFound, "文件份 %d 不存在", "item %d does not exist", list[i].ID))
		}
		list[i].Item = x.Item
		if c.State != "open" {
			list[i].Outcome, list[i].SeenIn = fixed[i].outcome, fixed[i].seen
			if fixed[i].state != "" {
				// The record shows the register as it was when the outcomes were fixed.
				list[i].State = custody.State(fixed[i].state)
			}
		}
	}
	var cabs []CheckCabinet
	if c.State == "open" {
		if cabs, err = r.judge(ctx, q, c, list); err != nil {
			return nil, nil, err
		}
	} else if cabs, err = checkCabinets(ctx, q, c.ID); err != nil {
		return nil, nil, storeErr("read check", err)
	}
	for i := range list {
		spec := checkOutcomes[list[i].Outcome]
		list[i].OutcomeText, list[i].Discrepancy = spec.text.ZH, spec.discrepancy
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Document != b.Document {
			return a.Document < b.Document
		}
		if a.Copy != b.Copy {
			return a.Copy < b.Copy
		}
		return a.Reproduction < b.Reproduction
	})
	return list, cabs, nil
}

func checkCabinets(ctx context.Context, q rowsQuerier, id int64) ([]CheckCabinet, error) {
	rows, err := q.QueryContext(ctx, `SELECT cabinet, round, ended_at, tags FROM check_cabinets WHERE check_id = ? ORDER BY cabinet`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CheckCabinet
	for rows.Next() {
		var c CheckCabinet
		if err := rows.Scan(&c.Cabinet, &c.Round, &c.Ended, &c.Tags); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// inventory is a cabinet's latest complete inventory since the opening.
type inventory struct {
	round string
	ended time.Time
	tags  map[string]bool
}

// inventoriesSince reads the complete inventory reports custodyd stored after since, keeping each
// cabinet's latest. Incomplete reports (an interrupted round, an antenna fault) never prove a
// copy absent, so they are skipped, as reconciliation skips them.
func (r *Register) inventoriesSince(ctx context.Context, since time.Time) (map[string]*inventory, error) {
	out := map[string]*inventory{}
	// The store selects by whole seconds of receipt: judge by the round's end below.
	err := r.st.RecentObservations(ctx, since, wire.KindInventory, false, func(o store.Observation) error {
		var inv wire.Inventory
		if json.Unmarshal(o.Body, &inv) != nil || inv.Complete == nil || !*inv.Complete || inv.Cabinet == "" {
			return nil
		}
		ended, err := time.Parse(time.RFC3339Nano, inv.Ended)
		if err != nil {
			ended, _ = time.Parse(time.RFC3339Nano, o.At)
		}
		if ended.Before(since) {
			// Stored after the opening but counted before it (an agent's outbox catching up).
			return nil
		}
		if cur := out[inv.Cabinet]; cur != nil && !ended.After(cur.ended) {
			return nil
		}
		tags := make(map[string]bool, len(inv.Tags))
		for _, t := range inv.Tags {
			tags[strings.ToUpper(t.EPC)] = true
		}
		out[inv.Cabinet] = &inventory{round: inv.Round, ended: ended, tags: tags}
		return nil
	})
	return out, err
}

// judge sets each copy's outcome from the register as it is now, the confirmations and the
// inventories since the opening, and returns the inventory each cabinet was judged by.
func (r *Register) judge(ctx context.Context, q rowsQuerier, c Check, list []CheckItem) ([]CheckCabinet, error) {
	opened, err := store.ParseTime(c.Opened)
	if err != nil {
		return nil, fmt.Errorf("check %d: opened_at %q: %w", c.ID, c.Opened, err)
	}
	invs, err := r.inventoriesSince(ctx, opened)
	if err != nil {
		return nil, storeErr("read inventories", err)
	}
	// Where each tag was read last, across every cabinet: a copy read in another cabinet than
	// the register says is found elsewhere, not missing.
	seen := map[string]string{}
	seenAt := map[string]time.Time{}
	for cab, inv := range invs {
		for tag := range inv.tags {
			if t, ok := seenAt[tag]; !ok || inv.ended.After(t) || (inv.ended.Equal(t) && cab < seen[tag]) {
				seen[tag], seenAt[tag] = cab, inv.ended
			}
		}
	}
	cabSet := map[string]bool{}
	rows, err := q.QueryContext(ctx, `SELECT c.code FROM cabinets c JOIN units u ON u.id = c.unit_id WHERE u.code = ?`, c.Unit)
	if err != nil {
		return nil, storeErr("read check", err)
	}
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			rows.Close()
			return nil, err
		}
		cabSet[code] = true
	}
	rows.Close()
	for i := range list {
		it := &list[i]
		tag := strings.ToUpper(it.EPC)
		elsewhere := func(home string) bool {
			if at := seen[tag]; tag != "" && at != "" && at != home {
				it.Outcome, it.SeenIn = CheckElsewhere, at
				return true
			}
			return false
		}
		switch st := it.State; {
		case st == custody.Destroyed || st == custody.SentForDestruction || st == custody.TransferredOut || st == custody.Released:
			it.Outcome = CheckLeft
		case st == custody.Lost:
			it.Outcome = CheckLost
		case it.Confirmation != nil && it.Confirmation.How == "desk_scan":
			it.Outcome = CheckScanned
		case it.Confirmation != nil:
			it.Outcome = CheckConfirmed
		case it.Cabinet != "" && (st == custody.InCabinet || st == custody.DestructionPending):
			cabSet[it.Cabinet] = true
			inv := invs[it.Cabinet]
			switch {
			case tag != "" && inv != nil && inv.tags[tag]:
				it.Outcome = CheckFound
			case elsewhere(it.Cabinet):
			case tag != "" && inv != nil:
				it.Outcome = CheckNotFound
			default:
				it.Outcome = CheckUnchecked
			}
		case st == custody.CheckedOut || st == custody.OutOfOffice || st == custody.InTransit:
			if !elsewhere("") {
				it.Outcome = CheckUnconfirmed
			}
		default:
			if !elsewhere("") {
				it.Outcome = CheckUnchecked
			}
		}
	}
	cabs := make([]CheckCabinet, 0, len(cabSet))
	for code := range cabSet {
		cc := CheckCabinet{Cabinet: code}
		if inv := invs[code]; inv != nil {
			cc.Round, cc.Ended, cc.Tags = inv.round, store.FormatTime(inv.ended), len(inv.tags)
		}
		cabs = append(cabs, cc)
	}
	sort.Slice(cabs, func(i, j int) bool { return cabs[i].Cabinet < cabs[j].Cabinet })
	return cabs, nil
}

// Checks lists the checks the actor may see, newest first, without their copies; unit narrows
// the list to one unit.
func (r *Register) Checks(ctx context.Context, a Actor, unit string) ([]Check, error) {
	if err := need(a, viewChecks, custody.Custodian, custody.Leader, custody.SecAdmin); err != nil {
		return nil, err
	}
	if err := clean(code("unit（单位）", &unit, false)); err != nil {
		return nil, err
	}
	db := r.st.DB()
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.unit_id, u.code FROM checks c JOIN units u ON u.id = c.unit_id WHERE ? = '' OR u.code = ? ORDER BY c.id DESC LIMIT 200`, unit, unit)
	if err != nil {
		return nil, storeErr("list checks", err)
	}
	type ref struct {
		id, unit int64
		code     string
	}
	var refs []ref
	for rows.Next() {
		var x ref
		if err := rows.Scan(&x.id, &x.unit, &x.code); err != nil {
			rows.Close()
			return nil, err
		}
		refs = append(refs, x)
	}
	rows.Close()
	out := []Check{}
	for _, x := range refs {
		if r.checkAccess(ctx, db, a, x.unit, x.code, false) != nil {
			continue
		}
		c, err := r.check(ctx, db, x.id, false)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// openForConfirming loads a check that still takes scans and confirmations.
func openForConfirming(ctx context.Context, q querier, id int64) (checkRow, error) {
	cr, err := loadCheck(ctx, q, id)
	if err != nil {
		return cr, err
	}
	if cr.state != "open" {
		return cr, refuseT(CodeRefused, fmt.Sprintf("清查 %d %s，结果已固定，不能再核对", id, map[string]string{"signing": "已开始签字", "closed": "已结束"}[cr.state]),
			fmt.Sprintf("check %d is %s: its outcomes are fixed and take no more confirmations", id, cr.state))
	}
	return cr, nil
}

func inCheck(ctx context.Context, q querier, check, item int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM check_items WHERE check_id = ? AND item_id = ?`, check, item).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return refuse(CodeRefused, "文件份 %d 不在清查 %d 的范围内", "item %d is not in check %d", item, check)
	}
	return nil
}

// scanIntoCheck records a copy scanned at the custodian's desk during check id, typed
// (CheckScan) or read by the desk's scanner while no handover is open (rule D8, checkDeskScan):
// the label must be a copy's and the copy in the check; it is confirmed as physically there, by
// the person by, with note saying where the read came from.
func (r *Register) scanIntoCheck(ctx context.Context, tx *store.Tx, id int64, data string, by int64, note string) (row, error) {
	l, err := resolveLabel(ctx, tx, data)
	if err != nil {
		return row{}, err
	}
	if l.item == 0 {
		return row{}, refuse(CodeInvalid, "清查扫描的是文件标签，不是工作证", "a check scans item labels, not badges")
	}
	if err := inCheck(ctx, tx, id, l.item); err != nil {
		return row{}, err
	}
	x, err := loadRow(ctx, tx, l.item)
	if err != nil {
		return row{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO check_confirmations(check_id, item_id, how, by_id, holder_id, note, at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(check_id, item_id) DO UPDATE SET how = excluded.how, by_id = excluded.by_id, holder_id = excluded.holder_id, note = excluded.note, at = excluded.at`,
		id, x.ID, "desk_scan", by, x.holderID, note, store.FormatTime(r.now()))
	return x, err
}

// CheckScan records a copy scanned at the custodian's desk during the check (typed or pasted
// codes and the desk scanner's reads alike): the copy is physically there.
func (r *Register) CheckScan(ctx context.Context, a Actor, id int64, data string) (Check, error) {
	if err := need(a, runChecks, custody.Custodian); err != nil {
		return Check{}, err
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		cr, err := loadCheck(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := r.checkAccess(ctx, tx, a, cr.unit, cr.unitCode, true); err != nil {
			return err
		}
		if _, err := openForConfirming(ctx, tx, id); err != nil {
			return err
		}
		x, err := r.scanIntoCheck(ctx, tx, id, data, a.ID, "")
		if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.scan", Subject: fmt.Sprintf("check:%d", id), After: map[string]any{"item": x.ID, "document": x.Document, "copy": x.Copy}})
	})
	if err != nil {
		return Check{}, storeErr("check scan", err)
	}
	return r.check(ctx, r.st.DB(), id, true)
}

// ConfirmHolding records that a copy out with a person is with them: the holder themselves
// (signed in), the holder's badge and PIN at the custodian's desk, or — for a copy in transit
// with a courier who has no account — the custodian with a note naming who confirmed it.
func (r *Register) ConfirmHolding(ctx context.Context, a Actor, id int64, req ConfirmRequest) (Check, error) {
	if err := clean(code("badge（工作证）", &req.Badge, false), freeText("note（说明）", &req.Note)); err != nil {
		return Check{}, err
	}
	db := r.st.DB()
	cr, err := openForConfirming(ctx, db, id)
	if err != nil {
		return Check{}, storeErr("confirm", err)
	}
	if err := inCheck(ctx, db, id, req.Item); err != nil {
		return Check{}, storeErr("confirm", err)
	}
	x, err := loadRow(ctx, db, req.Item)
	if err != nil {
		return Check{}, storeErr("confirm", err)
	}
	if x.State != custody.CheckedOut && x.State != custody.OutOfOffice && x.State != custody.InTransit {
		n := x.name()
		return Check{}, refuseT(CodeRefused, fmt.Sprintf("%s 状态为“%s”，不在人员手中：在柜的由盘点核对，其余在工作台扫描核对", n.ZH, x.State.Text().ZH),
			fmt.Sprintf("%s is %s, not out with a person: copies in cabinets are checked by the inventory, others by a desk scan", n.EN, x.State))
	}
	how, holder := "", x.holderID
	switch {
	case req.Badge != "":
		if err := need(a, runChecks, custody.Custodian); err != nil {
			return Check{}, err
		}
		if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, true); err != nil {
			return Check{}, err
		}
		l, err := resolveLabel(ctx, db, req.Badge)
		if err != nil {
			return Check{}, storeErr("confirm", err)
		}
		if l.person == 0 || !x.holderID.Valid || l.person != x.holderID.Int64 {
			n := x.name()
			return Check{}, refuseT(CodeForbidden, fmt.Sprintf("该工作证不是 %s 持有人的：只有持有人本人可以确认", n.ZH), fmt.Sprintf("this badge is not %s's holder's: only the holder confirms", n.EN))
		}
		// The PIN is checked outside any transaction: argon2id must not hold the writer.
		if err := r.checkPIN(ctx, l.person, req.PIN); err != nil {
			return Check{}, err
		}
		how = "holder_pin"
	case x.holderID.Valid && x.holderID.Int64 == a.ID:
		how = "holder"
	case x.State == custody.InTransit && a.Has(custody.Custodian):
		if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, true); err != nil {
			return Check{}, err
		}
		if req.Note == "" {
			return Check{}, refuse(CodeInvalid, "记录在途文件的确认须写明由谁、以何方式确认（note）", "recording a copy in transit as confirmed needs a note on who confirmed it and how")
		}
		how = "recorded"
	default:
		n := x.name()
		return Check{}, refuseT(CodeForbidden, fmt.Sprintf("只有 %s 的持有人本人可以确认持有（登录后本人确认，或在机要员处刷工作证并输入 PIN）", n.ZH),
			fmt.Sprintf("only %s's holder confirms holding it (signed in as themselves, or with their badge and PIN at the custodian's desk)", n.EN))
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if _, err := openForConfirming(ctx, tx, id); err != nil {
			return err
		}
		cur, err := loadRow(ctx, tx, x.ID)
		if err != nil {
			return err
		}
		if cur.State != x.State || cur.holderID != x.holderID {
			n := x.name()
			return refuseT(CodeConflict, n.ZH+" 在确认期间被改变，请重新确认", n.EN+" changed while confirming; confirm again")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO check_confirmations(check_id, item_id, how, by_id, holder_id, note, at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(check_id, item_id) DO NOTHING`,
			id, x.ID, how, a.ID, holder, req.Note, store.FormatTime(r.now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			nm := x.name()
			return refuseT(CodeConflict, nm.ZH+" 在本次清查中已确认", nm.EN+" is already confirmed in this check")
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.confirm", Subject: fmt.Sprintf("check:%d", id),
			After: map[string]any{"item": x.ID, "document": x.Document, "copy": x.Copy, "how": how, "holder": x.Holder}})
	})
	if err != nil {
		return Check{}, storeErr("confirm", err)
	}
	if a.Has(custody.Custodian, custody.Leader) && r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, false) == nil {
		return r.check(ctx, db, id, true)
	}
	// A holder sees the check's totals, not the unit's list of copies.
	return r.check(ctx, db, id, false)
}

// SignCheck signs a check as the actor. The first signature fixes every copy's outcome; the
// second must be another person; one of the two is a custodian.
func (r *Register) SignCheck(ctx context.Context, a Actor, id int64, req SignRequest) (Check, error) {
	if err := need(a, signChecks, custody.Custodian, custody.Leader); err != nil {
		return Check{}, err
	}
	if err := clean(freeText("note（说明）", &req.Note)); err != nil {
		return Check{}, err
	}
	db := r.st.DB()
	cr, err := loadCheck(ctx, db, id)
	if err != nil {
		return Check{}, storeErr("sign check", err)
	}
	if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, true); err != nil {
		return Check{}, err
	}
	pre := func(q rowsQuerier) error {
		cur, err := loadCheck(ctx, q, id)
		if err != nil {
			return err
		}
		if cur.state == "closed" {
			return refuse(CodeRefused, "清查 %d 已结束，不能再签字", "check %d is closed and takes no more signatures", id)
		}
		sigs, err := checkSignatures(ctx, q, id)
		if err != nil {
			return err
		}
		for _, s := range sigs {
			if s.Username == a.Username {
				return refuse(CodeRefused, "%s 已在清查 %d 上签字：须由另一人签第二个字，同一人不能签两次", "%s has already signed check %d: the second signature is another person's, never the same one twice", a.Username, id)
			}
		}
		if len(sigs) >= 2 {
			return refuse(CodeRefused, "清查 %d 已有两人签字", "check %d already has its two signatures", id)
		}
		if len(sigs) == 1 && sigs[0].Role != string(custody.Custodian) && !a.Has(custody.Custodian) {
			return refuse(CodeRefused, "清查记录须有一名机要员签字：第一位签字人是领导，第二位须是本单位机要员", "one of a check's signers is a custodian: the first signed as leader, so the second must be a custodian of the unit")
		}
		return nil
	}
	if err := pre(db); err != nil {
		return Check{}, storeErr("sign check", err)
	}
	// The PIN is checked outside any transaction: argon2id must not hold the writer.
	if err := r.checkPIN(ctx, a.ID, req.PIN); err != nil {
		return Check{}, err
	}
	role := custody.Leader
	if a.Has(custody.Custodian) {
		role = custody.Custodian
	}
	nowT := r.now()
	now := store.FormatTime(nowT)
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		if err := pre(tx); err != nil {
			return err
		}
		c, err := r.check(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if c.State == "open" {
			// The first signature fixes the outcomes, so the second signs the same result.
			for _, it := range c.Items {
				if _, err := tx.ExecContext(ctx, `UPDATE check_items SET outcome = ?, seen_cabinet = ?, state_fixed = ? WHERE check_id = ? AND item_id = ?`,
					it.Outcome, it.SeenIn, it.State, id, it.ID); err != nil {
					return err
				}
			}
			for _, cb := range c.Cabinets {
				if _, err := tx.ExecContext(ctx, `INSERT INTO check_cabinets(check_id, cabinet, round, ended_at, tags) VALUES (?,?,?,?,?)`, id, cb.Cabinet, cb.Round, cb.Ended, cb.Tags); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE checks SET state = 'signing', frozen_at = ? WHERE id = ? AND state = 'open'`, now, id); err != nil {
				return err
			}
		}
		if c.Counts.Discrepancies > 0 && req.Note == "" {
			return refuseT(CodeRefused, fmt.Sprintf("清查 %d 有 %d 处差异：签字时须写明说明（note），如差异原因和处理意见", id, c.Counts.Discrepancies),
				fmt.Sprintf("check %d has %d discrepancies: a signature over them needs a note (their cause and what is done about them)", id, c.Counts.Discrepancies))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO check_signatures(check_id, person_id, role, note, at) VALUES (?,?,?,?,?)`, id, a.ID, role, req.Note, now); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.sign", Subject: fmt.Sprintf("check:%d", id),
			After: map[string]any{"role": role, "note": req.Note, "total": c.Counts.Total, "discrepancies": c.Counts.Discrepancies}})
	})
	if err != nil {
		return Check{}, storeErr("sign check", err)
	}
	return r.check(ctx, db, id, true)
}

// CheckRenderer renders the signed 清查记录 of a check being closed (package report, called by
// the API and the console: the register stores the paper but does not draw it).
type CheckRenderer func(Check) ([]byte, error)

// CloseCheck closes a signed check: a custodian of the unit, after two signatures. The rendered
// 清查记录 is stored with the check in the same transaction.
func (r *Register) CloseCheck(ctx context.Context, a Actor, id int64, render CheckRenderer) (Check, error) {
	if err := need(a, runChecks, custody.Custodian); err != nil {
		return Check{}, err
	}
	db := r.st.DB()
	cr, err := loadCheck(ctx, db, id)
	if err != nil {
		return Check{}, storeErr("close check", err)
	}
	if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, true); err != nil {
		return Check{}, err
	}
	c, err := r.check(ctx, db, id, true)
	if err != nil {
		return Check{}, err
	}
	if c.State == "closed" {
		return Check{}, refuse(CodeRefused, "清查 %d 已结束", "check %d is already closed", id)
	}
	if len(c.Signatures) < 2 {
		return Check{}, refuse(CodeRefused, "清查记录须由两人签字后才能结束：现有 %d 人签字", "a check closes only after two people signed it: %d have", len(c.Signatures))
	}
	nowT := r.now()
	c.State, c.ClosedBy, c.ClosedByName, c.Closed = "closed", a.Username, r.PersonName(ctx, a.Username), store.FormatTime(nowT)
	pdf, err := render(c)
	if err != nil {
		return Check{}, fmt.Errorf("render check %d: %w", id, err)
	}
	sum := sha256.Sum256(pdf)
	digest := hex.EncodeToString(sum[:])
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checks SET state = 'closed', closed_by = ?, closed_at = ?, report = ?, report_sha256 = ?
			WHERE id = ? AND state = 'signing' AND (SELECT count(*) FROM check_signatures WHERE check_id = ?) = ?`, a.ID, c.Closed, pdf, digest, id, id, len(c.Signatures))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return refuse(CodeConflict, "清查 %d 在结束期间被更改，请重试", "check %d changed while closing; try again", id)
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.close", Subject: fmt.Sprintf("check:%d", id),
			After: map[string]any{"total": c.Counts.Total, "discrepancies": c.Counts.Discrepancies, "report_sha256": digest}})
	})
	if err != nil {
		return Check{}, storeErr("close check", err)
	}
	return r.check(ctx, db, id, true)
}

// ErrNoCheckReport: the check has no stored 清查记录 yet (it is not closed).
var ErrNoCheckReport = errors.New("check has no report yet")

// CheckReport returns the stored 清查记录 (PDF) of a closed check.
func (r *Register) CheckReport(ctx context.Context, a Actor, id int64) ([]byte, error) {
	db := r.st.DB()
	cr, err := loadCheck(ctx, db, id)
	if err != nil {
		return nil, storeErr("check report", err)
	}
	if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, false); err != nil {
		return nil, err
	}
	var pdf []byte
	if err := db.QueryRowContext(ctx, `SELECT report FROM checks WHERE id = ?`, id).Scan(&pdf); err != nil {
		return nil, storeErr("check report", err)
	}
	if cr.state != "closed" || len(pdf) == 0 {
		return nil, &Error{Code: CodeRefused, Text: custody.Text{ZH: fmt.Sprintf("清查 %d 尚未结束，还没有签字的清查记录", id), EN: fmt.Sprintf("check %d is not closed and has no signed record yet", id)}, Err: ErrNoCheckReport}
	}
	return pdf, nil
}

// HolderCheckItem is a copy the actor holds that an open check waits for them to confirm.
type HolderCheckItem struct {
	Check  int64  `json:"check"`
	Unit   string `json:"unit"`
	Period string `json:"period_text"`
	Item
}

// AwaitingMe lists the copies the actor holds now that an open check of their unit has not yet
// seen confirmed: what a holder confirms in the console as themselves.
func (r *Register) AwaitingMe(ctx context.Context, a Actor) ([]HolderCheckItem, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT c.id, u.code, c.period, ci.item_id FROM checks c JOIN units u ON u.id = c.unit_id
		JOIN check_items ci ON ci.check_id = c.id JOIN items i ON i.id = ci.item_id
		LEFT JOIN check_confirmations cf ON cf.check_id = c.id AND cf.item_id = ci.item_id
		WHERE c.state = 'open' AND i.holder_id = ? AND i.state IN ('checked_out','out_of_office','in_transit') AND cf.item_id IS NULL
		ORDER BY c.id, ci.item_id LIMIT 500`, a.ID)
	if err != nil {
		return nil, storeErr("checks awaiting", err)
	}
	var out []HolderCheckItem
	for rows.Next() {
		var h HolderCheckItem
		if err := rows.Scan(&h.Check, &h.Unit, &h.Period, &h.ID); err != nil {
			rows.Close()
			return nil, storeErr("checks awaiting", err)
		}
		h.Period = PeriodText(h.Period)
		out = append(out, h)
	}
	rows.Close()
	for i := range out {
		x, err := loadRow(ctx, r.st.DB(), out[i].ID)
		if err != nil {
			return nil, storeErr("checks awaiting", err)
		}
		out[i].Item = x.Item
	}
	return out, nil
}

// CheckDue is a unit whose periodic check is due: none was opened in the period that ended
// (Overdue), or none yet in the current period, which ends within CheckDueWarning.
type CheckDue struct {
	Unit    string `json:"unit"`
	Period  string `json:"period"`           // the period a check is due for now
	Missed  string `json:"missed,omitempty"` // overdue: the period that ended without one
	Ends    string `json:"ends"`             // the current period's last day, YYYY-MM-DD in the site's zone
	Overdue bool   `json:"overdue"`
}

// CheckDueWarning is how long before the end of a period a unit without a check is reminded.
const CheckDueWarning = 7 * 24 * time.Hour

// ChecksDue lists the units whose periodic check is due (for the site check's check_due
// reminder): every unit keeping copies in custody that opened no check in the current period and
// either opened none in the previous one either — although it kept copies before the current
// period began — or has less than CheckDueWarning left.
func (r *Register) ChecksDue(ctx context.Context) ([]CheckDue, error) {
	now := r.now()
	period, start, end := r.periodOf(now)
	prev, prevStart, _ := r.periodOf(start.Add(-time.Hour))
	rows, err := r.st.DB().QueryContext(ctx, `SELECT u.code, min(d.created_at),
		(SELECT max(c.opened_at) FROM checks c WHERE c.unit_id = u.id)
		FROM items i JOIN documents d ON d.id = i.document_id
		LEFT JOIN cabinets hc ON hc.id = i.home_cabinet_id LEFT JOIN cabinets cc ON cc.id = i.cabinet_id
		JOIN units u ON u.id = coalesce(hc.unit_id, cc.unit_id, d.issuing_unit_id)
		WHERE i.state NOT IN ('destroyed','sent_for_destruction','transferred_out','released')
		GROUP BY u.id ORDER BY u.code`)
	if err != nil {
		return nil, storeErr("checks due", err)
	}
	defer rows.Close()
	var out []CheckDue
	for rows.Next() {
		var unit, since string
		var last sql.NullString
		if err := rows.Scan(&unit, &since, &last); err != nil {
			return nil, storeErr("checks due", err)
		}
		var lastT, sinceT time.Time
		if last.Valid {
			lastT, _ = store.ParseTime(last.String)
		}
		sinceT, _ = store.ParseTime(since)
		if last.Valid && !lastT.Before(start) {
			continue // checked in this period
		}
		d := CheckDue{Unit: unit, Period: period, Ends: r.zone.In(end.Add(-time.Second)).Format(time.DateOnly)}
		switch {
		case sinceT.Before(start) && (!last.Valid || lastT.Before(prevStart)):
			d.Overdue, d.Missed = true, prev
		case end.Sub(now) <= CheckDueWarning:
		default:
			continue
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// InventoryControl commands an inventory round of a cabinet from its agent, through the signed
// command path (the daemon's wiring over ingest).
type InventoryControl interface {
	CommandInventory(ctx context.Context, agent, cabinet string) error
}

// CheckInventory asks every cabinet of the check's unit for an inventory now, so the check need
// not wait for the nightly round: the reports that come back after the opening are the ones the
// check judges by. A cabinet without an agent cannot be asked; its copies are scanned at the desk.
func (r *Register) CheckInventory(ctx context.Context, a Actor, id int64, ic InventoryControl) ([]CheckInventoryCommand, error) {
	if err := need(a, runChecks, custody.Custodian); err != nil {
		return nil, err
	}
	db := r.st.DB()
	cr, err := loadCheck(ctx, db, id)
	if err != nil {
		return nil, storeErr("check inventory", err)
	}
	if err := r.checkAccess(ctx, db, a, cr.unit, cr.unitCode, true); err != nil {
		return nil, err
	}
	if _, err := openForConfirming(ctx, db, id); err != nil {
		return nil, err
	}
	if ic == nil {
		return nil, refuse(CodeUnavailable, "本服务未连接采集代理，不能下达盘点指令：请等待夜间盘点或在工作台扫描", "no agents are connected to this service: wait for the nightly inventory or scan at the desk")
	}
	rows, err := db.QueryContext(ctx, `SELECT code, coalesce(agent_id, '') FROM cabinets WHERE unit_id = ? ORDER BY code`, cr.unit)
	if err != nil {
		return nil, storeErr("check inventory", err)
	}
	out := []CheckInventoryCommand{}
	for rows.Next() {
		var c CheckInventoryCommand
		if err := rows.Scan(&c.Cabinet, &c.Agent); err != nil {
			rows.Close()
			return nil, storeErr("check inventory", err)
		}
		out = append(out, c)
	}
	rows.Close()
	for i := range out {
		c := &out[i]
		if c.Agent == "" {
			c.Error = "no agent bound"
			continue
		}
		if err := ic.CommandInventory(ctx, c.Agent, c.Cabinet); err != nil {
			c.Error = err.Error()
			continue
		}
		c.Sent = true
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: a.Username, Action: "check.inventory", Subject: fmt.Sprintf("check:%d", id), After: map[string]any{"cabinets": out}})
	})
	return out, storeErr("check inventory", err)
}

// checkDeskScan takes a desk scanner's read while the desk has no handover open and its unit has
// a check open: the copy was there at the desk (a desk scan of the check). The custodian who
// opened the check is recorded as who confirmed, with the scanner as the source. found is false
// when no check of the desk's unit is open (the read is then the handover's business).
func (r *Register) checkDeskScan(ctx context.Context, desk, data, source string) (res ScanResult, found bool, err error) {
	var id, opener int64
	err = r.st.DB().QueryRowContext(ctx, `SELECT c.id, c.opened_by FROM checks c JOIN desks d ON d.unit_id = c.unit_id WHERE d.code = ? AND c.state = 'open'`, desk).Scan(&id, &opener)
	if err == sql.ErrNoRows {
		return res, false, nil
	} else if err != nil {
		return res, true, storeErr("desk scan", err)
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		x, err := r.scanIntoCheck(ctx, tx, id, data, opener, "desk "+desk+" "+source)
		if err != nil {
			return err
		}
		res = ScanResult{Kind: "check_item", Item: &x.Item}
		return tx.Audit(store.Entry{Actor: source, Action: "check.scan", Subject: fmt.Sprintf("check:%d", id), After: map[string]any{"item": x.ID, "document": x.Document, "copy": x.Copy, "desk": desk}})
	})
	return res, true, storeErr("desk scan", err)
}
