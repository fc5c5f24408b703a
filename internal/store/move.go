package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The move of a register from SQLite into PostgreSQL (custodyd migrate, issue 18 point 6).
//
// It is the store's job, not each table owner's, for the reason Backup is: it copies the file as
// a whole, every table as its migrations made it, without reading a row's meaning. Table and
// column names come from the target's catalogue (the same migrations made both), never from
// input.

// ErrTargetNotEmpty refuses a move into a register that already holds something: a move never
// merges two registers, and never overwrites one.
var ErrTargetNotEmpty = errors.New("the target register is not empty")

// Moved is what MoveInto copied, and the audit chain head both registers end at.
type Moved struct {
	Tables    []TableRows
	AuditSeq  int64
	AuditHead string
}

// TableRows is one table's row count, the same on both sides after a move.
type TableRows struct {
	Table string
	Rows  int64
}

// seeded are the tables the migrations fill (the default approval policy): a new register holds
// those rows and is still empty.
var seeded = []string{"approval_policy"}

// moveBatch rows go in one INSERT: well under PostgreSQL's 65 535 parameters for the widest table.
const moveBatch = 200

// MoveInto copies this SQLite register into dst, an empty PostgreSQL register at the same schema
// version, in one transaction (all of it or nothing), then checks that every table holds as many
// rows on both sides, that the audit chains end at the same head and that dst's chain verifies.
// It refuses (ErrTargetNotEmpty) when any table of dst holds a row. progress, if not nil, hears
// each table as it is done.
func (s *Store) MoveInto(ctx context.Context, dst *Store, progress func(TableRows)) (Moved, error) {
	if s.dialect != SQLite || dst.dialect != Postgres {
		return Moved{}, fmt.Errorf("move a register: from SQLite into PostgreSQL only (here from %s into %s)", s.dialect, dst.dialect)
	}
	if a, b := s.schemaVersion(ctx), dst.schemaVersion(ctx); a != b {
		return Moved{}, fmt.Errorf("move a register: the source is at schema version %d and the target at %d — open both with the same custodyd", a, b)
	}
	tables, err := dst.moveOrder(ctx)
	if err != nil {
		return Moved{}, fmt.Errorf("move a register: list the target's tables: %w", err)
	}
	var full []string
	for _, t := range tables {
		var any bool
		if err := dst.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quoteIdent(t)+`)`).Scan(&any); err != nil {
			return Moved{}, fmt.Errorf("move a register: look into the target's %s: %w", t, Classify(err))
		}
		if any {
			full = append(full, t)
		}
	}
	// The migrations seed a few tables (the default approval policy); anything else — above all
	// an audit record, which every change to a register writes — means the target is in use.
	if slices.ContainsFunc(full, func(t string) bool { return !slices.Contains(seeded, t) }) {
		return Moved{}, fmt.Errorf("move a register into %s: %w (rows in %s) — create a new database and do not start custodyd on it before the move", dst.path, ErrTargetNotEmpty, strings.Join(full, ", "))
	}

	var moved Moved
	err = dst.Write(ctx, func(tx *sql.Tx) error {
		// The source holds its own copy of the seeded rows, as its office has changed them.
		for _, t := range full {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t)); err != nil {
				return fmt.Errorf("clear the seeded %s: %w", t, err)
			}
		}
		for _, t := range tables {
			n, err := s.copyTable(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			moved.Tables = append(moved.Tables, TableRows{t, n})
			if progress != nil {
				progress(TableRows{t, n})
			}
		}
		return syncIdentities(ctx, tx)
	})
	if err != nil {
		return Moved{}, fmt.Errorf("move a register into %s: nothing was written: %w", dst.path, err)
	}

	// Verify from what each side now holds, not from what was sent.
	for _, tr := range moved.Tables {
		var src, got int64
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(tr.Table)).Scan(&src); err != nil {
			return moved, fmt.Errorf("verify the move: count %s in the source: %w", tr.Table, err)
		}
		if err := dst.r.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(tr.Table)).Scan(&got); err != nil {
			return moved, fmt.Errorf("verify the move: count %s in the target: %w", tr.Table, err)
		}
		if src != got {
			return moved, fmt.Errorf("verify the move: %s holds %d rows in the source and %d in the target", tr.Table, src, got)
		}
	}
	if err := dst.loadHead(ctx); err != nil {
		return moved, err
	}
	seq, head := s.AuditHead()
	dseq, dhead := dst.AuditHead()
	if seq != dseq || head != dhead {
		return moved, fmt.Errorf("verify the move: the audit chain ends at record %d %s in the source but %d %s in the target", seq, head, dseq, dhead)
	}
	if _, err := dst.VerifyAudit(ctx); err != nil {
		return moved, fmt.Errorf("verify the move: the target's audit chain: %w", err)
	}
	moved.AuditSeq, moved.AuditHead = seq, head
	return moved, nil
}

