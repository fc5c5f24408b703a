package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus metrics. Names start with custody_agent_.
type metrics struct {
	readerConnected *prometheus.GaugeVec
	readerLastFrame *prometheus.GaugeVec
	readerErrors    *prometheus.CounterVec
	tagReads        *prometheus.CounterVec
	mqttConnected   prometheus.Gauge
	published       prometheus.Counter
	refused         *prometheus.CounterVec
	cmdRejected     *prometheus.CounterVec
	rounds          *prometheus.CounterVec
	roundPasses     prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry, a *Agent) (*metrics, error) {
	m := &metrics{
		readerConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "custody_agent_reader_connected", Help: "1 when the reader is open and answering."}, []string{"reader"}),
		readerLastFrame: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "custody_agent_reader_last_frame_timestamp_seconds", Help: "Unix time of the last answer from the reader."}, []string{"reader"}),
		readerErrors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_agent_reader_errors_total", Help: "Reader errors by kind (open, lost, pass, fault)."}, []string{"reader", "kind"}),
		tagReads:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_agent_reader_tag_reads_total", Help: "Tag reports received."}, []string{"reader"}),
		mqttConnected:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "custody_agent_mqtt_connected", Help: "1 while connected to the broker."}),
		published:       prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_agent_published_total", Help: "Observations acknowledged by the broker."}),
		refused:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_agent_observations_refused_total", Help: "Observations the outbox could not keep, by reason. Should stay 0."}, []string{"reason"}),
		cmdRejected:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_agent_commands_rejected_total", Help: "Commands refused before execution, by reason."}, []string{"reason"}),
		rounds:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_agent_rounds_total", Help: "Inventory rounds run."}, []string{"cabinet", "complete"}),
		roundPasses:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "custody_agent_round_passes", Help: "Passes per round.", Buckets: []float64{1, 2, 4, 6, 8, 12, 20, 40, 60}}),
	}
	lvl := func(f func() float64) func() float64 { return f }
	cs := []prometheus.Collector{
		m.readerConnected, m.readerLastFrame, m.readerErrors, m.tagReads, m.mqttConnected, m.published, m.refused, m.cmdRejected, m.rounds, m.roundPasses,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_agent_outbox_pending", Help: "Observations not yet acknowledged by the broker."},
			lvl(func() float64 { return float64(a.out.Level().Entries) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_agent_outbox_pending_bytes", Help: "Bytes of observations not yet acknowledged."},
			lvl(func() float64 { return float64(a.out.Level().Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_agent_outbox_held", Help: "Observations held in the outbox, acknowledged ones kept for resync included."},
			lvl(func() float64 { return float64(a.out.Level().HeldEntries) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_agent_outbox_fill_ratio", Help: "Fill of the outbox by unacknowledged observations, 0–1; a fault is raised at the high-water mark."},
			lvl(func() float64 { return a.out.Level().Fraction() })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_agent_outbox_last_seq", Help: "Last sequence number given."},
			lvl(func() float64 { return float64(a.out.LastSeq()) })),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	for id := range a.cfg.Readers {
		m.readerConnected.WithLabelValues(a.cfg.Readers[id].ID).Set(0)
	}
	return m, nil
}

// Health is the state /healthz reports.
type Health struct {
	Agent    string                 `json:"agent"`
	Boot     string                 `json:"boot"`
	MQTT     bool                   `json:"mqtt_connected"`
	Readers  map[string]ReaderState `json:"readers"`
	Outbox   OutboxState            `json:"outbox"`
	Problems []string               `json:"problems"`
}

// ReaderState is one reader in Health.
type ReaderState struct {
	Connected bool      `json:"connected"`
	LastFrame time.Time `json:"last_frame"`
}

// OutboxState is the outbox in Health.
type OutboxState struct {
	Pending  int64   `json:"pending"`
	Held     int64   `json:"held"`
	Fill     float64 `json:"fill"`
	LastSeq  uint64  `json:"last_seq"`
	Reserved bool    `json:"disk_reserve"`
}

// Health reports the agent's state; Problems is empty when all is well.
func (a *Agent) Health() Health {
	h := Health{Agent: a.cfg.Agent.ID, Boot: a.boot, MQTT: a.pub.online.Load(), Readers: map[string]ReaderState{}, Problems: []string{}}
	for id, u := range a.readers {
		u.mu.Lock()
		st := ReaderState{Connected: u.drv != nil, LastFrame: u.lastFrame}
		u.mu.Unlock()
		h.Readers[id] = st
		if !st.Connected {
			h.Problems = append(h.Problems, "reader "+id+" not connected")
		}
	}
	lvl := a.out.Level()
	h.Outbox = OutboxState{Pending: lvl.Entries, Held: lvl.HeldEntries, Fill: lvl.Fraction(), LastSeq: a.out.LastSeq(), Reserved: a.out.Reserved()}
	if !h.MQTT {
		h.Problems = append(h.Problems, "not connected to the broker")
	}
	if lvl.Fraction() >= a.out.HighWater() {
		h.Problems = append(h.Problems, fmt.Sprintf("outbox %.0f%% full", lvl.Fraction()*100))
	}
	sort.Strings(h.Problems)
	return h
}

// Handler serves /metrics (Prometheus), /healthz (JSON; 503 when there is a problem) and /rounds
// (the last round of each cabinet with its full evidence).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := a.Health()
		w.Header().Set("Content-Type", "application/json")
		if len(h.Problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(h)
	})
	mux.HandleFunc("GET /rounds", func(w http.ResponseWriter, r *http.Request) {
		a.roundMu.Lock()
		out := make(map[string]roundReport, len(a.lastRuns))
		for k, v := range a.lastRuns {
			out[k] = v
		}
		a.roundMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	return mux
}

// serveHealth serves Handler on l until ctx ends.
func (a *Agent) serveHealth(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	a.log.Info("health endpoint started", "listen", l.Addr().String())
	err := srv.Serve(l)
	cancel()
	<-done
	a.log.Info("health endpoint stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
