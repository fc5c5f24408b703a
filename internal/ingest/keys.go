package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
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
	mac    string // the MAC algorithm the agent was enrolled with (wire.MACSHA256 or MACSM3)
	reason string // "", "unknown_agent" or "revoked"
	at     time.Time
}

func newKeyCache(lookup Keys, ttl time.Duration) *keyCache {
	return &keyCache{lookup: lookup, ttl: ttl, negTTL: min(ttl, 5*time.Second), m: map[string]keyEntry{}}
}

// MACAlgs is what ingest asks for an agent's enrolled MAC algorithm (the store answers); a Keys
// without it means every agent is HMAC-SHA256.
type MACAlgs interface {
	AgentMACAlg(ctx context.Context, id string) (string, error)
}

// get returns the key, or a drop reason, or an error when the register could not be read.
func (c *keyCache) get(ctx context.Context, agent string) ([]byte, string, error) {
	key, _, reason, err := c.getMAC(ctx, agent)
	return key, reason, err
}

// getMAC is get with the agent's enrolled MAC algorithm.
func (c *keyCache) getMAC(ctx context.Context, agent string) ([]byte, string, string, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[agent]
	c.mu.Unlock()
	ttl := c.ttl
	if e.reason == "unknown_agent" {
		ttl = c.negTTL
	}
	if ok && now.Sub(e.at) < ttl {
		return e.key, e.mac, e.reason, nil
	}
	key, revoked, err := c.lookup.AgentKey(ctx, agent)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = keyEntry{reason: "unknown_agent", at: now}
	case err != nil:
		return nil, "", "", err
	case revoked:
		e = keyEntry{reason: "revoked", at: now}
	default:
		e = keyEntry{key: key, mac: wire.MACSHA256, at: now}
		if m, ok := c.lookup.(MACAlgs); ok {
			if e.mac, err = m.AgentMACAlg(ctx, agent); err != nil {
				return nil, "", "", err
			}
		}
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // bound memory under a flood of made-up agent ids
		clear(c.m)
	}
	c.m[agent] = e
	c.mu.Unlock()
	return e.key, e.mac, e.reason, nil
}

func (c *keyCache) invalidate(agent string) {
	c.mu.Lock()
	delete(c.m, agent)
	c.mu.Unlock()
}
