package ingest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/wire"
)

// Ask returns the agent's cmd_result once it is stored, says "no answer" after the wait when the
// agent keeps silent, and refuses at once an agent whose last availability was offline.
func TestAskWaitsForTheAnswer(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, nil)
	a := newAgent(t, e, "agent-1", key)
	go func() {
		select {
		case env := <-a.other:
			ok := true
			a.publish(wire.KindCmdResult, wire.CmdResult{Cmd: env.ID, Kind: env.Kind, OK: &ok,
				Tag: &wire.TagResult{Outcome: wire.TagWritten, EPC: "2C2025E1D8AE380000000030", Seen: 1}}, true)
		case <-time.After(10 * time.Second):
		}
	}()
	body := wire.EncodeTag{Desk: "D-1", Item: "item:48", EPC: "2C2025E1D8AE380000000030", CompanyPrefix: "0614141"}
	res, err := r.conn.Ask(context.Background(), "agent-1", wire.KindEncodeTag, body, 10*time.Second)
	if err != nil {
		t.Fatalf("ask: %v", err)
	}
	if !*res.OK || res.Tag == nil || res.Tag.Outcome != wire.TagWritten {
		t.Fatalf("answer: got %+v, want ok with tag written", res)
	}

	// Nobody answers this one.
	start := time.Now()
	_, err = r.conn.Ask(context.Background(), "agent-1", wire.KindEncodeTag, body, 300*time.Millisecond)
	if !errors.Is(err, mqttconn.ErrNoAnswer) || time.Since(start) > 5*time.Second {
		t.Fatalf("silent agent: got %v after %s, want ErrNoAnswer after about 300ms", err, time.Since(start))
	}

	// The agent says goodbye as custody-agent does: offline, retained.
	a.c.Publish(a.topics.Availability("agent-1"), 1, true, wire.Offline).WaitTimeout(5 * time.Second)
	waitFor(t, 10*time.Second, func() bool {
		_, err := r.conn.Ask(context.Background(), "agent-1", wire.KindEncodeTag, body, 50*time.Millisecond)
		return errors.Is(err, mqttconn.ErrAgentOffline)
	}, "Ask to refuse an offline agent")
}
