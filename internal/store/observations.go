package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Observation is one verified envelope as ingest stores it (firmware-protocol/mqtt.md §3). Body
// is the exact bytes the MAC covers.
type Observation struct {
	Agent string
	Seq   uint64
	ID    string
	Boot  string
	V     string
	At    string
	Kind  string
	Body  []byte
	MAC   string

	// Refused, if set, is why ingest refused this authentic envelope (not_bound): only its agent,
	// seq, id and kind are kept, in observation_refusals, so its seq counts as used.
	Refused string

	// Pos is the observation's place in commit order across every custodyd instance sharing the
	// store (set when read back by ObservationsAfter; ignored by StoreObservations).
	Pos int64
}

// Outcome says what storing one observation did.
type Outcome int

const (
	Stored    Outcome = iota // new: inserted
	Duplicate                // the same (agent, seq) and id were already stored: a redelivery
	SeqReused                // (agent, seq) is stored under another id
	IDReused                 // the id is stored under another (agent, seq)
)

func (o Outcome) String() string {
	return [...]string{"stored", "duplicate", "seq_reused", "id_reused"}[o]
}

// SeqState is how far an agent's stream is stored: every seq ≤ Contiguous, and nothing above
// MaxSeen. Contiguous < MaxSeen means a gap starting at Contiguous+1.
type SeqState struct {
	Agent      string
	Contiguous uint64
	MaxSeen    uint64
	HoleEnd    uint64 // with a gap: the last missing seq of the first hole (the next stored seq − 1)
}

// Gap reports whether seqs are missing below MaxSeen.
func (s SeqState) Gap() bool { return s.Contiguous < s.MaxSeen }

// StoreObservations inserts obs in one transaction (the group commit of ingest) and advances each
// touched agent's SeqState from what the database holds — not from what this process saw — so the
// state is right when several custodyd instances share the stream. A second copy of an
// observation is not an error: its outcome says what it collided with. Either the whole batch is
// durable when this returns nil, or nothing is.
func (s *Store) StoreObservations(ctx context.Context, obs []Observation) ([]Outcome, []SeqState, error) {
	out := make([]Outcome, len(obs))
	var states []SeqState
	err := s.Write(ctx, func(tx *sql.Tx) error {
		now := Now()
		// Writes are serialised (one SQLite writer; on PostgreSQL the store's write lock), so the
		// greatest pos plus one is the next in commit order for every instance.
		var pos int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(pos), 0) FROM observations`).Scan(&pos); err != nil {
			return fmt.Errorf("read the last observation position: %w", err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO observations(agent, seq, id, boot, v, at, kind, body, mac, received_at, pos)
			VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		touched := map[string]bool{}
		for i, o := range obs {
			if o.Refused != "" {
				res, err := tx.ExecContext(ctx, `INSERT INTO observation_refusals(agent, seq, id, kind, reason, received_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
					o.Agent, int64(o.Seq), o.ID, o.Kind, o.Refused, now)
				if err != nil {
					return fmt.Errorf("record refused observation %s/%d: %w", o.Agent, o.Seq, err)
				}
				out[i] = Duplicate
				if n, _ := res.RowsAffected(); n == 1 {
					out[i] = Stored
					touched[o.Agent] = true
				}
				continue
			}
			res, err := ins.ExecContext(ctx, o.Agent, int64(o.Seq), o.ID, o.Boot, o.V, o.At, o.Kind, string(o.Body), o.MAC, now, pos+1)
			if err != nil {
				return fmt.Errorf("insert observation %s/%d: %w", o.Agent, o.Seq, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				pos++
				out[i] = Stored
				touched[o.Agent] = true
				continue
			}
			if out[i], err = collision(ctx, tx, o); err != nil {
				return err
			}
		}
		agents := make([]string, 0, len(touched))
		for a := range touched {
			agents = append(agents, a)
		}
		sort.Strings(agents)
		for _, a := range agents {
			st, err := advance(ctx, tx, a, 0, now)
			if err != nil {
				return err
			}
			states = append(states, st)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store observations: %w", err)
	}
	return out, states, nil
}

