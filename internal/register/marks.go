package register

import (
	"context"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
)

// Marks for exports built outside the register (issue 14 point 9): an alert list or an audit
// export names copies and documents by number only, yet it is a carrier like any paper and
// bears the mark of the most secret thing it names — the highest level, with the longest term
// among the documents of that level (custody.Mark).

// MarkOfItems is the mark of the given copies' documents, with extra levels known without a
// document (an alert's level): "" when nothing is classified.
func (r *Register) MarkOfItems(ctx context.Context, ids []int64, extra ...custody.Level) (string, error) {
	levels, terms := append([]custody.Level{}, extra...), make([]string, len(extra))
	for start := 0; start < len(ids); start += 500 { // SQLite's bound on variables, with room
		chunk := ids[start:min(start+500, len(ids))]
		q := `SELECT DISTINCT d.level, d.secrecy_term FROM items i JOIN documents d ON d.id = i.document_id WHERE d.declassified_at IS NULL AND i.id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := r.st.DB().QueryContext(ctx, q, args...)
		if err != nil {
			return "", storeErr("read marks", err)
		}
		for rows.Next() {
			var l custody.Level
			var t string
			if err := rows.Scan(&l, &t); err != nil {
				rows.Close()
				return "", storeErr("read marks", err)
			}
			levels, terms = append(levels, l), append(terms, t)
		}
		if err := rows.Close(); err != nil {
			return "", storeErr("read marks", err)
		}
	}
	return custody.Mark(levels, terms), nil
}

// RegisterMark is the mark of everything the register holds that is still classified: what an
// export of the whole history (the audit log) must bear.
func (r *Register) RegisterMark(ctx context.Context) (string, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT DISTINCT level, secrecy_term FROM documents WHERE declassified_at IS NULL`)
	if err != nil {
		return "", storeErr("read marks", err)
	}
	defer rows.Close()
	var levels []custody.Level
	var terms []string
	for rows.Next() {
		var l custody.Level
		var t string
		if err := rows.Scan(&l, &t); err != nil {
			return "", storeErr("read marks", err)
		}
		levels, terms = append(levels, l), append(terms, t)
	}
	if err := rows.Err(); err != nil {
		return "", storeErr("read marks", err)
	}
	return custody.Mark(levels, terms), nil
}
