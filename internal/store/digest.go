package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Digest is what an overview needs of one stored inventory or door observation, read without
// decoding its body: the cabinet, when the agent made it, and for an inventory the number of tags
// and whether the round was complete, for a door its state.
type Digest struct {
	Row      int64 // grows with every observation stored (observations are append-only)
	Kind     string
	Cabinet  string
	At       string
	Tags     int
	Complete bool
	Door     string
}

// Digests calls fn with a digest of each inventory and door observation stored after row after,
// in the order they were stored. The JSON is read in SQL so a report of hundreds of tags is never
// decoded in Go.
func (s *Store) Digests(ctx context.Context, after int64, fn func(Digest) error) error {
	q := `SELECT rowid, kind, coalesce(json_extract(body, '$.cabinet'), ''), at,
		CASE kind WHEN 'inventory' THEN coalesce(json_array_length(body, '$.tags'), 0) ELSE 0 END,
		CASE kind WHEN 'inventory' THEN coalesce(json_extract(body, '$.complete'), 0) ELSE 0 END,
		CASE kind WHEN 'door' THEN coalesce(json_extract(body, '$.state'), '') ELSE '' END
		FROM observations WHERE rowid > ? AND kind IN ('inventory', 'door') ORDER BY rowid`
	if s.dialect == Postgres {
		// observations.rowid is an identity column there (migrations/postgres/0010); the body is
		// text holding JSON, as on SQLite.
		q = `SELECT rowid, kind, coalesce(body::jsonb->>'cabinet', ''), at,
		CASE WHEN kind = 'inventory' AND jsonb_typeof(body::jsonb->'tags') = 'array' THEN jsonb_array_length(body::jsonb->'tags') ELSE 0 END,
		kind = 'inventory' AND coalesce(body::jsonb->'complete' = 'true'::jsonb, false),
		CASE kind WHEN 'door' THEN coalesce(body::jsonb->>'state', '') ELSE '' END
		FROM observations WHERE rowid > ? AND kind IN ('inventory', 'door') ORDER BY rowid`
	}
	rows, err := s.r.QueryContext(ctx, q, after)
	if err != nil {
		return fmt.Errorf("observation digests: %w", Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var d Digest
		if err := rows.Scan(&d.Row, &d.Kind, &d.Cabinet, &d.At, &d.Tags, &d.Complete, &d.Door); err != nil {
			return fmt.Errorf("observation digests: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LastRow is the row of the newest stored observation (0: none): it changes whenever one is
// stored.
func (s *Store) LastRow(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM observations`).Scan(&n)
	return n, err
}

// ObservationBody is the body of the observation at row (a Digest's Row); found is false when
// there is none.
func (s *Store) ObservationBody(ctx context.Context, row int64) (body []byte, found bool, err error) {
	var b string
	err = s.r.QueryRowContext(ctx, `SELECT body FROM observations WHERE rowid = ?`, row).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("observation at row %d: %w", row, Classify(err))
	}
	return []byte(b), true, nil
}

// DoorOpening is a cabinet's door opened, as its controller reported it.
type DoorOpening struct {
	At    time.Time // when the controller saw it open (the agent's time)
	Badge string    // the badge the controller read to open it, "" when none
}

// LastDoorOpening is the newest opening of cabinet's door stored in the doorLookBack before upTo
// (an alert's story: who last opened the door before it was raised); found is false when there
// is none. It reads only those days' door observations (the received_at index), never the years
// before.
func (s *Store) LastDoorOpening(ctx context.Context, cabinet string, upTo time.Time) (d DoorOpening, found bool, err error) {
	cab, state := `json_extract(body, '$.cabinet')`, `json_extract(body, '$.state')`
	badge := `coalesce(json_extract(body, '$.badge'), '')`
	if s.dialect == Postgres {
		cab, state, badge = `body::jsonb->>'cabinet'`, `body::jsonb->>'state'`, `coalesce(body::jsonb->>'badge', '')`
	}
	// The bound is a second without its zone, as in RecentObservationsUpTo; ordered by the index
	// (ORDER BY rowid alone made SQLite scan the whole table backwards).
	rows, err := s.r.QueryContext(ctx, `SELECT at, received_at, `+badge+` FROM observations
		WHERE received_at >= ? AND kind = 'door' AND `+cab+` = ? AND `+state+` = 'open' ORDER BY received_at DESC, rowid DESC`,
		upTo.Add(-doorLookBack).UTC().Format("2006-01-02T15:04:05"), cabinet)
	if err != nil {
		return DoorOpening{}, false, fmt.Errorf("last opening of cabinet %s: %w", cabinet, Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var at, received string
		if err := rows.Scan(&at, &received, &d.Badge); err != nil {
			return DoorOpening{}, false, fmt.Errorf("last opening of cabinet %s: %w", cabinet, err)
		}
		// Stored times differ in their digits of a second, so they are compared as times.
		r, rerr := ParseTime(received)
		t, terr := time.Parse(time.RFC3339Nano, at)
		if rerr == nil && terr == nil && !r.After(upTo) {
			d.At = t
			return d, true, nil
		}
	}
	return DoorOpening{}, false, rows.Err()
}

// doorLookBack is how far before an alert LastDoorOpening looks.
const doorLookBack = 7 * 24 * time.Hour
