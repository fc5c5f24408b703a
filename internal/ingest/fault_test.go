package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
	"github.com/custodyhq/custody/internal/wire"
)

// exactlyOnce checks that seqs 1..n of agent's door observations are each stored once and that the
// register side was handed each once (when h is not nil).
func exactlyOnce(t *testing.T, st *store.Store, agent string, n int64, h *countingHandler) {
	t.Helper()
	var count, distinct, lo, hi int64
	err := st.DB().QueryRow(`SELECT count(*), count(DISTINCT seq), coalesce(min(seq),0), coalesce(max(seq),0) FROM observations WHERE agent = ? AND kind = 'door'`, agent).
		Scan(&count, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if count != n || distinct != n {
		t.Errorf("door rows: got %d (%d distinct), want %d", count, distinct, n)
	}
	if h != nil {
		if got := int64(h.kind(wire.KindDoor)); got != n {
			t.Errorf("handed to the register side: got %d, want %d", got, n)
		}
		if tw := h.twice(); len(tw) > 0 {
			t.Errorf("handed over more than once: %d envelopes, e.g. %v", len(tw), tw[:min(5, len(tw))])
		}
	}
}

// TestBrokerRestartWith10000InFlight: an agent bursts 10 000 envelopes, and the embedded broker is
// closed and started again while most of them are still queued for custodyd. The broker loses
// every session and queued message; custodyd asks the agent to resync from its outbox when it
// comes back online, and every envelope ends up applied exactly once.
func TestBrokerRestartWith10000InFlight(t *testing.T) {
	const n = 10000
	st := openStore(t, "")
	e := embedded(t, st)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, nil)
	a := newAgent(t, e, "agent-1", key)

	for i := 0; i < n; i++ {
		a.publish(wire.KindDoor, door(i), true)
	}
	waitFor(t, 30*time.Second, func() bool { return doors(t, st, "agent-1") >= 500 }, "the first envelopes to be stored")
	atRestart := doors(t, st, "agent-1")
	e.restart(t)
	t.Logf("broker restarted with %d of %d stored", atRestart, n)
	if atRestart >= n {
		t.Fatalf("all %d stored before the restart: nothing was in flight", n)
	}
	t.Cleanup(func() {
		if t.Failed() {
			states, _ := st.ObservationSeqs(context.Background())
			t.Logf("store errors %v; stored %d, states %+v, resyncs %v, %s; ingest log tail:\n%s", metricValue(r.reg, "custody_ingest_store_errors_total", ""), doors(t, st, "agent-1"), states,
				metricValue(r.reg, "custody_ingest_resync_requests_total", ""), a.state(), tail(r.logs.String(), 3000))
		}
	})
	waitFor(t, 60*time.Second, func() bool { return doors(t, st, "agent-1") >= n }, fmt.Sprintf("%d envelopes", n))
	time.Sleep(500 * time.Millisecond) // late redeliveries must stay no-ops
	exactlyOnce(t, st, "agent-1", n, r.handler)
	t.Logf("resync requests %v, duplicates dropped %v", metricValue(r.reg, "custody_ingest_resync_requests_total", ""), dropped(r, "duplicate"))
}

// TestBrokerQueueFullLosesNothing: custodyd's register side stalls after the first envelope, so
// nothing more is committed or acknowledged, and the broker holds at most 300 messages for
// custodyd. The agent publishes 600 more: the broker acknowledges each to the agent and drops what
// does not fit — the tail of the burst, which no later seq will ever reveal as a gap. custodyd
// hears of the drops from its broker and, once its queue has drained, asks the agent to resend
// what follows its mark: every envelope ends up applied exactly once.
func TestBrokerQueueFullLosesNothing(t *testing.T) {
	const n = 601
	st := openStore(t, "")
	e := embeddedQueue(t, st, 300)
	key := enroll(t, st, "agent-1")
	r := startIngest(t, e, st, nil)
	a := newAgent(t, e, "agent-1", key)
	release := r.handler.stall()
	defer release()

	a.publish(wire.KindDoor, door(0), true)
	waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-1") == 1 }, "the first envelope to be stored")
	for i := 1; i < n; i++ {
		a.publish(wire.KindDoor, door(i), true)
	}
	waitFor(t, 10*time.Second, func() bool { return e.ingests.n.Load() > 0 }, "the broker to drop what does not fit its queue")
	t.Logf("the broker dropped %d of %d", e.ingests.n.Load(), n-1)
	release()
	t.Cleanup(func() {
		if t.Failed() {
			states, _ := st.ObservationSeqs(context.Background())
			t.Logf("stored %d, states %+v, resyncs %v, %s; ingest log tail:\n%s", doors(t, st, "agent-1"), states,
				metricValue(r.reg, "custody_ingest_resync_requests_total", ""), a.state(), tail(r.logs.String(), 3000))
		}
	})
	waitFor(t, 30*time.Second, func() bool { return doors(t, st, "agent-1") >= n }, fmt.Sprintf("%d envelopes", n))
	time.Sleep(500 * time.Millisecond) // late redeliveries must stay no-ops
	exactlyOnce(t, st, "agent-1", n, r.handler)
	if a.resyncCount() == 0 {
		t.Errorf("the agent was never asked to resend")
	}
}

