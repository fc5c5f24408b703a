package register

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// MaxCopies bounds one registration. 份号 run into the hundreds in practice; a larger number is
// almost certainly a typo, and registering it would flood the register with phantom copies.
const MaxCopies = 10000

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type Document = apitype.Document

var registerDocs = custody.Text{ZH: "登记文件", EN: "register documents"}

func validateDocument(d *Document) error {
	if err := clean(text("number（发文字号）", &d.Number, custody.MaxDocNumber, false), text("title（标题）", &d.Title, custody.MaxTitle, false),
		code("issuing_unit（发文单位）", &d.IssuingUnit, false), text("secrecy_term（保密期限）", &d.SecrecyTerm, custody.MaxSecrecyTerm, false)); err != nil {
		return err
	}
	for i := range d.ScopeUnits {
		if err := clean(code("scope_units", &d.ScopeUnits[i], true)); err != nil {
			return err
		}
	}
	for i := range d.ScopePeople {
		if err := clean(text("scope_people", &d.ScopePeople[i], custody.MaxUsername, true)); err != nil {
			return err
		}
	}
	switch {
	case d.Number == "":
		return refuse(CodeInvalid, "缺少发文字号", "the document number (发文字号) is missing")
	case d.Title == "":
		return refuse(CodeInvalid, "缺少文件标题", "the title is missing")
	case d.IssuingUnit == "":
		return refuse(CodeInvalid, "缺少发文单位", "the issuing unit is missing")
	case d.SecrecyTerm == "":
		return refuse(CodeInvalid, "缺少保密期限", "the secrecy term (保密期限) is missing")
	case !validTerm(d.SecrecyTerm):
		return refuse(CodeInvalid, "保密期限 %q 无法识别：请写 10年、6个月、长期 或日期 2030-12-31", "secrecy term %q is not understood: write 10年, 6个月, 长期 or a date 2030-12-31", d.SecrecyTerm)
	case d.Copies < 1 || d.Copies > MaxCopies:
		return refuse(CodeInvalid, "份数必须在 1 到 %d 之间，收到 %d", "copies must be between 1 and %d, got %d", MaxCopies, d.Copies)
	}
	lvl, err := custody.ParseLevel(string(d.Level))
	if err != nil {
		return refuse(CodeInvalid, "密级 %q 无效，应为 绝密、机密 或 秘密", "secrecy level %q is invalid: want top-secret, secret or confidential", d.Level)
	}
	d.Level = lvl
	on, err := time.Parse("2006-01-02", d.IssuedOn)
	if err != nil {
		return refuse(CodeInvalid, "成文日期 %q 应为 YYYY-MM-DD", "issued_on %q must be YYYY-MM-DD", custody.Clip(d.IssuedOn, 20))
	}
	if on.Before(custody.EarliestDocDate) || on.After(custody.LatestDocDate(time.Now())) {
		return refuse(CodeInvalid, "成文日期 %s 不在 1949-10-01 至一年后之间", "issued_on %s is not between 1949-10-01 and a year from now", d.IssuedOn)
	}
	if d.TermStart != "" {
		if _, err := time.Parse("2006-01-02", d.TermStart); err != nil {
			return refuse(CodeInvalid, "保密期限起算日期 %q 应为 YYYY-MM-DD", "term_start %q must be YYYY-MM-DD", d.TermStart)
		}
	}
	d.TermEnd, d.Declassified = "", ""
	return nil
}

func validTerm(s string) bool { _, err := custody.ParseTerm(s); return err == nil }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// RegisterDocument records a document and creates its copies 1..N as items in state registered,
// all in one transaction with one audit record. Only a custodian registers documents.
func (r *Register) RegisterDocument(ctx context.Context, a Actor, d Document) (Document, []Item, error) {
	if err := need(a, registerDocs, custody.Custodian); err != nil {
		return Document{}, nil, err
	}
	if err := validateDocument(&d); err != nil {
		return Document{}, nil, err
	}
	d.TitleDigest, d.TitleVisible = digest(d.Title), true
	var items []Item
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var err error
		items, err = r.registerTx(ctx, tx, a, &d, 1, d.Copies)
		return err
	})
	if err != nil {
		return Document{}, nil, storeErr("register document", err)
	}
	return d, items, nil
}

