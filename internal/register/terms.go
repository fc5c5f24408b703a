package register

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Secrecy terms, level changes and declassification (issue 14 point 6). The term is kept as
// written and parsed (custody.ParseTerm), counted from term_start, so custodyd knows when it
// ends; Expiring lists what ends soon, and the alert site check reminds the custodian and the
// security administrator (custody.TermReminder days before). A 密级变更 or 解密 is decided by an
// authority outside the office; the register records it with that authority and its decision's
// document number, audited, and marks, labels and reports read the level from the document, so
// they follow. A declassified document leaves the classified register (the ledger), and its
// copies in the cabinets can then be released from custody.

// TermReminder is how many days before a term ends the custodian is reminded.
const TermReminder = 30

// Decision is a 密级变更 or 解密 as recorded.
type Decision struct {
	Level      custody.Level `json:"level,omitempty"` // level_change: the new level
	Term       string        `json:"term,omitempty"`  // level_change: the new term (empty: unchanged)
	TermStart  string        `json:"term_start,omitempty"`
	Authority  string        `json:"authority"`   // who decided (定密机关、发文单位)
	DecisionNo string        `json:"decision_no"` // the decision's document number
	Note       string        `json:"note,omitempty"`
}

var recordDecisions = custody.Text{ZH: "登记密级变更和解密", EN: "record level changes and declassification"}

// check cleans the decision's text in place (docs/limits.md) and refuses a missing authority or
// decision number.
func (dc *Decision) check() error {
	if err := clean(text("authority（决定机关）", &dc.Authority, custody.MaxName, false), text("decision_no（决定文号）", &dc.DecisionNo, custody.MaxDocNumber, false),
		text("term（保密期限）", &dc.Term, custody.MaxSecrecyTerm, false), freeText("note（备注）", &dc.Note)); err != nil {
		return err
	}
	var missing []string
	if strings.TrimSpace(dc.Authority) == "" {
		missing = append(missing, "决定机关（authority）")
	}
	if strings.TrimSpace(dc.DecisionNo) == "" {
		missing = append(missing, "决定文号（decision_no）")
	}
	if len(missing) > 0 {
		// A rule of the register, not a typing slip: refused (and so audited), not merely invalid.
		return refuseT(CodeRefused, "须写明"+strings.Join(missing, "、")+"：密级变更和解密由定密机关或发文单位决定，登记时注明其决定文号",
			"name the deciding authority and its decision's document number (authority, decision_no): level changes and declassification are decided outside the office")
	}
	return nil
}

// ChangeLevel records a 密级变更 (and, with it, a new term or start if the decision says so).
func (r *Register) ChangeLevel(ctx context.Context, a Actor, number string, dc Decision) (Document, error) {
	if err := need(a, recordDecisions, custody.Custodian); err != nil {
		return Document{}, err
	}
	if err := dc.check(); err != nil {
		return Document{}, err
	}
	lvl, err := custody.ParseLevel(string(dc.Level))
	if err != nil {
		return Document{}, refuse(CodeInvalid, "密级 %q 无效，应为 绝密、机密 或 秘密", "secrecy level %q is invalid: want top-secret, secret or confidential", dc.Level)
	}
	if dc.Term != "" && !validTerm(dc.Term) {
		return Document{}, refuse(CodeInvalid, "保密期限 %q 无法识别：请写 10年、6个月、长期 或日期 2030-12-31", "secrecy term %q is not understood: write 10年, 6个月, 长期 or a date 2030-12-31", dc.Term)
	}
	if dc.TermStart != "" {
		if _, err := time.Parse(time.DateOnly, dc.TermStart); err != nil {
			return Document{}, refuse(CodeInvalid, "保密期限起算日期 %q 应为 YYYY-MM-DD", "term_start %q must be YYYY-MM-DD", dc.TermStart)
		}
	}
	return r.decide(ctx, a, number, "level_change", dc, lvl)
}

// Declassify records a 解密: the document leaves the classified register.
func (r *Register) Declassify(ctx context.Context, a Actor, number string, dc Decision) (Document, error) {
	if err := need(a, recordDecisions, custody.Custodian); err != nil {
		return Document{}, err
	}
	if err := dc.check(); err != nil {
		return Document{}, err
	}
	return r.decide(ctx, a, number, "declassify", dc, "")
}

