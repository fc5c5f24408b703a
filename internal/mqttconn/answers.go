package mqttconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

// Sentinels of Ask, for callers that tell the person what to do.
var (
	// ErrAgentOffline: the agent's last availability message said offline (its Last Will).
	ErrAgentOffline = errors.New("agent is offline")
	// ErrNoAnswer: the agent did not answer within the wait.
	ErrNoAnswer = errors.New("agent did not answer in time")
)

// keepAnswers bounds how many recent answers are remembered for a caller that starts waiting
// after the answer arrived (a fast agent can answer before Send has returned).
const keepAnswers = 1024

// answers holds the agents' recent cmd_results and their last availability, so a caller can send
// a command and wait for its answer. The answers reach it after their commit, like every other
// observation: a waiting caller never sees an answer that a crash could lose.
type answers struct {
	mu      sync.Mutex
	got     map[string]wire.CmdResult // by command id
	ring    []string
	next    int
	waiters map[string][]chan wire.CmdResult
	state   map[string]string // agent → "online" or "offline"

	// sentTo remembers which agent each recent command went to, so an answer to it from another
	// agent is refused (not_bound) rather than taken for the real one.
	sentTo   map[string]string
	sentRing []string
	sentNext int
}

func newAnswers() *answers {
	return &answers{got: map[string]wire.CmdResult{}, ring: make([]string, keepAnswers),
		waiters: map[string][]chan wire.CmdResult{}, state: map[string]string{},
		sentTo: map[string]string{}, sentRing: make([]string, 4*keepAnswers)}
}

// sent records that command id went to agent.
func (a *answers) sent(id, agent string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.sentRing[a.sentNext]; old != "" {
		delete(a.sentTo, old)
	}
	a.sentRing[a.sentNext] = id
	a.sentNext = (a.sentNext + 1) % len(a.sentRing)
	a.sentTo[id] = agent
}

// recipient is the agent command id was sent to, "" if it is not a recent command of ours.
func (a *answers) recipient(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sentTo[id]
}

func (a *answers) put(r wire.CmdResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.got[r.Cmd]; !dup {
		if old := a.ring[a.next]; old != "" {
			delete(a.got, old)
		}
		a.ring[a.next] = r.Cmd
		a.next = (a.next + 1) % len(a.ring)
	}
	a.got[r.Cmd] = r
	for _, w := range a.waiters[r.Cmd] {
		w <- r // buffered, one answer per waiter
	}
	delete(a.waiters, r.Cmd)
}

func (a *answers) wait(ctx context.Context, id string) (wire.CmdResult, error) {
	a.mu.Lock()
	if r, ok := a.got[id]; ok {
		a.mu.Unlock()
		return r, nil
	}
	w := make(chan wire.CmdResult, 1)
	a.waiters[id] = append(a.waiters[id], w)
	a.mu.Unlock()
	select {
	case r := <-w:
		return r, nil
	case <-ctx.Done():
		a.mu.Lock()
		ws := a.waiters[id]
		for i, x := range ws {
			if x == w {
				a.waiters[id] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(a.waiters[id]) == 0 {
			delete(a.waiters, id)
		}
		a.mu.Unlock()
		return wire.CmdResult{}, ctx.Err()
	}
}

func (a *answers) setState(agent, state string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.state[agent] = state
}

func (a *answers) offline(agent string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state[agent] == "offline"
}

// Ask sends a command to agent and waits up to wait for its cmd_result. An agent whose last
// availability said offline is not asked (ErrAgentOffline at once); one that does not answer in
// time gives ErrNoAnswer. The command is not withdrawn on a timeout: an agent that comes back
// later may still execute it, which is why commands with effects in the room (encode_tag,
// unlock) are refused by the agent once they are old.
func (c *Conn) Ask(ctx context.Context, agent, kind string, body any, wait time.Duration) (wire.CmdResult, error) {
	if c.answers.offline(agent) {
		return wire.CmdResult{}, fmt.Errorf("command %s for %s: %w", kind, agent, ErrAgentOffline)
	}
	id, err := c.Send(ctx, agent, kind, body)
	if err != nil {
		return wire.CmdResult{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	r, err := c.answers.wait(wctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return wire.CmdResult{}, fmt.Errorf("command %s for %s: %w", kind, agent, ctx.Err())
		}
		return wire.CmdResult{}, fmt.Errorf("command %s (%s) for %s: no answer within %s: %w", kind, id, agent, wait, ErrNoAnswer)
	}
	return r, nil
}

// Recipient is the agent that recent command id was sent to, "" if it is not a recent command of
// ours: an answer to it from another agent is refused (not_bound) rather than taken for the real one.
func (c *Conn) Recipient(id string) string { return c.answers.recipient(id) }

// Answered hands Ask an agent's cmd_result. The consumer calls it after the answer's commit, so a
// waiting caller never sees an answer that a crash could lose.
func (c *Conn) Answered(r wire.CmdResult) { c.answers.put(r) }

// Availability records an agent's last word, "online" or "offline" (its Last Will): Ask refuses
// at once an agent that is offline.
func (c *Conn) Availability(agent, state string) { c.answers.setState(agent, state) }