// Documents lists documents; titles are redacted for the 三员.
func (r *Register) Documents(ctx context.Context, a Actor) ([]Document, error) {
	gate, err := r.titleGate(ctx, a)
	if err != nil {
		return nil, storeErr("list documents", err)
	}
	rows, err := r.st.DB().QueryContext(ctx, `SELECT d.id, d.number, d.title, u.code, d.level, d.issued_on, d.secrecy_term, d.copies, coalesce(d.term_start, d.issued_on), coalesce(d.declassified_at, '')
		FROM documents d JOIN units u ON u.id = d.issuing_unit_id ORDER BY d.id`)
	if err != nil {
		return nil, storeErr("list documents", err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		var d Document
		if err := rows.Scan(&d.ID, &d.Number, &d.Title, &d.IssuingUnit, &d.Level, &d.IssuedOn, &d.SecrecyTerm, &d.Copies, &d.TermStart, &d.Declassified); err != nil {
			return nil, err
		}
		d.TermEnd, _ = termOf(d.SecrecyTerm).End(d.TermStart)
		d.TitleDigest = digest(d.Title)
		d.TitleVisible = gate != nil && gate(d.ID)
		if !d.TitleVisible {
			d.Title = ""
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// registerTx inserts a validated document, its readership scope and its copies first..last (the
// 份号 printed on the paper; 1..N when the whole issue arrives), with one audit record, inside the
// caller's transaction.
func (r *Register) registerTx(ctx context.Context, tx *store.Tx, a Actor, d *Document, first, last int) ([]Item, error) {
	var items []Item
	err := func() error {
		unit, err := r.unitID(ctx, tx, d.IssuingUnit)
		if err != nil {
			return err
		}
		now := store.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO documents(number, title, issuing_unit_id, level, issued_on, secrecy_term, copies, created_by, created_at, term_start) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			d.Number, d.Title, unit, d.Level, d.IssuedOn, d.SecrecyTerm, d.Copies, a.ID, now, nullStr(d.TermStart)).Scan(&d.ID)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "发文字号 %q 已登记", "document number %q is already registered", d.Number)
		}
		if err != nil {
			return err
		}
		for _, u := range d.ScopeUnits {
			id, err := r.unitID(ctx, tx, u)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO document_scope(document_id, unit_id) VALUES (?,?)`, d.ID, id); err != nil {
				return err
			}
		}
		for _, p := range d.ScopePeople {
			var id int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM people WHERE username = ?`, p).Scan(&id); err == sql.ErrNoRows {
				return refuse(CodeNotFound, "知悉范围中的人员 %q 不存在", "person %q in the readership scope does not exist", p)
			} else if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO document_scope(document_id, person_id) VALUES (?,?)`, d.ID, id); err != nil {
				return err
			}
		}
		if items, err = r.insertCopies(ctx, tx, *d, first, last, now); err != nil {
			return err
		}
		// The audit record names the document by number and a digest of its title: the auditor
		// (one of the 三员) reads this log and must not learn the title.
		return tx.Audit(store.Entry{Actor: a.Username, Action: "document.register", Subject: fmt.Sprintf("document:%d", d.ID), After: map[string]any{
			"number": d.Number, "title_sha256": d.TitleDigest, "issuing_unit": d.IssuingUnit, "level": d.Level,
			"issued_on": d.IssuedOn, "secrecy_term": d.SecrecyTerm, "copies": d.Copies,
			"items":       fmt.Sprintf("%d-%d", items[0].ID, items[len(items)-1].ID),
			"scope_units": d.ScopeUnits, "scope_people": d.ScopePeople,
		}})
	}()
	return items, err
}

// insertCopies creates the copies first..last of a document in state registered, with their EPC
// and barcode. A 份号 already in the register is refused by number, as the paper shows it.
func (r *Register) insertCopies(ctx context.Context, tx *store.Tx, d Document, first, last int, now string) ([]Item, error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO items(document_id, copy_no, state, updated_at) VALUES (?,?,?,?) RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	items := make([]Item, 0, last-first+1)
	for n := first; n <= last; n++ {
		var id int64
		err := ins.QueryRowContext(ctx, d.ID, n, custody.Registered, now).Scan(&id)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return nil, refuse(CodeConflict, "%s 第%s份 已登记，同一文件的份号不能重复", "%s copy %s is already registered; a copy number is unique per document", d.Number, copyNo(n, d.Copies))
		}
		if err != nil {
			return nil, err
		}
		e, bc, err := r.label(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		items = append(items, Item{ID: id, DocumentID: d.ID, Document: d.Number, Copy: n, Copies: d.Copies, Level: d.Level, State: custody.Registered, EPC: e, Barcode: bc, Term: d.SecrecyTerm})
	}
	return items, nil
}

// copyNo prints a 份号 as the issuer does (apitype.CopyNo).
func copyNo(n, total int) string { return apitype.CopyNo(n, total) }
