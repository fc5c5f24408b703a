package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/broker"
)

// noAgents is a broker credential lookup that knows no agent: only custodyd logs in.
type noAgents struct{}

func (noAgents) AgentKey(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("no agents here")
}

// health reads /healthz: its status code and, when not ok, the failing conditions.
func health(t *testing.T, addr string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Failed map[string]string }
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Failed
}

// custodyd on an external broker that goes away: /healthz stays ok within [mqtt]
// disconnect_grace (a restart of the broker is no alarm), then says 503 with the reason — ingest
// disconnected from that broker — and custody_health_ok{condition="ingest"} reads 0; when the
// broker is back and ingest has reconnected, it is ok again.
func TestLostBrokerFlipsHealthAfterTheGrace(t *testing.T) {
	const user, pass = "custodyd-ext", "broker-password-1"
	addr := freePort(t)
	startBroker := func() *broker.Broker {
		t.Helper()
		b, err := broker.Start(context.Background(), broker.Config{Listen: addr, InternalUser: user, InternalPassword: pass}, noAgents{}, nil)
		if err != nil {
			t.Fatalf("start the external broker: %v", err)
		}
		return b
	}
	b := startBroker()
	defer func() { b.Close() }()
	const grace = 2 * time.Second
	_, _, httpAddr := startSite(t, func(c *Config) {
		c.MQTT.URL, c.MQTT.Username, c.MQTT.Password = "tcp://"+addr, user, pass
		c.MQTT.DisconnectGrace = Duration{Duration: grace}
	})
	waitHealth := func(want int, within time.Duration) map[string]string {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			code, failed := health(t, httpAddr)
			if code == want {
				return failed
			}
			if time.Now().After(deadline) {
				t.Fatalf("/healthz: got %d %v after %v, want %d", code, failed, within, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitHealth(200, 10*time.Second)

	b.Close()
	lostAt := time.Now()
	time.Sleep(grace / 2)
	if code, failed := health(t, httpAddr); code != 200 {
		t.Fatalf("/healthz within the grace: got %d %v, want 200", code, failed)
	}
	failed := waitHealth(503, grace+5*time.Second)
	if d := time.Since(lostAt); d < grace {
		t.Errorf("/healthz said 503 %v after the broker went, before the grace of %v", d, grace)
	}
	if r := failed["ingest"]; !strings.Contains(r, "disconnected from the MQTT broker tcp://"+addr) {
		t.Errorf("the ingest reason: got %q, want it to say disconnected from the MQTT broker tcp://%s", r, addr)
	}
	if v := metric(t, httpAddr, `custody_health_ok{condition="ingest"}`); v != 0 {
		t.Errorf(`custody_health_ok{condition="ingest"}: got %v, want 0`, v)
	}

	b = startBroker()
	// paho retries at most every 5 s; under CI's parallel -race packages a reconnect and its
	// subscription have taken longer than 15 s (what is asserted is that health comes back).
	waitHealth(200, 30*time.Second)
	if v := metric(t, httpAddr, `custody_health_ok{condition="ingest"}`); v != 1 {
		t.Errorf(`custody_health_ok{condition="ingest"} after the reconnect: got %v, want 1`, v)
	}
}
