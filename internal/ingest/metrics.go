package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// dropReasons are every reason label custody_ingest_dropped_total can carry (mqtt.md §7); they are
// created at zero so a dashboard shows them before the first drop.
var dropReasons = []string{
	"oversized", "malformed", "version", "schema", "unknown_kind", "bad_mac", "mac_alg", "topic", "agent_mismatch",
	"unknown_agent", "revoked", "not_bound", "rebound", "seq_ahead", "duplicate", "seq_reused", "id_reused",
}

type metrics struct {
	received      prometheus.Counter
	stored        prometheus.Counter
	dropped       *prometheus.CounterVec
	storeErrors   prometheus.Counter
	resyncs       prometheus.Counter
	lost          prometheus.Counter
	gaps          prometheus.Gauge
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_received_total",
			Help: "MQTT messages received on observation topics."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_stored_total",
			Help: "Observations durably stored for the first time."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_ingest_dropped_total",
			Help: "Messages refused or already stored, by reason (firmware-protocol/mqtt.md §7)."}, []string{"reason"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_store_errors_total",
			Help: "Batch commits that failed and were retried (nothing was acknowledged)."}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_resync_requests_total",
			Help: "Resync commands sent to agents."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_ingest_lost_total",
			Help: "Seqs given up because the agent no longer held them when asked."}),
		gaps: prometheus.NewGauge(prometheus.GaugeOpts{Name: "custody_ingest_open_gaps",
			Help: "Agents with a hole in their stored seqs."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "custody_ingest_batch_size",
			Help: "Envelopes per commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 7)}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "custody_ingest_commit_seconds",
			Help: "Time to commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 3, 9)}),
	}
	for _, c := range []prometheus.Collector{m.received, m.stored, m.dropped, m.storeErrors, m.resyncs, m.lost, m.gaps, m.batchSize, m.commitSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	for _, r := range dropReasons {
		m.dropped.WithLabelValues(r)
	}
	return m, nil
}

// dropLog writes one line per dropped message with its reason, at most burst lines a second per
// reason; the lines it holds back are counted into the next one ("suppressed"), so a flood of bad
// input cannot flood the log. Redeliveries are normal under QoS 1 and go to debug.
type dropLog struct {
	out *slog.Logger

	mu    sync.Mutex
	state map[string]*dropState
}

type dropState struct {
	window     time.Time
	n          int
	suppressed int
}

const dropBurst = 20

func newDropLog(log *slog.Logger) *dropLog { return &dropLog{out: log, state: map[string]*dropState{}} }

func (d *dropLog) log(reason, agent, topic, detail string) {
	now := time.Now()
	d.mu.Lock()
	s := d.state[reason]
	if s == nil {
		s = &dropState{}
		d.state[reason] = s
	}
	if now.Sub(s.window) >= time.Second {
		s.window, s.n = now, 0
	}
	s.n++
	if s.n > dropBurst {
		s.suppressed++
		d.mu.Unlock()
		return
	}
	suppressed := s.suppressed
	s.suppressed = 0
	d.mu.Unlock()
	level := slog.LevelWarn
	if reason == "duplicate" {
		level = slog.LevelDebug
	}
	attrs := []any{"reason", reason, "agent", agent, "topic", topic, "detail", detail}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	d.out.Log(context.Background(), level, "observation dropped", attrs...)
}

// CountOversized counts a message the broker refused for its size before ingest could read it
// (the embedded broker disconnects the publisher and logs the line naming the agent): it is
// dropped with reason oversized like one ingest refused itself (mqtt.md §1, §7).
func (in *Ingest) CountOversized() { in.m.dropped.WithLabelValues("oversized").Inc() }
