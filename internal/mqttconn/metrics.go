package mqttconn

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics keep the names they had when ingest owned the connection: dashboards read them.
type metrics struct {
	connected       prometheus.Gauge
	publishFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "custody_ingest_connected",
			Help: "Connections to the broker that are up."}),
		publishFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_publish_failures_total",
			Help: "Publishes (commands, alerts, summary) that failed or were refused as too large."}),
	}
	for _, c := range []prometheus.Collector{m.connected, m.publishFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("mqtt: register metrics: %w", err)
		}
	}
	return m, nil
}