// collision tells a redelivery from a reused seq or id.
func collision(ctx context.Context, tx *sql.Tx, o Observation) (Outcome, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM observations WHERE agent = ? AND seq = ?`, o.Agent, int64(o.Seq)).Scan(&id)
	switch {
	case err == nil && id == o.ID:
		return Duplicate, nil
	case err == nil:
		return SeqReused, nil
	case errors.Is(err, sql.ErrNoRows):
		return IDReused, nil
	}
	return 0, fmt.Errorf("look up observation %s/%d: %w", o.Agent, o.Seq, err)
}

// advance moves agent's contiguous mark over every stored seq that follows it (and at least to
// floor), inside tx, and saves the state.
func advance(ctx context.Context, tx *sql.Tx, agent string, floor uint64, now string) (SeqState, error) {
	st := SeqState{Agent: agent}
	var cont, max int64
	err := tx.QueryRowContext(ctx, `SELECT contiguous, max_seen FROM observation_seqs WHERE agent = ?`, agent).Scan(&cont, &max)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read seq state of %s: %w", agent, err)
	}
	st.Contiguous = max64(uint64(cont), floor)
	for {
		// Walk the stored seqs above the mark in order, in pages, stopping at the first hole.
		// A hole right at the mark (the common case while a gap is open) costs one index probe.
		var next int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM observations WHERE agent = ?1 AND seq = ?2) + (SELECT count(*) FROM observation_refusals WHERE agent = ?1 AND seq = ?2)`, agent, int64(st.Contiguous+1)).Scan(&next)
		if err != nil {
			return st, fmt.Errorf("walk seqs of %s: %w", agent, err)
		}
		if next == 0 {
			break
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM observations WHERE agent = ?1 AND seq > ?2
			UNION ALL SELECT seq FROM observation_refusals WHERE agent = ?1 AND seq > ?2 ORDER BY seq LIMIT 4096`, agent, int64(st.Contiguous))
		if err != nil {
			return st, fmt.Errorf("walk seqs of %s: %w", agent, err)
		}
		n, hole := 0, false
		for rows.Next() && !hole {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return st, err
			}
			n++
			if uint64(seq) == st.Contiguous+1 {
				st.Contiguous++
			} else {
				hole = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, err
		}
		if hole || n < 4096 {
			break
		}
	}
	var top sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM (SELECT max(seq) AS seq FROM observations WHERE agent = ?1 UNION ALL SELECT max(seq) FROM observation_refusals WHERE agent = ?1) AS tops`, agent).Scan(&top); err != nil {
		return st, fmt.Errorf("max seq of %s: %w", agent, err)
	}
	st.MaxSeen = max64(max64(uint64(top.Int64), st.Contiguous), uint64(max))
	if st.Gap() {
		var next sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(seq) FROM (SELECT min(seq) AS seq FROM observations WHERE agent = ?1 AND seq > ?2 UNION ALL SELECT min(seq) FROM observation_refusals WHERE agent = ?1 AND seq > ?2) AS nexts`, agent, int64(st.Contiguous)).Scan(&next); err != nil {
			return st, fmt.Errorf("next seq of %s: %w", agent, err)
		}
		if next.Valid {
			st.HoleEnd = uint64(next.Int64) - 1
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO observation_seqs(agent, contiguous, max_seen, updated_at) VALUES (?,?,?,?)
		ON CONFLICT(agent) DO UPDATE SET contiguous = excluded.contiguous, max_seen = excluded.max_seen, updated_at = excluded.updated_at`,
		agent, int64(st.Contiguous), int64(st.MaxSeen), now)
	if err != nil {
		return st, fmt.Errorf("save seq state of %s: %w", agent, err)
	}
	return st, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// SkipObservations records that the agent no longer holds any seq below oldest (its answer to a
// resync), so a gap below it is closed for good instead of being asked for again.
func (s *Store) SkipObservations(ctx context.Context, agent string, oldest uint64) (SeqState, error) {
	var st SeqState
	err := s.Write(ctx, func(tx *sql.Tx) error {
		var err error
		floor := uint64(0)
		if oldest > 0 {
			floor = oldest - 1
		}
		st, err = advance(ctx, tx, agent, floor, Now())
		return err
	})
	if err != nil {
		return st, fmt.Errorf("skip observations of %s below %d: %w", agent, oldest, err)
	}
	return st, nil
}

