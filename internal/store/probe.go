package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// probeEvery bounds how often Probe really writes; between writes it returns the last result.
const probeEvery = 5 * time.Second

type probe struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// Probe proves the store can write: one small committed write (health_probe), at most every
// probeEvery; a failure (ErrFull for a full disk) is returned until a later write succeeds.
func (s *Store) Probe(ctx context.Context) error {
	s.probe.mu.Lock()
	defer s.probe.mu.Unlock()
	if !s.probe.at.IsZero() && time.Since(s.probe.at) < probeEvery {
		return s.probe.err
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO health_probe(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at`, Now())
		return err
	})
	if err != nil {
		err = fmt.Errorf("the store cannot write: %w", Classify(err))
	}
	s.probe.at, s.probe.err = time.Now(), err
	return err
}
