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

// The flows that are not a desk handover: receiving (收文), reproduction (复制), widening a
// readership scope, loss reports (报失), and an item's chain of custody.

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Event            = apitype.Event
	ReceiveNext      = apitype.ReceiveNext
	ReceiveRequest   = apitype.ReceiveRequest
	ReceiveResult    = apitype.ReceiveResult
	ReproduceRequest = apitype.ReproduceRequest
)

// Receive is 收文: the batch's copies, numbered as printed, are registered and stored in a
// cabinet, in one transaction. The first batch of a 发文字号 registers the document; later batches
// of the same document add their copies, provided the paper says the same as the register (level,
// title, issuing unit and total), and a 份号 is never registered twice.
func (r *Register) Receive(ctx context.Context, a Actor, req ReceiveRequest) (Document, []Item, error) {
	res, err := r.ReceiveBatch(ctx, a, req)
	return res.Document, res.Items, err
}

// ReceiveBatch is Receive with the step that follows (labels and tags for these copies).
func (r *Register) ReceiveBatch(ctx context.Context, a Actor, req ReceiveRequest) (ReceiveResult, error) {
	if err := need(a, registerDocs, custody.Custodian); err != nil {
		return ReceiveResult{}, err
	}
	if err := clean(text("from（来文单位或送件人）", &req.From, custody.MaxName, false)); err != nil {
		return ReceiveResult{}, err
	}
	if req.From == "" {
		return ReceiveResult{}, refuse(CodeInvalid, "请填写来文单位或送件人（from）", "say who delivered the document (from)")
	}
	d := req.Document
	if err := validateDocument(&d); err != nil {
		return ReceiveResult{}, err
	}
	first, last := req.FirstCopy, req.LastCopy
	if first == 0 && last == 0 {
		first, last = 1, d.Copies
	}
	if last == 0 {
		last = first
	}
	if first < 1 || last < first || last > d.Copies {
		return ReceiveResult{}, refuse(CodeInvalid, "份号 %d–%d 不在 1 到 %d（发文单位印制的总份数）之间", "copy numbers %d–%d are not within 1 to %d (the total the issuer printed)", first, last, d.Copies)
	}
	d.TitleDigest, d.TitleVisible = digest(d.Title), true
	var items []Item
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var err error
		items, _, err = r.receiveTx(ctx, tx, a, req.Cabinet, req.From, &d, first, last, "收文 "+req.From, now, nil)
		return err
	})
	if err != nil {
		return ReceiveResult{}, storeErr("receive document", err)
	}
	res := ReceiveResult{Document: d, Items: items, Batch: copyNo(first, d.Copies) + "–" + copyNo(last, d.Copies)}
	for _, it := range items {
		res.Next.Items = append(res.Next.Items, it.ID)
	}
	res.Next.Labels = "custodyctl labels print " + strings.Join(idList(res.Next.Items), " ") + " -o labels.pdf"
	res.Next.Encode = "POST /api/v1/items/{id}/encode"
	if existing, err := r.documentByNumber(ctx, d.Number, a); err == nil {
		res.Document = existing
	}
	return res, nil
}

// receiveTx is the body of a receipt inside the caller's transaction, shared by ReceiveBatch
// and the ledger import so both apply the same checks: the cabinet is the custodian's, a later
// batch matches the register, a 份号 is never registered twice, each copy is stored by a
// lifecycle step with its chain-of-custody event (note), and one document.receive audit record
// (extra is merged into it). existing is the document's id when it was already registered.
func (r *Register) receiveTx(ctx context.Context, tx *store.Tx, a Actor, cabinet, from string, d *Document, first, last int, note, now string, extra map[string]any) (items []Item, existing int64, err error) {
	cab, err := r.custodyCabinet(ctx, tx, a, cabinet)
	if err != nil {
		return nil, 0, err
	}
	existing, err = r.sameDocument(ctx, tx, *d)
	if err != nil {
		return nil, 0, err
	}
	if existing == 0 {
		if items, err = r.registerTx(ctx, tx, a, d, first, last); err != nil {
			return nil, 0, err
		}
	} else {
		d.ID = existing
		if items, err = r.insertCopies(ctx, tx, *d, first, last, now); err != nil {
			return nil, 0, err
		}
	}
	for i := range items {
		x, err := loadRow(ctx, tx, items[i].ID)
		if err != nil {
			return nil, 0, err
		}
		to, err := step(x, custody.Store, custody.Custodian)
		if err != nil {
			return nil, 0, err
		}
		if err := apply(ctx, tx, x, move{to: to, cabinet: nullID(cab)}, custody.Store, a.ID, sql.NullInt64{}, sql.NullInt64{}, note, now); err != nil {
			return nil, 0, err
		}
		items[i].State, items[i].Cabinet = to, cabinet
	}
	after := map[string]any{
		"number": d.Number, "from": from, "cabinet": cabinet, "count": len(items), "first_copy": first, "last_copy": last, "of": d.Copies,
		"later_batch": existing != 0, "items": fmt.Sprintf("%d-%d", items[0].ID, items[len(items)-1].ID)}
	for k, v := range extra {
		after[k] = v
	}
	return items, existing, tx.Audit(store.Entry{Actor: a.Username, Action: "document.receive", Subject: fmt.Sprintf("document:%d", d.ID), After: after})
}