// ObservationSeqs returns the stored SeqState of every agent that has sent anything.
func (s *Store) ObservationSeqs(ctx context.Context) ([]SeqState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT agent, contiguous, max_seen FROM observation_seqs ORDER BY agent`)
	if err != nil {
		return nil, fmt.Errorf("read seq states: %w", Classify(err))
	}
	defer rows.Close()
	var out []SeqState
	for rows.Next() {
		var st SeqState
		var c, m int64
		if err := rows.Scan(&st.Agent, &c, &m); err != nil {
			return nil, err
		}
		st.Contiguous, st.MaxSeen = uint64(c), uint64(m)
		out = append(out, st)
	}
	return out, rows.Err()
}

// ObservationCount returns how many observations of agent are stored ("" for all agents).
func (s *Store) ObservationCount(ctx context.Context, agent string) (int64, error) {
	var n int64
	var err error
	if agent == "" {
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM observations`).Scan(&n)
	} else {
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM observations WHERE agent = ?`, agent).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count observations: %w", Classify(err))
	}
	return n, nil
}

// Hole is a run of missing seqs, From to To inclusive.
type Hole struct{ From, To uint64 }

// ObservationHoles lists up to limit holes in agent's stored seqs above after (its contiguous
// mark), looking at most span seqs ahead so the cost stays bounded however far the agent got.
func (s *Store) ObservationHoles(ctx context.Context, agent string, after uint64, limit int, span uint64) ([]Hole, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, next FROM (
			SELECT seq, lead(seq) OVER (ORDER BY seq) AS next FROM (
				SELECT seq FROM observations WHERE agent = ?1 AND seq >= ?2 AND seq <= ?3
				UNION ALL SELECT seq FROM observation_refusals WHERE agent = ?1 AND seq >= ?2 AND seq <= ?3) AS used) AS runs
		WHERE next > seq + 1 LIMIT ?4`, agent, int64(after), int64(after+span), limit)
	if err != nil {
		return nil, fmt.Errorf("holes of %s: %w", agent, Classify(err))
	}
	defer rows.Close()
	var out []Hole
	if after == 0 {
		// Nothing stored at or below the mark: the first hole starts at 1 and ends before the
		// lowest stored seq; the window above only sees holes between stored seqs.
		var lo sql.NullInt64
		if err := s.r.QueryRowContext(ctx, `SELECT min(seq) FROM (SELECT min(seq) AS seq FROM observations WHERE agent = ?1 UNION ALL SELECT min(seq) FROM observation_refusals WHERE agent = ?1) AS lows`, agent).Scan(&lo); err != nil {
			return nil, fmt.Errorf("holes of %s: %w", agent, Classify(err))
		}
		if lo.Valid && lo.Int64 > 1 {
			out = append(out, Hole{1, uint64(lo.Int64) - 1})
		}
	}
	for rows.Next() {
		var seq, next int64
		if err := rows.Scan(&seq, &next); err != nil {
			return nil, err
		}
		out = append(out, Hole{uint64(seq) + 1, uint64(next) - 1})
	}
	return out, rows.Err()
}

// RecentObservations calls fn with each observation of kind that custodyd received at or after
// since (to the second): each agent's in seq order — the order the agent made them in — or, with
// newestFirst, the reverse. It holds one at a time, however many there are.
func (s *Store) RecentObservations(ctx context.Context, since time.Time, kind string, newestFirst bool, fn func(Observation) error) error {
	return s.RecentObservationsUpTo(ctx, since, 0, kind, newestFirst, fn)
}

// RecentObservationsUpTo is RecentObservations of the observations at or before position upTo
// (0: all), so that a new leader rebuilds its memory up to the mark it then resumes reading from.
func (s *Store) RecentObservationsUpTo(ctx context.Context, since time.Time, upTo int64, kind string, newestFirst bool, fn func(Observation) error) error {
	order := "agent, seq"
	if newestFirst {
		order = "agent DESC, seq DESC"
	}
	// Times are stored as RFC 3339 text, and within one second "…:05Z" sorts after "…:05.2Z"
	// ('Z' > '.'), so the bound is the second without its zone: every time in that second or
	// later sorts at or above it, every earlier one below.
	rows, err := s.r.QueryContext(ctx, `SELECT agent, seq, id, boot, v, at, kind, body, mac, pos FROM observations
		WHERE received_at >= ? AND kind = ? AND (? = 0 OR pos <= ?) ORDER BY `+order, since.UTC().Format("2006-01-02T15:04:05"), kind, upTo, upTo)
	if err != nil {
		return fmt.Errorf("recent %s observations: %w", kind, Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanObservation(rows)
		if err != nil {
			return fmt.Errorf("recent %s observations: %w", kind, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanObservation(rows *sql.Rows) (Observation, error) {
	var o Observation
	var seq int64
	var body string
	if err := rows.Scan(&o.Agent, &seq, &o.ID, &o.Boot, &o.V, &o.At, &o.Kind, &body, &o.MAC, &o.Pos); err != nil {
		return o, err
	}
	o.Seq, o.Body = uint64(seq), []byte(body)
	return o, nil
}

// ObservationsAfter returns up to limit observations stored after position after, in commit
// order, whichever custodyd instance stored them: the leader's feed (the daemon's cursor).
func (s *Store) ObservationsAfter(ctx context.Context, after int64, limit int) ([]Observation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT agent, seq, id, boot, v, at, kind, body, mac, pos FROM observations
		WHERE pos > ? ORDER BY pos LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("observations after %d: %w", after, Classify(err))
	}
	defer rows.Close()
	var out []Observation
	for rows.Next() {
		o, err := scanObservation(rows)
		if err != nil {
			return nil, fmt.Errorf("observations after %d: %w", after, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ObservationMark is the position of the last stored observation (0 with none).
func (s *Store) ObservationMark(ctx context.Context) (int64, error) {
	var pos int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(pos), 0) FROM observations`).Scan(&pos); err != nil {
		return 0, fmt.Errorf("last observation position: %w", Classify(err))
	}
	return pos, nil
}
