package daemon

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/wire"
)

// metric reads one sample of custodyd's /metrics (name with its labels, as exposed), -1 if absent.
func metric(t *testing.T, addr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// A 1 MB publish from an enrolled agent is refused by the embedded broker before ingest sees
// it; custodyd counts it as dropped with reason oversized, as mqtt.md §1 says, and stores nothing.
func TestOversizedPublishIsCountedAsOversized(t *testing.T) {
	dir, mqttAddr, addr := startSite(t, nil)
	_, enrolled := enrollAgent(t, addr, "room-305")
	const sample = `custody_ingest_dropped_total{reason="oversized"}`
	if v := metric(t, addr, sample); v != 0 {
		t.Fatalf("%s before: got %v, want 0", sample, v)
	}
	lost := make(chan error, 1)
	agent := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("room-305").
		SetUsername("room-305").SetPassword(enrolled.Key).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err }))
	if tok := agent.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("agent login: %v", tok.Error())
	}
	agent.Publish(wire.Topics{}.Obs("room-305"), 1, false, bytes.Repeat([]byte("x"), 1<<20))
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the agent that published 1 MB is still connected 5 s later")
	}
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, addr, sample) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %v 5 s after the 1 MB publish, want 1", sample, metric(t, addr, sample))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := counter(t, dir)(`SELECT count(*) FROM observations WHERE agent = 'room-305'`); n != 0 {
		t.Errorf("stored %d observations of room-305, want 0", n)
	}
}
