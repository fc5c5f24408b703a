package register

import (
	"context"
	"database/sql"
	"strings"
)

// Listings (sessions, approvals, destruction batches, recalls, loss cases) read their rows in a
// fixed number of queries, whatever their length: the listing picks its ids (newest first,
// narrowed, limited), then each part of a row — the head, its items, its history — is read for
// all the ids at once ("… IN (:ids)") and grouped by id. The one-row readers are the same
// loaders called with one id, so a listing and a detail view cannot drift apart. (Before, each
// listing read the ids and then ran the one-row reader per id: 1 + n×k queries.)

// queryIDs returns the first column of each row of a query.
func queryIDs(ctx context.Context, q rowsQuerier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// eachIn runs query with every ":ids" in it replaced by the list of ids (one placeholder each)
// and calls scan for each row. No ids: no query.
func eachIn(ctx context.Context, q rowsQuerier, query string, ids []int64, scan func(*sql.Rows) error) error {
	if len(ids) == 0 {
		return nil
	}
	n := strings.Count(query, ":ids")
	list := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, 0, n*len(ids))
	for range n {
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := q.QueryContext(ctx, strings.ReplaceAll(query, ":ids", list), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// byID collects the rows of a listing as they are read, and hands them back in the listing's
// order.
type byID[T any] struct {
	ids []int64
	m   map[int64]*T
}

func newByID[T any](ids []int64) byID[T] { return byID[T]{ids: ids, m: make(map[int64]*T, len(ids))} }

// add keeps a row read by the head query.
func (b byID[T]) add(id int64, v T) { b.m[id] = &v }

// get is the row of an id, or nil when the head query did not find it.
func (b byID[T]) get(id int64) *T { return b.m[id] }

// list returns the rows found, in the order of the ids.
func (b byID[T]) list() []T {
	out := make([]T, 0, len(b.ids))
	for _, id := range b.ids {
		if v, ok := b.m[id]; ok {
			out = append(out, *v)
		}
	}
	return out
}

// keyed scans a row whose first column is the id of the listing row it belongs to, then hands
// the rest to a one-row scanner (scanItem): scan(keyed{rows, &id}).
type keyed struct {
	rows *sql.Rows
	key  *int64
}

func (k keyed) Scan(dest ...any) error { return k.rows.Scan(append([]any{k.key}, dest...)...) }

// itemsOf is itemSelect with the id of the listing row each item belongs to in front, joined
// through a link table: itemsOf("loss_case_items", "case_id") reads the items of loss cases.
func itemsOf(link, key string) string {
	return strings.Replace(itemSelect, "SELECT ", "SELECT l."+key+", ", 1) + " JOIN " + link + " l ON l.item_id = i.id WHERE l." + key + " IN (:ids)"
}
