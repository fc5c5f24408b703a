package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/store"
)

// Importing an office's existing ledger (台账, issue 16 point 5). Each row is received exactly as
// a document received by hand (receiveTx: the same document checks, the cabinet is the
// custodian's, a later batch matches the register, a 份号 is never registered twice, each copy
// gets its EPC and barcode and is stored 在柜 by the lifecycle's store step — receipt itself
// stores the copies without a desk scan, so an imported copy is 在柜 too, and the nightly
// inventory confirms it is really there); a row with a 持有人 then lends its copies to that
// person with the checks of a borrowing handover (checkCounterpart, checkItem: an active reader
// or leader, not one of the 三员, within the readership scope, the level's borrowing limit, no
// overdue copies). The whole file is one transaction: a dry run goes through every row the same
// way and rolls back, so it finds exactly what the real import would refuse; a real import with
// any problem rolls back too and writes nothing but the audited refusal.

var importLedger = custody.Text{ZH: "导入台账", EN: "import a ledger"}

// ImportRequest is a decoded ledger file and what to do with it.
type ImportRequest struct {
	Sheet  ledger.Sheet
	DryRun bool
	Name   string // the file's name, for the audit record
	SHA256 string // of the file's bytes, for the audit record
}

// ImportProblem is one problem of one row, in the terms of the sheet: its row number and the
// template's column heading ("" when the row as a whole is refused).
type ImportProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	ZH     string `json:"zh"`
	EN     string `json:"en"`
}

// ImportReport says what an import did, or, for a dry run or a refused import, what it would do
// and every row's problems.
type ImportReport struct {
	DryRun     bool            `json:"dry_run"`
	Imported   bool            `json:"imported"`
	Format     string          `json:"format"`
	Encoding   string          `json:"encoding"`
	Rows       int             `json:"rows"`
	Documents  int             `json:"documents"`   // documents new to the register
	Copies     int             `json:"copies"`      // copies registered
	CheckedOut int             `json:"checked_out"` // of which lent to their 持有人
	Ignored    []string        `json:"ignored_columns,omitempty"`
	Problems   []ImportProblem `json:"problems"`
	// Items are the imported copies with their EPCs (a real import only).
	Items []Item `json:"items,omitempty"`
	// Labels are the custodyctl commands that print the new copies' labels, one per document.
	Labels []string `json:"labels,omitempty"`
}

// errRollback ends the import's transaction without writing: a dry run, or problems found.
var errRollback = errors.New("ledger import: roll back")

// MaxImportCopies bounds the copies one import creates (the rows are bounded by ledger.MaxRows).
const MaxImportCopies = 20000