// sameDocument returns the id of an already registered document with d's number (0: none), and
// refuses a later batch whose paper says something else than the register.
func (r *Register) sameDocument(ctx context.Context, tx *store.Tx, d Document) (int64, error) {
	var id int64
	var title, unit, term string
	var level custody.Level
	var copies int
	err := tx.QueryRowContext(ctx, `SELECT d.id, d.title, u.code, d.level, d.copies, d.secrecy_term FROM documents d JOIN units u ON u.id = d.issuing_unit_id WHERE d.number = ?`, d.Number).
		Scan(&id, &title, &unit, &level, &copies, &term)
	if err == sql.ErrNoRows {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	var diff []string
	if title != d.Title {
		diff = append(diff, "标题/title")
	}
	if unit != d.IssuingUnit {
		diff = append(diff, "发文单位/issuing unit")
	}
	if level != d.Level {
		diff = append(diff, "密级/level")
	}
	if a, b := termOf(term), termOf(d.SecrecyTerm); a != b {
		diff = append(diff, "保密期限/secrecy term")
	}
	if copies != d.Copies {
		diff = append(diff, fmt.Sprintf("总份数/total (%d ≠ %d)", d.Copies, copies))
	}
	if len(diff) > 0 {
		l := strings.Join(diff, "、")
		return 0, refuseT(CodeConflict, fmt.Sprintf("发文字号 %s 已登记，但本批文件的 %s 与登记簿不一致：请核对原件，或向发文单位核实", d.Number, l),
			fmt.Sprintf("document %s is registered, but this batch's %s differs from the register: check the paper, or ask the issuing unit", d.Number, l))
	}
	return id, nil
}

func termOf(s string) custody.Term { t, _ := custody.ParseTerm(s); return t }

// documentByNumber reads one document as Documents shows it.
func (r *Register) documentByNumber(ctx context.Context, number string, a Actor) (Document, error) {
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

// Reproduce makes the copies an approval allows (rule 4): each is a new item of the same document
// and level, linked to its source original (which must be in its cabinet), numbered within it
// (第3份之复制件1), with the 复制单位 and date; the copies are registered, and go into the cabinet
// only when scanned in at the desk (a store handover).
func (r *Register) Reproduce(ctx context.Context, a Actor, req ReproduceRequest) ([]Item, error) {
	if err := need(a, custody.Text{ZH: "复制文件", EN: "reproduce items"}, custody.Custodian); err != nil {
		return nil, err
	}
	if err := clean(text("unit（复制单位）", &req.Unit, custody.MaxName, false), code("cabinet", &req.Cabinet, false)); err != nil {
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
		// Only from an original that is in its cabinet (issue 14 point 2): not from a copy lent
		// out, awaiting destruction or itself a reproduction.
		if src.Reproduction > 0 {
			return refuseT(CodeRefused, src.name().ZH+" 是复制件，只能从原件复制", src.name().EN+" is a reproduction; copies are made from the original only")
		}
		if src.State != custody.InCabinet {
			return refuseT(CodeRefused, src.name().ZH+" 状态为“"+src.State.Text().ZH+"”：只能从在柜的原件复制",
				src.name().EN+" is "+src.State.Text().EN+": copies are made only from an original in its cabinet")
		}
		if strings.TrimSpace(req.Unit) == "" {
			return refuse(CodeInvalid, "请填写复制单位（unit）", "name the unit that makes the copies (unit)")
		}
		made0 := req.Date
		if made0 == "" {
			made0 = r.Today()
		} else if _, err := time.Parse(time.DateOnly, made0); err != nil {
			return refuse(CodeInvalid, "复制日期 %q 应为 YYYY-MM-DD", "date %q must be YYYY-MM-DD", made0)
		}
		if u, err := itemUnit(ctx, tx, src); err != nil {
			return err
		} else if err := withinCustody(ctx, tx, a.ID, u, src.name()); err != nil {
			return err
		}
		cab, err := r.custodyCabinet(ctx, tx, a, req.Cabinet)
		if err != nil {
			return err
		}
		// Numbered within the original: 第3份之复制件1, 2, … (after any made before).
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(repro_no), 0) FROM items WHERE source_item_id = ?`, src.ID).Scan(&last); err != nil {
			return err
		}
		made := []auditItem{}
		for i := 1; i <= ap.Copies; i++ {
			n := last + i
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO items(document_id, copy_no, source_item_id, state, updated_at, repro_no, repro_unit, repro_on, home_cabinet_id) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`,
				src.docID, -(src.Copy*100000 + n), src.ID, custody.Registered, now, n, req.Unit, made0, nullID(cab)).Scan(&id); err != nil {
				return err
			}
			if _, _, err := r.label(ctx, tx, id); err != nil {
				return err
			}
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_events(item_id, at, action, from_state, to_state, actor_id, note) VALUES (?,?,?,?,?,?,?)`,
				id, now, "reproduce", "", custody.Registered, a.ID, fmt.Sprintf("复制件 of item %d by %s on %s, approval %d", src.ID, req.Unit, made0, ap.ID)); err != nil {
				return err
			}
			// Not stored yet: a copy goes into its cabinet only when scanned in at the desk
			// (a store handover), so the register never says 在柜 for paper nobody checked.
			ids = append(ids, id)
			made = append(made, auditItem{ID: id, Document: x.Document, Copy: x.Copy, Level: x.Level, From: "", To: custody.Registered})
		}
		if err := useApproval(ctx, tx, ap.ID, now); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.reproduce", Subject: custody.ItemSubject(src.ID).Audit(),
			After: map[string]any{"source": src.ID, "copies": made, "cabinet": req.Cabinet, "unit": req.Unit, "date": made0}, Approvals: []string{fmt.Sprint(ap.ID)}})
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
		if ap.Consent == "" {
			// Decided before the consent's number was required: the widening still needs it.
			return refuse(CodeRefused, "审批 %d 没有记录发文单位同意的文件文号，不能扩大知悉范围", "approval %d records no document number of the issuing unit's consent; the scope cannot be widened", ap.ID)
		}
		var doc int64
		var issuing string
		if err := tx.QueryRowContext(ctx, `SELECT d.id, u.code FROM documents d JOIN units u ON u.id = d.issuing_unit_id WHERE d.number = ?`, ap.Document).Scan(&doc, &issuing); err != nil {
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
			After: map[string]any{"number": ap.Document, "add_units": ap.ScopeUnits, "add_people": ap.ScopePeople, "consent_of": issuing, "consent": ap.Consent,
				"decided_in": ap.Unit, "approved_by": ap.DecidedBy}, Approvals: []string{fmt.Sprint(ap.ID)}})
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
	if err := clean(code("cabinet", &cabinet, false), freeText("note（找回经过）", &note)); err != nil {
		return nil, err
	}
	if len(ids) == 0 || note == "" {
		return nil, refuse(CodeInvalid, "请指定找回的文件份并说明找回经过", "name the items and say how they were found")
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		cab, err := r.custodyCabinet(ctx, tx, a, cabinet)
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

// custodyCabinet finds a cabinet the custodian may put items into: one of their units'.
func (r *Register) custodyCabinet(ctx context.Context, tx *store.Tx, a Actor, code string) (int64, error) {
	cab, err := cabinetID(ctx, tx, code)
	if err != nil {
		return 0, err
	}
	u, err := cabinetUnit(ctx, tx, cab)
	if err != nil {
		return 0, err
	}
	return cab, withinCustody(ctx, tx, a.ID, u, custody.Text{ZH: "密码柜 " + code, EN: "cabinet " + code})
}
