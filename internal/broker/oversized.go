package broker

import (
	"errors"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/custodyhq/custody/internal/custody"
)

// oversizedHook notices a client thrown out for a packet larger than the broker's limit.
//
// mochi reads a packet's fixed header, sees a remaining length above
// Capabilities.MaximumPacketSize and ends the connection with packets.ErrPacketTooLarge
// ([MQTT-3.2.2-15]) before it reads a byte of the payload: the message never reaches
// custodyd's ingest, so ingest cannot count it. OnDisconnect is the one place that sees why the
// connection ended; it is called with that error. The packet's topic is not known then (it was
// never read), so the line names the client, not the topic.
type oversizedHook struct {
	mqtt.HookBase
	b *Broker
}

func (h *oversizedHook) ID() string { return "custody-oversized" }

func (h *oversizedHook) Provides(x byte) bool { return x == mqtt.OnDisconnect }

func (h *oversizedHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	if !errors.Is(err, packets.ErrPacketTooLarge) {
		return
	}
	user := string(cl.Properties.Username)
	who := user
	if user == h.b.user {
		who = "custodyd" // custodyd's own client: its publishes are bounded below the limit (mqttconn.MaxPublish)
	}
	h.b.log.Warn("mqtt message refused: larger than the broker's packet limit; the client was disconnected and must not resend it",
		"agent", custody.Clip(who, 64), "client", custody.Clip(cl.ID, 64), "remote", cl.Net.Remote,
		"limit_bytes", MaxPacket, "reason", "oversized")
	// Only an agent's message is a dropped observation; custodyd's own client and the monitor
	// publish no observations, and the line above is their record.
	if h.b.cfg.Oversized != nil && user != h.b.user && user != MonitorUser {
		h.b.cfg.Oversized(who)
	}
}