// The child side of TestIngestKilledAndRestarted: a "custodyd" that only runs ingest, until it is
// killed. It is the test binary itself, started again with CUSTODY_INGEST_CHILD set.
func TestIngestChildProcess(t *testing.T) {
	if os.Getenv("CUSTODY_INGEST_CHILD") == "" {
		return // only meaningful as the child of TestIngestKilledAndRestarted
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := store.Open(ctx, os.Getenv("CUSTODY_DB"), nil)
	if err != nil {
		fmt.Println("child: open store:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := mqttconn.New(mqttconn.Config{
		BrokerURL: os.Getenv("CUSTODY_BROKER"), Username: os.Getenv("CUSTODY_USER"), Password: os.Getenv("CUSTODY_PASS"),
		Base: os.Getenv("CUSTODY_BASE"), ClientID: os.Getenv("CUSTODY_CLIENT_ID"),
	}, st, nil, log)
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	in, err := ingest.New(ingest.Config{Base: os.Getenv("CUSTODY_BASE"), ResyncGrace: 300 * time.Millisecond}, conn, st, st, nil, nil, log)
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	fmt.Println("child: running")
	runIngest(ctx, conn, in)
	st.Close()
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error
}

func startChild(t *testing.T, dbPath string, e *env, clientID string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CUSTODY_INGEST_CHILD=1", "CUSTODY_DB="+dbPath, "CUSTODY_BROKER="+e.url,
		"CUSTODY_USER="+e.user, "CUSTODY_PASS="+e.pass, "CUSTODY_BASE="+e.base, "CUSTODY_CLIENT_ID="+clientID)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "child: running") {
				close(ready)
				signalled = true
			}
		}
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	select {
	case <-ready:
	case <-c.done:
		t.Fatalf("child exited before running: %v", c.err)
	case <-time.After(20 * time.Second):
		t.Fatalf("child did not start")
	}
	return c
}