// ImportLedger imports a ledger (or, with DryRun, checks it). Only a custodian imports, and only
// into their own units' cabinets. With problems, the report lists them all and the error is a
// CodeRefused refusal: nothing was written.
func (r *Register) ImportLedger(ctx context.Context, a Actor, req ImportRequest) (ImportReport, error) {
	rep := ImportReport{DryRun: req.DryRun, Format: req.Sheet.Format, Encoding: req.Sheet.Encoding, Rows: len(req.Sheet.Rows), Ignored: req.Sheet.Ignored, Problems: []ImportProblem{}}
	if err := need(a, importLedger, custody.Custodian); err != nil {
		return rep, err
	}
	if len(req.Sheet.Rows) == 0 {
		return rep, refuse(CodeInvalid, "台账中没有数据行（表头在第 %d 行）", "the ledger has no data rows (the heading is row %d)", req.Sheet.Header)
	}
	if len(req.Sheet.Rows) > ledger.MaxRows {
		return rep, refuse(CodeInvalid, "行数过多：一次最多导入 %d 行", "too many rows: at most %d per import", ledger.MaxRows)
	}
	name, _ := custody.CleanText("file", req.Name, custody.MaxName, false)
	now := store.FormatTime(r.now())
	var items []Item
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		st := &importState{seen: map[string]int{}, docs: map[string]bool{}}
		for _, row := range req.Sheet.Rows {
			probs, got, err := r.importRow(ctx, tx, a, row, st, now)
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Line, err)
			}
			rep.Problems = append(rep.Problems, probs...)
			items = append(items, got...)
			if len(items) > MaxImportCopies {
				rep.Problems = append(rep.Problems, problem(row.Line, "", custody.Text{
					ZH: fmt.Sprintf("一次最多导入 %d 份，本文件到此已超过：请分成几个文件导入", MaxImportCopies),
					EN: fmt.Sprintf("an import creates at most %d copies and this file passes that here: import it in parts", MaxImportCopies)}))
				return errRollback
			}
		}
		rep.Documents = len(st.newDocs)
		rep.Copies = len(items)
		for _, it := range items {
			if it.State == custody.CheckedOut {
				rep.CheckedOut++
			}
		}
		if len(rep.Problems) > 0 || req.DryRun {
			return errRollback
		}
		ids := make([]int64, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "ledger.import", Subject: "ledger:" + req.SHA256, After: map[string]any{
			"file": name, "sha256": req.SHA256, "format": req.Sheet.Format, "encoding": req.Sheet.Encoding, "rows": rep.Rows,
			"documents": rep.Documents, "copies": rep.Copies, "checked_out": rep.CheckedOut, "items": compactIDs(ids)}})
	})
	switch {
	case errors.Is(err, errRollback) && len(rep.Problems) > 0:
		p := rep.Problems[0]
		more := ""
		moreEN := ""
		if n := len(rep.Problems); n > 1 {
			more, moreEN = fmt.Sprintf("等 %d 处问题", n), fmt.Sprintf(" and %d more problems", n-1)
		}
		what := custody.Text{ZH: "未导入任何内容", EN: "nothing was imported"}
		if req.DryRun {
			what = custody.Text{ZH: "试导入未写入任何内容", EN: "the dry run wrote nothing"}
		}
		return rep, refuseT(CodeRefused, fmt.Sprintf("台账第 %d 行%s：%s%s；%s", p.Row, colZH(p.Column), p.ZH, more, what.ZH),
			fmt.Sprintf("ledger row %d%s: %s%s; %s", p.Row, colEN(p.Column), p.EN, moreEN, what.EN))
	case errors.Is(err, errRollback):
		rep.Items = nil
		return rep, nil
	case err != nil:
		return rep, storeErr("import ledger", err)
	}
	rep.Imported = true
	docs := map[string]bool{}
	for _, it := range items {
		if !docs[it.Document] {
			docs[it.Document] = true
			rep.Labels = append(rep.Labels, "custodyctl labels print --document '"+strings.ReplaceAll(it.Document, "'", `'\''`)+"' -o labels.pdf")
		}
	}
	// Items as the register now shows them (state, holder, due), with their EPCs.
	for _, it := range items {
		got, err := r.Item(ctx, a, it.ID)
		if err != nil {
			return rep, err
		}
		rep.Items = append(rep.Items, got)
	}
	return rep, nil
}

func colZH(c string) string {
	if c == "" {
		return ""
	}
	return "【" + c + "】"
}

func colEN(c string) string {
	if c == "" {
		return ""
	}
	return " (" + c + ")"
}

