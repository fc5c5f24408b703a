package register

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// ServedAt reports whether agent served the cabinet or desk code at the instant at under a
// binding that has since ended (BindPlace keeps each ended binding, table place_bindings).
// Ingest asks it about an observation refused as not_bound: one made while its agent still
// served the place is a late resend from the agent's outbox after a rebinding, not a forgery.
func (r *Register) ServedAt(ctx context.Context, kind, code, agent string, at time.Time) (bool, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT coalesce(bound_from, ''), bound_until FROM place_bindings WHERE kind = ? AND code = ? AND agent = ?`, kind, code, agent)
	if err != nil {
		return false, fmt.Errorf("past bindings of %s %q: %w", kind, code, store.Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var from, until string
		if err := rows.Scan(&from, &until); err != nil {
			return false, fmt.Errorf("past bindings of %s %q: %w", kind, code, err)
		}
		// Times are compared parsed: the store's format drops trailing zeros, so its strings do
		// not sort as times.
		end, err := store.ParseTime(until)
		if err != nil || !at.Before(end) {
			continue
		}
		if from != "" {
			if start, err := store.ParseTime(from); err != nil || at.Before(start) {
				continue
			}
		}
		return true, nil
	}
	return false, rows.Err()
}

// endBinding keeps the binding of code to old, which ends now (since: when it began, "" when
// unknown), for ServedAt.
func endBinding(ctx context.Context, tx *store.Tx, kind, code, old, since, now string) error {
	if old == "" {
		return nil
	}
	var from any
	if since != "" {
		from = since
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO place_bindings(kind, code, agent, bound_from, bound_until) VALUES (?,?,?,?,?)`, kind, code, old, from, now)
	return err
}