func (s *Store) schemaVersion(ctx context.Context) int64 {
	var v sql.NullInt64
	s.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return v.Int64
}

// moveOrder lists the PostgreSQL register's tables (schema_migrations aside: Open wrote it)
// so that every table comes after the tables its foreign keys name.
func (s *Store) moveOrder(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	tables, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	needs := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		if from != to { // a table naming itself keeps its source order (ids ascend)
			needs[from] = append(needs[from], to)
		}
	}
	rows.Close()
	var order []string
	for len(order) < len(tables) {
		before := len(order)
		for _, t := range tables {
			if slices.Contains(order, t) {
				continue
			}
			if !slices.ContainsFunc(needs[t], func(n string) bool { return !slices.Contains(order, n) }) {
				order = append(order, t)
			}
		}
		if len(order) == before {
			return nil, fmt.Errorf("the foreign keys among %v form a cycle", tables)
		}
	}
	return order, nil
}

// copyTable copies one table's rows from s (SQLite) into tx (PostgreSQL) in the source's
// insertion order, identity values included, and returns how many.
func (s *Store) copyTable(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name, coalesce(identity_generation, '') FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		return 0, err
	}
	var cols []string
	overriding := ""
	for rows.Next() {
		var c, gen string
		if err := rows.Scan(&c, &gen); err != nil {
			rows.Close()
			return 0, err
		}
		cols = append(cols, c)
		if gen == "ALWAYS" {
			overriding = " OVERRIDING SYSTEM VALUE"
		}
	}
	rows.Close()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	list := strings.Join(quoted, ", ")
	src, err := s.r.QueryContext(ctx, `SELECT `+list+` FROM `+quoteIdent(table)+` ORDER BY rowid`)
	if err != nil {
		return 0, fmt.Errorf("read the source: %w", err)
	}
	defer src.Close()
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var n int64
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		k := len(batch) / len(cols)
		q := `INSERT INTO ` + quoteIdent(table) + ` (` + list + `)` + overriding + ` VALUES ` + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")
		if _, err := tx.ExecContext(ctx, q, batch...); err != nil {
			return fmt.Errorf("write rows %d–%d: %w", n-int64(k)+1, n, err)
		}
		batch = batch[:0]
		return nil
	}
	for src.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := src.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("read the source: %w", err)
		}
		batch = append(batch, vals...)
		n++
		if n%moveBatch == 0 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := src.Err(); err != nil {
		return n, fmt.Errorf("read the source: %w", err)
	}
	return n, flush()
}

// syncIdentities moves every identity column's sequence past the largest value copied, so the
// next row the register adds takes the next number, as it would have in SQLite.
func syncIdentities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	for _, tc := range cols {
		q := `SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max(` + quoteIdent(tc[1]) + `), 0) + 1, false) FROM ` + quoteIdent(tc[0])
		if _, err := tx.ExecContext(ctx, q, quoteIdent(tc[0]), tc[1]); err != nil {
			return fmt.Errorf("move the numbering of %s.%s on: %w", tc[0], tc[1], err)
		}
	}
	return nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// quoteIdent quotes a table or column name from the catalogue for both engines.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