// compactIDs writes ids as ranges (12-40,44) for the audit record.
func compactIDs(ids []int64) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteString("-" + strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

type importState struct {
	seen    map[string]int  // number#copy → the row that has it
	docs    map[string]bool // document numbers met in the file
	newDocs []string
}

func problem(line int, column string, t custody.Text) ImportProblem {
	return ImportProblem{Row: line, Column: column, ZH: t.ZH, EN: t.EN}
}

// rowProblem turns a refusal into a row's problem; anything else is an internal error.
func rowProblem(line int, column string, err error) (ImportProblem, error) {
	var re *Error
	if errors.As(err, &re) {
		return problem(line, column, re.Text), nil
	}
	var te *custody.TextError
	if errors.As(err, &te) {
		return problem(line, column, te.Text), nil
	}
	return ImportProblem{}, err
}

func heading(key string) string { c, _ := ledger.ColumnByKey(key); return c.ZH }

// importRow checks one row and, when it is sound, receives it inside tx. Cell problems are all
// reported; once the cells are sound, the register's checks run in order and the first refusal
// is the row's problem (as the desk would show it). err is an internal error only.
func (r *Register) importRow(ctx context.Context, tx *store.Tx, a Actor, row ledger.Row, st *importState, now string) ([]ImportProblem, []Item, error) {
	var probs []ImportProblem
	bad := func(key string, t custody.Text) { probs = append(probs, problem(row.Line, heading(key), t)) }
	cell := func(key string) string { return row.Cells[key] }

	// A cell starting = + - @ is a formula to a spreadsheet: stored, it would run when the
	// register is exported and opened in Excel (CSV injection). No register field starts so.
	for _, c := range ledger.Columns {
		if v := strings.TrimSpace(cell(c.Key)); v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
			bad(c.Key, custody.Text{ZH: "以 = + - @ 开头，疑似公式，不予导入：请填写内容本身", EN: "starts with = + - @ like a formula and is refused: write the value itself"})
		}
	}
	if len(probs) > 0 {
		return probs, nil, nil
	}
	field := func(key string, max int, required bool) string {
		v, err := custody.CleanText(heading(key), cell(key), max, required)
		if err != nil {
			var te *custody.TextError
			errors.As(err, &te)
			bad(key, te.Text)
		}
		return v
	}
	var d Document
	d.Number = field(ledger.Number, custody.MaxDocNumber, true)
	d.Title = field(ledger.Title, custody.MaxTitle, true)
	levelCell := field(ledger.Level, custody.MaxSecrecyTerm, true)
	d.SecrecyTerm = field(ledger.Term, custody.MaxSecrecyTerm, false)
	// 机密★10年: the mark as printed on the paper, level and term in one cell.
	if lv, term, ok := strings.Cut(levelCell, "★"); ok {
		levelCell = strings.TrimSpace(lv)
		if t := strings.TrimSpace(term); t != "" {
			if d.SecrecyTerm == "" {
				d.SecrecyTerm = t
			} else if termOf(d.SecrecyTerm) != termOf(t) {
				bad(ledger.Term, custody.Text{ZH: fmt.Sprintf("与密级栏中的 ★%s 不一致", t), EN: fmt.Sprintf("differs from ★%s in the level column", t)})
			}
		}
	}
	if levelCell != "" {
		if lvl, err := custody.ParseLevel(levelCell); err != nil {
			bad(ledger.Level, custody.Text{ZH: fmt.Sprintf("%q 无效，应为 绝密、机密 或 秘密", custody.Clip(levelCell, 10)), EN: fmt.Sprintf("%q is invalid: want 绝密, 机密 or 秘密", custody.Clip(levelCell, 10))})
		} else {
			d.Level = lvl
		}
	}
	copies, ok := count(cell(ledger.Copies))
	switch {
	case strings.TrimSpace(cell(ledger.Copies)) == "":
		bad(ledger.Copies, custody.Text{ZH: "缺少份数（发文单位印制的总份数）", EN: "the total printed is missing"})
	case !ok || copies < 1 || copies > MaxCopies:
		bad(ledger.Copies, custody.Text{ZH: fmt.Sprintf("%q 不是 1 到 %d 之间的整数", custody.Clip(cell(ledger.Copies), 10), MaxCopies), EN: fmt.Sprintf("%q is not a whole number from 1 to %d", custody.Clip(cell(ledger.Copies), 10), MaxCopies)})
	}
	d.Copies = copies
	ranges, ok := copyRanges(cell(ledger.Copy))
	switch {
	case strings.TrimSpace(cell(ledger.Copy)) == "":
		bad(ledger.Copy, custody.Text{ZH: "缺少份号", EN: "the copy number is missing"})
	case !ok:
		bad(ledger.Copy, custody.Text{ZH: fmt.Sprintf("%q 无法识别：写一个份号 3，连续份号 3-5，或用顿号分开 3、5、7-9", custody.Clip(cell(ledger.Copy), 20)), EN: fmt.Sprintf("%q is not understood: write one copy number 3, a range 3-5, or a list 3、5、7-9", custody.Clip(cell(ledger.Copy), 20))})
	case copies > 0:
		for _, rg := range ranges {
			if rg[0] < 1 || rg[1] > copies {
				n := strconv.Itoa(rg[0])
				if rg[1] != rg[0] {
					n += "–" + strconv.Itoa(rg[1])
				}
				bad(ledger.Copy, custody.Text{ZH: fmt.Sprintf("份号 %s 不在 1 到 %d（发文单位印制的总份数）之间", n, copies), EN: fmt.Sprintf("copy number %s is not within 1 to %d (the total the issuer printed)", n, copies)})
				break
			}
		}
	}
	switch {
	case d.SecrecyTerm == "" && levelCell != "":
		bad(ledger.Term, custody.Text{ZH: "缺少保密期限", EN: "the secrecy term is missing"})
	case d.SecrecyTerm != "" && !validTerm(d.SecrecyTerm):
		bad(ledger.Term, custody.Text{ZH: fmt.Sprintf("%q 无法识别：请写 10年、6个月、长期 或日期 2030-12-31", custody.Clip(d.SecrecyTerm, 20)), EN: fmt.Sprintf("%q is not understood: write 10年, 6个月, 长期 or a date 2030-12-31", custody.Clip(d.SecrecyTerm, 20))})
	}
	unitCell := field(ledger.IssuingUnit, custody.MaxName, true)
	d.IssuedOn = dateField(cell(ledger.IssuedOn), func(t custody.Text) { bad(ledger.IssuedOn, t) }, true)
	from := field(ledger.From, custody.MaxName, true)
	received := dateField(cell(ledger.ReceivedOn), func(t custody.Text) { bad(ledger.ReceivedOn, t) }, false)
	if today := r.Today(); received != "" && received > today {
		bad(ledger.ReceivedOn, custody.Text{ZH: fmt.Sprintf("%s 晚于今天（%s，本地时间）", received, today), EN: fmt.Sprintf("%s is after today (%s, site time)", received, today)})
	} else if received != "" && d.IssuedOn != "" && received < d.IssuedOn {
		bad(ledger.ReceivedOn, custody.Text{ZH: fmt.Sprintf("%s 早于成文日期 %s", received, d.IssuedOn), EN: fmt.Sprintf("%s is before the issue date %s", received, d.IssuedOn)})
	}
	cabinet, err := custody.CleanCode(heading(ledger.Cabinet), cell(ledger.Cabinet), true)
	if err != nil {
		var te *custody.TextError
		errors.As(err, &te)
		bad(ledger.Cabinet, te.Text)
	}
	holder := field(ledger.Holder, custody.MaxName, false)
	dueCell := strings.TrimSpace(cell(ledger.Due))
	var due time.Time
	if dueCell != "" {
		if holder == "" {
			bad(ledger.Due, custody.Text{ZH: "填写了应还日期但没有持有人：在柜的文件不填应还日期", EN: "a due date without a holder: a copy in its cabinet has none"})
		} else if t, err := r.parseDue(dueCell); err != nil {
			p, _ := rowProblem(row.Line, heading(ledger.Due), err)
			probs = append(probs, p)
		} else if !t.After(r.now()) {
			bad(ledger.Due, custody.Text{ZH: fmt.Sprintf("%s 已过：逾期未还的文件请先收回入柜，再按在柜导入", r.zone.Format(t, "2006-01-02 15:04")),
				EN: fmt.Sprintf("%s has passed: take an overdue copy back into the cabinet first and import it as in the cabinet", r.zone.Format(t, "2006-01-02 15:04"))})
		} else {
			due = t
		}
	}
	note, err := custody.CleanNote(heading(ledger.Note), cell(ledger.Note))
	if err != nil {
		var te *custody.TextError
		errors.As(err, &te)
		bad(ledger.Note, te.Text)
	}
	var scope []string
	for _, s := range strings.FieldsFunc(cell(ledger.Scope), func(r rune) bool { return strings.ContainsRune("、,，;；/ \u3000", r) }) {
		v, err := custody.CleanText(heading(ledger.Scope), s, custody.MaxName, false)
		if err != nil {
			var te *custody.TextError
			errors.As(err, &te)
			bad(ledger.Scope, te.Text)
			continue
		}
		scope = append(scope, v)
	}
	// What each cell names must exist, whatever the other cells say, so that one pass shows
	// every problem of the row: the issuing unit, the readership scope, the cabinet (one of the
	// custodian's units), the holder (who may borrow).
	badKey := map[string]bool{}
	for _, p := range probs {
		for _, c := range ledger.Columns {
			if c.ZH == p.Column {
				badKey[c.Key] = true
			}
		}
	}
	refused := func(key string, err error) error {
		p, ierr := rowProblem(row.Line, heading(key), err)
		if ierr == nil {
			probs = append(probs, p)
		}
		return ierr
	}
	if !badKey[ledger.IssuingUnit] {
		if d.IssuingUnit, err = unitByCodeOrName(ctx, tx, unitCell); err != nil {
			if err := refused(ledger.IssuingUnit, err); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, s := range scope {
		if code, err := unitByCodeOrName(ctx, tx, s); err == nil {
			d.ScopeUnits = append(d.ScopeUnits, code)
			continue
		}
		p, err := personByUsernameOrName(ctx, tx, s)
		if err != nil {
			if err := refused(ledger.Scope, refuse(CodeNotFound, "%q 既不是登记簿中的单位，也不是人员", "%q is neither a unit nor a person of the register", custody.Clip(s, 20))); err != nil {
				return nil, nil, err
			}
			continue
		}
		d.ScopePeople = append(d.ScopePeople, p.Username)
	}
	if !badKey[ledger.Cabinet] {
		if _, err := r.custodyCabinet(ctx, tx, a, cabinet); err != nil {
			if err := refused(ledger.Cabinet, err); err != nil {
				return nil, nil, err
			}
		}
	}
	var person personRow
	if holder != "" && !badKey[ledger.Holder] {
		if person, err = personByUsernameOrName(ctx, tx, holder); err == nil {
			err = r.checkCounterpart(ctx, tx, sessionRow{purpose: PurposeBorrow, custodian: a.ID}, person)
		}
		if err != nil {
			if err := refused(ledger.Holder, err); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(probs) > 0 {
		return probs, nil, nil
	}

	// The row is sound cell by cell: now the checks of the document and its copies as receipt
	// applies them; the first refusal is the row's problem, as the desk would show it.
	fail := func(key string, err error) ([]ImportProblem, []Item, error) {
		col := ""
		if key != "" {
			col = heading(key)
		}
		p, ierr := rowProblem(row.Line, col, err)
		if ierr != nil {
			return nil, nil, ierr
		}
		return []ImportProblem{p}, nil, nil
	}
	for _, rg := range ranges {
		for n := rg[0]; n <= rg[1]; n++ {
			k := d.Number + "#" + strconv.Itoa(n)
			if prev, dup := st.seen[k]; dup {
				if prev == row.Line {
					return fail(ledger.Copy, refuse(CodeConflict, "%s 第%s份 在本行写了两次", "%s copy %s is written twice on this row", d.Number, copyNo(n, d.Copies)))
				}
				return fail(ledger.Copy, refuse(CodeConflict, "%s 第%s份 与第 %d 行重复：同一文件的份号只能登记一次", "%s copy %s repeats row %d: a copy number is registered once per document", d.Number, copyNo(n, d.Copies), prev))
			}
			st.seen[k] = row.Line
		}
	}
	if err := validateDocument(&d); err != nil {
		return fail("", err)
	}
	d.TitleDigest, d.TitleVisible = digest(d.Title), true
	existing, err := r.sameDocument(ctx, tx, d)
	if err != nil {
		return fail(ledger.Number, err)
	}
	evNote := "台账导入 收文 " + from
	if received != "" {
		evNote += " 收文日期 " + received
	}
	if note != "" {
		evNote += "；" + note
	}
	// Each run of copy numbers is one receipt, as a batch received by hand is one run.
	var items []Item
	for _, rg := range ranges {
		got, _, err := r.receiveTx(ctx, tx, a, cabinet, from, &d, rg[0], rg[1], evNote, now, map[string]any{"ledger_row": row.Line, "received_on": received})
		if err != nil {
			return fail(ledger.Copy, err)
		}
		items = append(items, got...)
	}
	if existing == 0 && !st.docs[d.Number] {
		st.newDocs = append(st.newDocs, d.Number)
	}
	st.docs[d.Number] = true
	if holder == "" {
		return nil, items, nil
	}
	if due.IsZero() {
		due = r.defaultDue(d.Level)
	}
	s := sessionRow{purpose: PurposeBorrow, custodian: a.ID, counterpart: nullID(person.ID), opens: now, due: store.FormatTime(due)}
	moved := make([]auditItem, 0, len(items))
	for i := range items {
		x, err := loadRow(ctx, tx, items[i].ID)
		if err != nil {
			return nil, nil, err
		}
		if err := r.checkItem(ctx, tx, s, x, &person); err != nil {
			return fail(ledger.Holder, err)
		}
		to, err := step(x, custody.CheckOut, custody.Custodian)
		if err != nil {
			return fail(ledger.Holder, err)
		}
		if err := apply(ctx, tx, x, move{to: to, holder: nullID(person.ID), due: s.due, purpose: PurposeBorrow}, custody.CheckOut, a.ID, nullID(person.ID), sql.NullInt64{}, "台账导入：借出给 "+person.Username, now); err != nil {
			return nil, nil, err
		}
		items[i].State, items[i].Holder, items[i].Due = to, person.Username, s.due
		moved = append(moved, toAuditItem(x, to))
	}
	// The borrowing as the ledger declares it: no handover took place at a desk, so no signature;
	// the record says so (source ledger_import) and names the holder and due time.
	if err := tx.Audit(store.Entry{Actor: a.Username, Action: "item.checkout", Subject: "items:" + compactIDs(itemIDs(items)), After: map[string]any{
		"items": moved, "holder": person.Username, "due": s.due, "purpose": PurposeBorrow, "source": "ledger_import", "ledger_row": row.Line}}); err != nil {
		return nil, nil, err
	}
	return nil, items, nil
}

func itemIDs(items []Item) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// defaultDue is the due time of a lent copy whose row gives none: the longest the level may be
// out from now (机密 7 days, 秘密 30), so the overdue check starts counting at once.
func (r *Register) defaultDue(l custody.Level) time.Time {
	lim := r.borrowLimits()
	days := lim.ConfidentialDays
	if l == custody.Secret {
		days = lim.SecretDays
	}
	if days <= 0 {
		days = 30
	}
	return r.now().Add(time.Duration(days) * 24 * time.Hour)
}

// count reads 20, 20份, 共20份.
func count(s string) (int, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "共")
	s = strings.TrimSuffix(s, "份")
	s = strings.TrimSuffix(s, ".0") // a number typed into a general-format Excel cell
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// copyRanges reads a list of copy numbers and ranges separated by 、 , ， ; (3、5、7-9); at most
// MaxCopies numbers in all.
func copyRanges(s string) ([][2]int, bool) {
	var out [][2]int
	total := 0
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("、,，;；", r) }) {
		first, last, ok := copyRange(part)
		if !ok {
			return nil, false
		}
		if total += last - first + 1; total > MaxCopies {
			return nil, false
		}
		out = append(out, [2]int{first, last})
	}
	return out, len(out) > 0
}

// copyRange reads 3, 003, 第3份, 3-5, 3—5, 3～5, 3至5.
func copyRange(s string) (first, last int, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "第")
	s = strings.TrimSuffix(s, "份")
	a, b, isRange := "", "", false
	for _, sep := range []string{"-", "—", "–", "~", "～", "至"} {
		if x, y, found := strings.Cut(s, sep); found {
			a, b, isRange = x, y, true
			break
		}
	}
	if !isRange {
		a, b = s, s
	}
	first, ok1 := count(a)
	last, ok2 := count(b)
	if !ok1 || !ok2 || first > last || first < 1 {
		return 0, 0, false
	}
	return first, last, true
}

// dateField reads a date as offices write it (2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日;
// Excel's serials were turned into the first form by the decoder) as YYYY-MM-DD.
func dateField(s string, bad func(custody.Text), required bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			bad(custody.Text{ZH: "缺少日期", EN: "the date is missing"})
		}
		return ""
	}
	norm := strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", "").Replace(s)
	if t, err := time.Parse("2006-1-2", norm); err == nil {
		return t.Format(time.DateOnly)
	}
	bad(custody.Text{ZH: fmt.Sprintf("%q 不是日期：应为 YYYY-MM-DD", custody.Clip(s, 20)), EN: fmt.Sprintf("%q is not a date: want YYYY-MM-DD", custody.Clip(s, 20))})
	return ""
}