func (r *Register) decide(ctx context.Context, a Actor, number, kind string, dc Decision, lvl custody.Level) (Document, error) {
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var id int64
		var level custody.Level
		var term, declassified string
		err := tx.QueryRowContext(ctx, `SELECT id, level, secrecy_term, coalesce(declassified_at, '') FROM documents WHERE number = ?`, number).Scan(&id, &level, &term, &declassified)
		if err == sql.ErrNoRows {
			return refuse(CodeNotFound, "文件 %q 不存在", "document %q does not exist", number)
		} else if err != nil {
			return err
		}
		if declassified != "" {
			return refuse(CodeConflict, "文件 %s 已解密", "document %s is already declassified", number)
		}
		toTerm := dc.Term
		switch kind {
		case "level_change":
			if toTerm == "" {
				toTerm = term
			}
			if lvl == level && toTerm == term && dc.TermStart == "" {
				return refuse(CodeInvalid, "文件 %s 已是该密级和保密期限", "document %s already has this level and term", number)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE documents SET level = ?, secrecy_term = ?, term_start = coalesce(?, term_start) WHERE id = ?`, lvl, toTerm, nullStr(dc.TermStart), id); err != nil {
				return err
			}
		case "declassify":
			if _, err := tx.ExecContext(ctx, `UPDATE documents SET declassified_at = ? WHERE id = ?`, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO document_decisions(document_id, kind, at, actor_id, from_level, to_level, from_term, to_term, authority, decision_no, note) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			id, kind, now, a.ID, level, lvl, term, toTerm, dc.Authority, dc.DecisionNo, dc.Note); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "document." + kind, Subject: fmt.Sprintf("document:%d", id), Before: map[string]any{"level": level, "secrecy_term": term},
			After: map[string]any{"number": number, "level": lvl, "secrecy_term": toTerm, "term_start": dc.TermStart, "authority": dc.Authority, "decision_no": dc.DecisionNo, "note": dc.Note}})
	})
	if err != nil {
		return Document{}, storeErr("record "+kind, err)
	}
	return r.documentByNumber(ctx, number, a)
}

// Expiring lists the classified documents whose term ends within days from today (in the site's
// zone), and those whose term has ended without a decision recorded, soonest first.
func (r *Register) Expiring(ctx context.Context, a Actor, days int) ([]Document, error) {
	if err := need(a, readReports, custody.Custodian, custody.Leader, custody.SecAdmin); err != nil {
		return nil, err
	}
	docs, err := r.Documents(ctx, a)
	if err != nil {
		return nil, err
	}
	limit := r.zone.Format(r.now().AddDate(0, 0, days), time.DateOnly)
	out := []Document{}
	for _, d := range docs {
		if d.Declassified == "" && d.TermEnd != "" && d.TermEnd <= limit {
			out = append(out, d)
		}
	}
	for i := 1; i < len(out); i++ { // few documents: insertion sort by end date
		for j := i; j > 0 && out[j].TermEnd < out[j-1].TermEnd; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// Today is today's date in the site's zone (YYYY-MM-DD).
func (r *Register) Today() string { return r.zone.Format(r.now(), time.DateOnly) }

// TermDue is a document whose term ends soon, as the alerting needs it: identifiers only.
type TermDue struct {
	DocumentID int64
	Number     string
	Level      custody.Level
	End        string // YYYY-MM-DD
}

// TermsDue lists the classified documents whose term ends within TermReminder days (or has
// ended), for the reminder the site check raises.
func (r *Register) TermsDue(ctx context.Context) ([]TermDue, error) {
	docs, err := r.Expiring(ctx, Actor{Roles: []custody.Role{custody.SecAdmin}}, TermReminder)
	if err != nil {
		return nil, err
	}
	out := make([]TermDue, len(docs))
	for i, d := range docs {
		out[i] = TermDue{DocumentID: d.ID, Number: d.Number, Level: d.Level, End: d.TermEnd}
	}
	return out, nil
}

// Release takes copies of a declassified document out of custody (解除管理): they must be in
// their cabinet; the step is recorded in their chain of custody.
func (r *Register) Release(ctx context.Context, a Actor, ids []int64, note string) ([]Item, error) {
	if err := need(a, custody.Text{ZH: "解除管理", EN: "release copies from custody"}, custody.Custodian); err != nil {
		return nil, err
	}
	if err := clean(freeText("note（备注）", &note)); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, refuse(CodeInvalid, "请指定要解除管理的文件份", "name the copies to release")
	}
	now := store.FormatTime(r.now())
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		moved := []auditItem{}
		for _, id := range ids {
			x, err := loadRow(ctx, tx, id)
			if err != nil {
				return err
			}
			var declassified string
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(declassified_at, '') FROM documents WHERE id = ?`, x.docID).Scan(&declassified); err != nil {
				return err
			}
			if declassified == "" {
				n := x.name()
				return refuseT(CodeRefused, n.ZH+" 所属文件尚未解密，不能解除管理", n.EN+" belongs to a document that is not declassified and cannot be released")
			}
			to, err := step(x, custody.Release, custody.Custodian)
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, x, move{to: to}, custody.Release, a.ID, sql.NullInt64{}, sql.NullInt64{}, note, now); err != nil {
				return err
			}
			moved = append(moved, toAuditItem(x, to))
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.release", Subject: "items:" + strings.Join(idList(ids), ","), After: map[string]any{"items": moved, "note": note}})
	})
	if err != nil {
		return nil, storeErr("release copies", err)
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
