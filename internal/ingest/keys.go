package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// keyCache keeps agents' keys so verifying an envelope costs no database read. Unknown agents are
// remembered briefly too, so a flood from an unenrolled id does not become a flood of queries.
type keyCache struct {
	lookup Keys
	ttl    time.Duration
	negTTL time.Duration

	mu sync.Mutex
	m  map[string]keyEntry
}

type keyEntry struct {
	key    []byte
	reason string // "", "unknown_agent" or "revoked"
	at     time.Time
}

func newKeyCache(lookup Keys, ttl time.Duration) *keyCache {
	return &keyCache{lookup: lookup, ttl: ttl, negTTL: min(ttl, 5*time.Second), m: map[string]keyEntry{}}
}

// get returns the key, or a drop reason, or an error when the register could not be read.
func (c *keyCache) get(ctx context.Context, agent string) ([]byte, string, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[agent]
	c.mu.Unlock()
	ttl := c.ttl
	if e.reason == "unknown_agent" {
		ttl = c.negTTL
	}
	if ok && now.Sub(e.at) < ttl {
		return e.key, e.reason, nil
	}
	key, revoked, err := c.lookup.AgentKey(ctx, agent)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = keyEntry{reason: "unknown_agent", at: now}
	case err != nil:
		return nil, "", err
	case revoked:
		e = keyEntry{reason: "revoked", at: now}
	default:
		e = keyEntry{key: key, at: now}
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // bound memory under a flood of made-up agent ids
		clear(c.m)
	}
	c.m[agent] = e
	c.mu.Unlock()
	return e.key, e.reason, nil
}

func (c *keyCache) invalidate(agent string) {
	c.mu.Lock()
	delete(c.m, agent)
	c.mu.Unlock()
}
