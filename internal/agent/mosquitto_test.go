package agent

import (
	"net"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/testenv"
	"github.com/custodyhq/custody/internal/wire"
)

// TestAgainstMosquitto runs the agent against the external broker of the integration suite:
// Mosquitto on 127.0.0.1:1883 (started by deploy/dev/setup.sh and .ci/run). The agent's id and
// base topic are unique to the run, since other tests share that broker.
func TestAgainstMosquitto(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		testenv.Unavailable(t, "Mosquitto is not listening on 127.0.0.1:1883 (make setup starts it)")
	}
	c.Close()
	key := testKey()
	id := "mq-" + newID()[:8]
	base := "custody-test-" + newID()[:8]
	cfg := testConfig(t, "tcp://127.0.0.1:1883", key)
	cfg.Agent.ID, cfg.MQTT.BaseTopic = id, base
	topics := wire.Topics{Base: base}
	o := newObserverAt(t, "tcp://127.0.0.1:1883", "", "", topics, id, key)
	r := newSimReader(t, scenario())
	_, stop := runAgent(t, cfg, r, Options{})

	g, _ := o.wait(0, 20*time.Second, "inventory through Mosquitto", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); !*inv.Complete || len(inv.Tags) != 6 {
		t.Fatalf("inventory: got complete=%v tags=%d, want complete with 6", *inv.Complete, len(inv.Tags))
	}
	id2 := o.command(wire.KindInventory, wire.InventoryCmd{Cabinet: "C-08", Mode: "confirm", Reason: "suspected miss"}, time.Now())
	g, k := o.wait(0, 10*time.Second, "command result", resultOf(id2))
	if res := g.body.(*wire.CmdResult); !*res.OK {
		t.Fatalf("confirm: %q", res.Error)
	}
	o.wait(k, 30*time.Second, "confirming inventory", inventoryOf("C-08"))
	inOrder(t, o.all())
	stop()
	waitFor(t, 5*time.Second, "retained offline after a clean stop", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.avail) > 0 && o.avail[len(o.avail)-1] == string(wire.Offline)
	})
	// Leave nothing retained behind on the shared broker.
	o.client.Publish(topics.Availability(id), 1, true, []byte{}).Wait()
}
