package publish

import (
	"context"
	"log/slog"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Through the real Mosquitto on 127.0.0.1:1883 (started by deploy/dev/setup.sh, as in CI): what
// Publish returns nil for, a subscriber receives.
func TestPublishReachesSubscriber(t *testing.T) {
	const url = "tcp://127.0.0.1:1883"
	got := make(chan string, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("publish-test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect subscriber to Mosquitto at %s: %v", url, tok.Error())
	}
	defer sub.Disconnect(100)
	topic := "custody-test/" + t.Name() + "/alerts"
	if tok := sub.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	p := Connect(Config{BrokerURL: url, ClientID: "publish-test-pub"}, slog.New(slog.DiscardHandler))
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, topic, []byte(`{"id":"A-1"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != `{"id":"A-1"}` {
			t.Errorf("got %q, want the published payload", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber got nothing")
	}
	p.Close()
	p.Close() // idempotent
}

// A broker that is not there: Publish gives up with ctx and says so, instead of hanging.
func TestPublishWithoutBrokerFailsClearly(t *testing.T) {
	p := Connect(Config{BrokerURL: "tcp://127.0.0.1:1", ClientID: "publish-test-nobroker"}, slog.New(slog.DiscardHandler))
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.Publish(ctx, "custody/alerts", []byte("x")); err == nil {
		t.Fatal("got nil, want an error when no broker acknowledges")
	}
}
