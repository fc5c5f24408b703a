package store

import (
	"context"
	"database/sql"
	"fmt"
)

// AgentKey returns an enrolled agent's key and whether it has been revoked. An unknown agent is
// an error wrapping ErrNotFound.
func (s *Store) AgentKey(ctx context.Context, id string) (key []byte, revoked bool, err error) {
	var revokedAt sql.NullString
	err = s.r.QueryRowContext(ctx, `SELECT key, revoked_at FROM agents WHERE id = ?`, id).Scan(&key, &revokedAt)
	if err == sql.ErrNoRows {
		return nil, false, fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, false, fmt.Errorf("agent %q: %w", id, Classify(err))
	}
	// An empty key is an agent restored from a backup (ScrubAgentKeys): it must enrol again.
	return key, revokedAt.Valid || len(key) == 0, nil
}

// AgentMACAlg is the MAC algorithm agent id was enrolled with (wire.MACSHA256 or wire.MACSM3).
// An unknown agent is an error wrapping ErrNotFound.
func (s *Store) AgentMACAlg(ctx context.Context, id string) (string, error) {
	var alg string
	err := s.r.QueryRowContext(ctx, `SELECT mac_alg FROM agents WHERE id = ?`, id).Scan(&alg)
	if err == sql.ErrNoRows {
		return "", fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("agent %q: %w", id, Classify(err))
	}
	return alg, nil
}
