package mqttconn

import (
	"fmt"
	"sync"
	"time"
)

// DisconnectGrace is the default of Config.DisconnectGrace, how long custodyd may be away from the
// broker before Health says so: a reconnect takes a few seconds; longer means nothing arrives
// and no alert goes out.
const DisconnectGrace = 30 * time.Second

// health is what Health reports: the broker connection and whether publishing works.
type health struct {
	mu           sync.Mutex
	up           int       // connections up
	downSince    time.Time // when the last connection went down (zero while one is up)
	started      time.Time
	publishErr   error // the last publish failed with this, and none succeeded since
	publishSince time.Time
}

func (h *health) connected() {
	h.mu.Lock()
	h.up++
	h.downSince = time.Time{}
	h.mu.Unlock()
}

func (h *health) lost(now time.Time) {
	h.mu.Lock()
	if h.up > 0 {
		h.up--
	}
	if h.up == 0 {
		h.downSince = now
	}
	h.mu.Unlock()
}

func (h *health) published(err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.publishErr = nil
		return
	}
	if h.publishErr == nil {
		h.publishSince = now
	}
	h.publishErr = err
}

// Health says whether the connection works: nil, or why not — disconnected from the broker for longer
// than Config.DisconnectGrace (or never connected since Run started that long ago), or publishing
// (alerts, commands, the summary) failing since a time. /healthz reports it.
//
// The reasons still say "ingest": /healthz reports them under the condition "ingest", the name
// operators and dashboards know from before the connection had a package of its own.
func (c *Conn) Health() error {
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	switch {
	case h.started.IsZero():
		return fmt.Errorf("ingest is not running")
	case h.up == 0 && h.downSince.IsZero() && now.Sub(h.started) > c.cfg.DisconnectGrace:
		return fmt.Errorf("ingest has not connected to the MQTT broker %s since %s", c.cfg.BrokerURL, h.started.UTC().Format(time.RFC3339))
	case h.up == 0 && !h.downSince.IsZero() && now.Sub(h.downSince) > c.cfg.DisconnectGrace:
		return fmt.Errorf("ingest disconnected from the MQTT broker %s since %s", c.cfg.BrokerURL, h.downSince.UTC().Format(time.RFC3339))
	case h.publishErr != nil:
		return fmt.Errorf("publishing to the MQTT broker fails since %s: %v", h.publishSince.UTC().Format(time.RFC3339), h.publishErr)
	}
	return nil
}

// Connected is nil while at least one connection to the broker is up (readiness: no grace).
func (c *Conn) Connected() error {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	if c.health.up == 0 {
		return fmt.Errorf("ingest is not connected to the MQTT broker %s", c.cfg.BrokerURL)
	}
	return nil
}
