// Package publish is custodyd's own MQTT publisher for what it announces on the internal network:
// alerts on {base}/alerts and the morning summary. Ingest has its own client for consuming
// observations and sending signed commands; this one only publishes.
//
// Contract: Connect returns at once and keeps reconnecting in the background (paho's connect
// retry), so custodyd starts even while the broker is down; Publish sends at QoS 1 and returns
// when the broker acknowledged or ctx ends — an alert that could not be published is an error
// the caller records, never silently lost. Close is safe to call more than once.
package publish

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Config says where to publish.
type Config struct {
	BrokerURL string // tcp://host:port or ssl://host:port
	Username  string
	Password  string
	TLS       *tls.Config
	ClientID  string // default "custodyd-publish"
}

// Client publishes.
type Client struct {
	c    mqtt.Client
	once sync.Once
}

// Connect starts the client; it does not wait for the first connection.
func Connect(cfg Config, log *slog.Logger) *Client {
	if cfg.ClientID == "" {
		cfg.ClientID = "custodyd-publish"
	}
	o := mqtt.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).SetPassword(cfg.Password).SetTLSConfig(cfg.TLS).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetOnConnectHandler(func(mqtt.Client) { log.Info("publisher connected", "broker", cfg.BrokerURL) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("publisher lost the broker", "broker", cfg.BrokerURL, "err", err)
		})
	c := mqtt.NewClient(o)
	// With connect retry the token completes only when connected; we don't wait for it. The
	// session is persistent (CleanSession false) because paho discards what was queued before
	// the first connection when a clean session starts — an alert raised while the broker is
	// still coming up would be lost.
	c.Connect()
	return &Client{c: c}
}

// Publish sends payload on topic at QoS 1 and waits for the broker's acknowledgement.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) error {
	tok := c.c.Publish(topic, 1, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish on %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish on %s: broker did not acknowledge: %w", topic, ctx.Err())
	}
}

// Close disconnects, letting in-flight messages go out for up to a quarter second.
func (c *Client) Close() {
	c.once.Do(func() { c.c.Disconnect(250) })
}