// unitByCodeOrName finds a unit as a ledger names it: its code, or its full name.
func unitByCodeOrName(ctx context.Context, q rowsQuerier, s string) (string, error) {
	var code string
	err := q.QueryRowContext(ctx, `SELECT code FROM units WHERE code = ?`, s).Scan(&code)
	if err == nil {
		return code, nil
	} else if err != sql.ErrNoRows {
		return "", err
	}
	rows, err := q.QueryContext(ctx, `SELECT code FROM units WHERE name = ? LIMIT 2`, s)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
		codes = append(codes, c)
	}
	switch len(codes) {
	case 1:
		return codes[0], rows.Err()
	case 0:
		return "", refuse(CodeNotFound, "单位 %q 不在登记簿中：请先由系统管理员添加该单位，或写其代码", "unit %q is not in the register: have the administrator add it, or write its code", custody.Clip(s, 20))
	}
	return "", refuse(CodeInvalid, "有多个单位名为 %q：请写单位代码", "several units are named %q: write the unit's code", custody.Clip(s, 20))
}

// personByUsernameOrName finds a person as a ledger names them: the username, or the name when
// exactly one person has it (two 张伟 must be told apart by username).
func personByUsernameOrName(ctx context.Context, q rowsQuerier, s string) (personRow, error) {
	p, err := loadPerson(ctx, q, "p.username = ?", s)
	if err == nil {
		return p, nil
	} else if err != sql.ErrNoRows {
		return p, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM people WHERE name = ?`, s).Scan(&n); err != nil {
		return p, err
	}
	switch n {
	case 0:
		return p, refuse(CodeNotFound, "人员 %q 不在登记簿中", "person %q is not in the register", custody.Clip(s, 20))
	case 1:
		return loadPerson(ctx, q, "p.name = ?", s)
	}
	return p, refuse(CodeInvalid, "有 %d 人名为 %q：请写其账号", "%d people are named %q: write the username", n, custody.Clip(s, 20))
}
