package broker_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/wire"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A 1 MB publish is above the broker's packet limit: mochi throws the agent out before reading
// the payload, so ingest never sees it. The broker says so in one line naming the agent and
// hands the agent id to Oversized (custodyd counts it as dropped, reason oversized); nothing is
// delivered, and a publish under the limit from the same agent afterwards still goes through.
func TestOversizedPublishIsCountedAndNamesTheAgent(t *testing.T) {
	st := openStore(t)
	keys := enroll(t, st, "agent-a")
	var mu sync.Mutex
	var told []string
	logs := &lockedBuf{}
	b, err := broker.Start(context.Background(), broker.Config{Listen: "127.0.0.1:0", Oversized: func(agent string) {
		mu.Lock()
		told = append(told, agent)
		mu.Unlock()
	}}, st, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	w := watch(t, b)
	tp := wire.Topics{}

	a, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	a.c.Publish(tp.Obs("agent-a"), 1, false, bytes.Repeat([]byte("x"), 1<<20))
	select {
	case <-a.lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the agent that published 1 MB is still connected 5 s later")
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(told) == 1 }, "Oversized to be told once")
	mu.Lock()
	if told[0] != "agent-a" {
		t.Errorf("Oversized told %q, want agent-a", told[0])
	}
	mu.Unlock()
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "larger than the broker's packet limit") {
			line = l
		}
	}
	if !strings.Contains(line, "agent=agent-a") || !strings.Contains(line, "reason=oversized") || !strings.Contains(line, "level=WARN") {
		t.Errorf("log line: got %q, want a warning naming agent-a with reason oversized", line)
	}
	if got := w.topics(); len(got) != 0 {
		t.Errorf("delivered %d messages, want none", len(got))
	}

	// Just under the limit passes the broker (ingest judges it against wire.MaxPayload).
	a2, err := dial(t, b.URL(), "agent-a", "agent-a", pass(keys["agent-a"]), nil)
	if err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	tok := a2.c.Publish(tp.Obs("agent-a"), 1, false, bytes.Repeat([]byte("y"), wire.MaxPayload))
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish of wire.MaxPayload bytes: %v", tok.Error())
	}
	waitFor(t, func() bool { return len(w.topics()) == 1 }, "the message under the limit to be delivered")
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 1 {
		t.Errorf("Oversized told %d times, want 1", len(told))
	}
}
