package daemon

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/lease"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// A custodyd that finds the lease held by another instance stands by: it stores what its agents
// send and serves the API, but raises nothing. When the other stops renewing (it was killed), it
// takes the lease over within ttl + renew, audits the takeover, and raises the alarm for the
// tamper that was stored while it stood by — read from the store, not from its memory.
func TestAStandbyTakesOverAndRaisesWhatWasStoredMeanwhile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const ttl = 2 * time.Second
	other, err := lease.New(st, lease.Config{Name: "duties", Holder: "killed-leader", TTL: ttl, Renew: 500 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The other instance leads (and renews) until it is killed: its store closed under it, so it
	// can neither renew nor release — the database sees what a SIGKILL leaves.
	leading := make(chan struct{})
	runCtx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan struct{})
	go func() {
		defer close(otherDone)
		other.Run(runCtx, func(ctx context.Context, _ lease.Term) error {
			close(leading)
			<-ctx.Done()
			return nil
		})
	}()
	defer func() { stopOther(); <-otherDone }()
	<-leading

	mqttAddr := freePort(t)
	cfg := Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", mqttAddr
	cfg.Cluster.Instance = "standby"
	cfg.Cluster.LeaseTTL, cfg.Cluster.LeaseRenew = Duration{Duration: 2 * time.Second}, Duration{Duration: 500 * time.Millisecond}
	addr := startDaemon(t, cfg)

	login, enrolled := enrollAgent(t, addr, "room-301")
	key, _ := base64.StdEncoding.DecodeString(enrolled.Key)
	bindCabinet(t, addr, login, "C-01", "room-301")
	agent := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-301").
		SetUsername("room-301").SetPassword(enrolled.Key).SetAutoReconnect(false))
	if tok := agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login: %v", tok.Error())
	}
	defer agent.Disconnect(50)
	env, _ := wire.Seal(wire.DirObs, key, "room-301", "boot-1", 1, "obs-tamper-1", time.Now(), wire.KindFault, wire.Fault{Device: "C-01", Code: "tamper", Cleared: new(bool)})
	payload, _ := env.Marshal()
	if tok := agent.Publish(wire.Topics{}.Obs("room-301"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	count := counter(t, dir)
	waitCount(t, count, `SELECT count(*) FROM observations WHERE id = 'obs-tamper-1'`, 10*time.Second, func() string {
		return "the standby did not store its agent's observation"
	})
	time.Sleep(time.Second) // a leader would have raised it by now (alarm_to_alert_ms)
	const tamper = `SELECT count(*) FROM alerts WHERE kind = 'tamper' AND cabinet = 'C-01' AND state = 'open'`
	if n := count(tamper); n != 0 {
		t.Fatalf("the standby raised %d tamper alerts while another instance held the lease", n)
	}

	// A forgery this standby refuses is raised here at once, not left for a leader that never saw
	// it: room-301 reports for C-02, which is room-302's.
	enrollAgent(t, addr, "room-302")
	bindCabinet(t, addr, login, "C-02", "room-302")
	forged, _ := wire.Seal(wire.DirObs, key, "room-301", "boot-1", 2, "obs-forged-1", time.Now(), wire.KindFault, wire.Fault{Device: "C-02", Code: "tamper", Cleared: new(bool)})
	payload, _ = forged.Marshal()
	if tok := agent.Publish(wire.Topics{}.Obs("room-301"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitCount(t, count, `SELECT count(*) FROM alerts WHERE kind = 'not_bound' AND state = 'open'`, 10*time.Second, func() string {
		return "the standby refused room-301's report for C-02 but raised no not_bound alert"
	})
	if h := count(`SELECT count(*) FROM leases WHERE name = 'duties' AND holder = 'killed-leader'`); h != 1 {
		t.Fatalf("the lease left the other instance before the forgery was raised: the test proves nothing")
	}

	st.Close()
	killed := time.Now()
	waitCount(t, count, tamper, ttl+15*time.Second, func() string {
		return fmt.Sprintf("no tamper alert %s after the leader was killed", time.Since(killed).Round(time.Second))
	})
	t.Logf("the standby raised the alarm %s after the leader was killed (ttl %s)", time.Since(killed).Round(time.Millisecond), ttl)
	if n := count(`SELECT count(*) FROM audit WHERE action = 'lease.acquire' AND subject = 'lease:duties' AND after LIKE '%"from":"killed-leader"%' AND after LIKE '%"holder":"standby"%'`); n != 1 {
		t.Errorf("%d audit records of the standby taking over from the killed leader, want 1", n)
	}
	if n := count(tamper); n != 1 {
		t.Errorf("%d open tamper alerts, want exactly 1", n)
	}
}

// A custodyd restarted after a crash takes its own lease back at once: its default name is its
// host and data directory, the same as before the crash, so it does not wait out the dead
// process's TTL (the seconds in which no alarm would be raised).
func TestARestartAfterACrashTakesItsOwnLeaseAtOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the crashed process left: the lease held under its name for a long while yet.
	dead, err := lease.New(st, lease.Config{Name: "duties", Holder: defaultInstance(dir), TTL: time.Hour, Renew: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := dead.Acquire(ctx); !ok || err != nil {
		t.Fatalf("the crashed process's lease: %v %v", ok, err)
	}
	st.Close()
	if other := defaultInstance(t.TempDir()); other == defaultInstance(dir) {
		t.Fatalf("two data directories share the instance name %s", other)
	}

	cfg := Default()
	cfg.DataDir, cfg.HTTP.Listen, cfg.MQTT.Listen = dir, "127.0.0.1:0", freePort(t)
	started := time.Now()
	startDaemon(t, cfg)
	st2, err := store.Open(ctx, filepath.Join(dir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	for {
		var n int
		if err := st2.DB().QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE action = 'lease.acquire'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Since(started) > 30*time.Second {
			t.Fatalf("the restarted custodyd did not take its own lease back (acquisitions: %d)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An alert another instance raises — here a lockout at its sign-in page, written into the shared
// register by that instance's own book — is escalated by the leader at once, not at its
// escalator's next tick (10 s): the leader looks for alerts changed by others every [cluster]
// poll. The figure is the time to the leader's first escalation step for it.
func TestAnAlertRaisedByAnotherInstanceIsEscalatedAtOnce(t *testing.T) {
	dir, _, _ := startSite(t, nil) // leads: the only instance holding the lease
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other := alert.NewBook(st, slog.New(slog.DiscardHandler), nil) // the other instance's book
	count := counter(t, dir)
	time.Sleep(time.Second) // past the escalator's first tick at start
	for _, user := range []string{"zhang.wei", "li.ming"} {
		at := time.Now()
		if err := other.RecordLockout(ctx, user); err != nil {
			t.Fatal(err)
		}
		q := `SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE a.kind = 'account_locked' AND a.subject = 'person/` + user + `' AND e.audience = 'secrecy_office'`
		waitCount(t, count, q, 30*time.Second, func() string { return "the leader never escalated the other instance's alert" })
		took := time.Since(at)
		t.Logf("escalated %v after another instance raised it", took.Round(time.Millisecond))
		if took > 3*time.Second {
			t.Errorf("the leader escalated another instance's alert %v after it was raised, want within 3 s (not at its 10 s tick)", took.Round(time.Millisecond))
		}
	}
}