// TestIngestKilledAndRestarted kills custodyd's ingest with SIGKILL while an agent streams, starts
// it again on the same SQLite file with the same client id, and checks every envelope is stored
// exactly once: what was committed but not acknowledged comes again and is a no-op; what was
// delivered but not committed comes again and is stored.
func TestIngestKilledAndRestarted(t *testing.T) {
	for _, name := range []string{"embedded", "mosquitto"} {
		t.Run("kill9-"+name, func(t *testing.T) {
			const n = 6000
			dbPath := storetest.Target(t)
			st := openStore(t, dbPath)
			e := brokerNamed(t, name, st)
			key := enroll(t, st, "agent-1")
			clientID := "custodyd-kill-" + randHex(4)
			if !e.auth {
				t.Cleanup(func() { forgetSession(e, clientID) })
			}
			first := startChild(t, dbPath, e, clientID)
			a := newAgent(t, e, "agent-1", key)

			published := make(chan struct{})
			go func() {
				defer close(published)
				for i := 0; i < n; i++ {
					a.publish(wire.KindDoor, door(i), true)
					if i%200 == 199 {
						time.Sleep(20 * time.Millisecond) // a steady stream, ~10 000/s
					}
				}
			}()
			waitFor(t, 30*time.Second, func() bool { return doors(t, st, "agent-1") >= n/4 }, "a quarter to be stored")
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v", err)
			}
			<-first.done
			atKill := doors(t, st, "agent-1")
			t.Logf("killed with %d of %d stored", atKill, n)
			time.Sleep(300 * time.Millisecond) // the stream goes on while custodyd is down
			startChild(t, dbPath, e, clientID)
			<-published
			waitFor(t, 60*time.Second, func() bool { return doors(t, st, "agent-1") >= n }, fmt.Sprintf("%d envelopes", n))
			time.Sleep(500 * time.Millisecond)
			exactlyOnce(t, st, "agent-1", n, nil)
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSharedSubscriptionOutlivesADeadInstance: two custodyd instances split the stream on one
// $share subscription, and one goes away. A broker goes on handing a persistent session its share
// of a shared subscription while it is disconnected (Mosquitto and mochi both do), so with
// persistent sessions every second envelope would wait for the dead instance to come back. The
// sessions of a share are clean: the survivor gets every envelope at once — the resync grace is
// set far beyond the wait here, so nothing may arrive by being asked for again.
func TestSharedSubscriptionOutlivesADeadInstance(t *testing.T) {
	const n = 200
	onEitherBroker(t, func(t *testing.T, st *store.Store, e *env, key []byte, share func(*ingest.Config, *mqttconn.Config)) {
		survivor := startIngest(t, e, st, share)
		dead := startIngest(t, e, st, share)
		a := newAgent(t, e, "agent-1", key)

		// Both take part: the first envelopes are split between them.
		for i := 0; i < 20; i++ {
			a.publish(wire.KindDoor, door(i), true)
		}
		waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-1") == 20 }, "the first 20 envelopes")
		if survivor.handler.n.Load() == 0 || dead.handler.n.Load() == 0 {
			t.Fatalf("the stream was not split: %d and %d envelopes", survivor.handler.n.Load(), dead.handler.n.Load())
		}
		dead.cancel()
		dead.done <- <-dead.done // stopped; the cleanup reads it again
		// The broker forgets a clean session a moment after the DISCONNECT: what it hands the
		// departing instance meanwhile is lost with it and asked for again by resync (not
		// what this test is about).
		time.Sleep(500 * time.Millisecond)
		for i := 20; i < n; i++ {
			a.publish(wire.KindDoor, door(i), true)
		}
		t.Cleanup(func() {
			if t.Failed() {
				states, _ := st.ObservationSeqs(context.Background())
				t.Logf("stored %d, states %+v; the survivor was handed %d, the dead one %d", doors(t, st, "agent-1"), states, survivor.handler.n.Load(), dead.handler.n.Load())
			}
		})
		waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-1") == n }, fmt.Sprintf("all %d envelopes on the surviving instance", n))
		exactlyOnce(t, st, "agent-1", n, nil)
	})
}

// TestAnInstanceThatGoesAwayIsHeardByTheOthers: what an instance on the shared subscription held
// unacknowledged when it went away is gone with its clean session, and may be the tail of some
// agent's stream, which no later seq reveals. Each instance says at {base}/custodyd/{client id}
// when it comes and goes — its Last Will when it dies (the network cut here: no DISCONNECT), its
// own "offline" when it stops — and the others then ask every agent for what follows its mark.
// The resync grace is a minute here, so nothing else asks in the time the test waits.
func TestAnInstanceThatGoesAwayIsHeardByTheOthers(t *testing.T) {
	onEitherBroker(t, func(t *testing.T, st *store.Store, e *env, key []byte, share func(*ingest.Config, *mqttconn.Config)) {
		survivor := startIngest(t, e, st, share)
		a := newAgent(t, e, "agent-1", key)
		a.publish(wire.KindDoor, door(0), true)
		waitFor(t, 10*time.Second, func() bool { return doors(t, st, "agent-1") == 1 }, "the first envelope")

		// Killed: its connection is cut, and the broker publishes its Last Will.
		rl := newRelay(t, strings.TrimPrefix(e.url, "tcp://"))
		via := *e
		via.url = rl.url()
		killed := startIngest(t, &via, st, share)
		time.Sleep(1500 * time.Millisecond) // past the survivor's quiet second after the agent's online
		before := a.resyncCount()
		rl.cut()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the survivor's log:\n%s", tail(survivor.logs.String(), 4000))
			}
		})
		waitFor(t, 10*time.Second, func() bool { return a.resyncCount() > before }, "the survivor to ask the agent for its tail after the other instance died")
		if !strings.Contains(survivor.logs.String(), "went away") {
			t.Errorf("the survivor's log does not say why it asked:\n%s", tail(survivor.logs.String(), 2000))
		}
		killed.cancel()

		// Stopped: it says "offline" itself before its DISCONNECT.
		stopped := startIngest(t, e, st, share)
		time.Sleep(1500 * time.Millisecond)
		before = a.resyncCount()
		stopped.cancel()
		stopped.done <- <-stopped.done // stopped; the cleanup reads it again
		waitFor(t, 10*time.Second, func() bool { return a.resyncCount() > before }, "the survivor to ask the agent for its tail after the other instance stopped")
	})
}

// onEitherBroker runs f on the embedded broker and on Mosquitto, each time with a fresh register,
// agent-1 enrolled, and share: custodyd instances on one shared subscription of the run's own,
// whose resync grace is a minute, so nothing arrives by a hole's resync while the test waits.
func onEitherBroker(t *testing.T, f func(t *testing.T, st *store.Store, e *env, key []byte, share func(*ingest.Config, *mqttconn.Config))) {
	for _, bk := range []string{"embedded", "mosquitto"} {
		t.Run(bk, func(t *testing.T) {
			st := openStore(t, "")
			e := brokerNamed(t, bk, st)
			key := enroll(t, st, "agent-1")
			group := "custodyd-" + randHex(3)
			f(t, st, e, key, func(c *ingest.Config, m *mqttconn.Config) {
				c.ResyncGrace, c.ResyncRetry = time.Minute, time.Minute
				m.Share = group
			})
		})
	}
}

// brokerNamed is the embedded broker on st, or ("mosquitto") the system Mosquitto.
func brokerNamed(t testing.TB, name string, st *store.Store) *env {
	if name == "embedded" {
		return embedded(t, st)
	}
	return mosquitto(t)
}
