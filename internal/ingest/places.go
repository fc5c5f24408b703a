package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

// Places tells which agent a cabinet or desk is bound to in the register; *register.Register
// satisfies it. kind is "cabinet" or "desk"; found is false for a place that is not registered.
type Places interface {
	PlaceAgent(ctx context.Context, kind, code string) (agent string, found bool, err error)
	// ServedAt says whether agent served the place at the instant at under a binding that has
	// ended since (the place was rebound to another agent).
	ServedAt(ctx context.Context, kind, code, agent string, at time.Time) (bool, error)
}

// Refusal is an observation refused because its agent spoke for a place not bound to it
// (DESIGN.md §5 rule 12). Nothing of it was stored.
type Refusal struct {
	Agent     string
	Kind      string // observation kind
	PlaceKind string // "cabinet" or "desk"
	Place     string
	Owner     string // the agent the register binds the place to; "" for none or not registered
	Seq       uint64
	ID        string
	At        time.Time
}

// RefusalHandler is what a Handler also implements to hear of not_bound refusals: they are an
// attack, raised to the security administrator. It runs on ingest's verifier goroutine and must
// return quickly.
type RefusalHandler interface {
	HandleRefusal(r Refusal)
}

// subject is one place an observation speaks for.
type subject struct{ kind, code string }

// subjects lists the places an observation body speaks for. A fault names a device: a cabinet or
// desk code when the device is one (tamper, lock, power), else one of the agent's own readers or
// buses, which the register does not know; such a device is checked only if a place of that code
// is registered (optional).
func subjects(b wire.Body) (must []subject, optional []subject) {
	switch b := b.(type) {
	case *wire.Inventory:
		return []subject{{"cabinet", b.Cabinet}}, nil
	case *wire.Door:
		return []subject{{"cabinet", b.Cabinet}}, nil
	case *wire.Presence:
		return []subject{{"cabinet", b.Cabinet}}, nil
	case *wire.Scan:
		return []subject{{"desk", b.Desk}}, nil
	case *wire.Fault:
		return nil, []subject{{"cabinet", b.Device}, {"desk", b.Device}}
	}
	return nil, nil
}

// placeCache keeps bindings so a check costs no database read; Invalidate (after a rebinding)
// empties it, and entries older than ttl are asked again.
type placeCache struct {
	lookup Places
	ttl    time.Duration

	mu sync.Mutex
	m  map[subject]placeEntry
}

type placeEntry struct {
	agent string
	found bool
	at    time.Time
}

func (c *placeCache) get(ctx context.Context, s subject) (string, bool, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[s]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.agent, e.found, nil
	}
	agent, found, err := c.lookup.PlaceAgent(ctx, s.kind, s.code)
	if err != nil {
		return "", false, err
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // bound memory under a flood of made-up codes
		clear(c.m)
	}
	c.m[s] = placeEntry{agent: agent, found: found, at: now}
	c.mu.Unlock()
	return agent, found, nil
}

func (c *placeCache) invalidate() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// bound checks that every place env speaks for is bound to env.Agent. It returns the first place
// that is not, with its owner. A register that cannot be read is waited for (not the message's
// fault); ok is false with a zero subject when ctx ended first.
func (in *Ingest) bound(ctx context.Context, env *wire.Envelope, b wire.Body) (bad subject, owner string, ok bool) {
	if in.places == nil {
		return subject{}, "", true
	}
	must, optional := subjects(b)
	check := func(s subject, required bool) (string, bool, bool) {
		for {
			agent, found, err := in.places.get(ctx, s)
			if err == nil {
				if !found {
					return "", !required, true
				}
				return agent, agent == env.Agent, true
			}
			in.log.Error("ingest: place binding lookup failed; retrying", "place", s.kind+":"+s.code, "err", err)
			select {
			case <-ctx.Done():
				return "", false, false
			case <-time.After(time.Second):
			}
		}
	}
	for _, s := range must {
		owner, good, alive := check(s, true)
		if !alive {
			return subject{}, "", false
		}
		if !good {
			return s, owner, false
		}
	}
	for _, s := range optional {
		owner, good, alive := check(s, false)
		if !alive {
			return subject{}, "", false
		}
		if !good {
			return s, owner, false
		}
	}
	return subject{}, "", true
}

// servedThen reports whether the envelope was made (its time, env.At) while its agent still
// served the place — before a rebinding the register recorded. Such an envelope is a late resend
// from the agent's outbox (it was offline, or the resync after the rebinding asked for it), not
// a forgery. The time is the agent's own claim: the agent that served the place could backdate
// a forgery to pass for one, but what it gains is only that no alert is raised — the envelope
// is refused all the same, counted and logged. A lookup that fails counts as not served (the
// alert is raised: the safe side).
func (in *Ingest) servedThen(ctx context.Context, env *wire.Envelope, s subject) bool {
	if in.cfg.Places == nil {
		return false
	}
	at, err := time.Parse(time.RFC3339Nano, env.At)
	if err != nil {
		return false
	}
	ok, err := in.cfg.Places.ServedAt(ctx, s.kind, s.code, env.Agent, at)
	if err != nil {
		in.log.Error("ingest: past bindings lookup failed; treating the observation as a forgery", "place", s.kind+":"+s.code, "agent", env.Agent, "err", err)
		return false
	}
	return ok
}

// InvalidatePlaces forgets every cached binding, so a rebinding takes effect on the next envelope.
func (in *Ingest) InvalidatePlaces() {
	if in.places != nil {
		in.places.invalidate()
	}
}
