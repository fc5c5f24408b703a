package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// /healthz tells the truth: a condition the wiring reports failing (ingest away from its broker
// past the grace) makes it 503 naming the condition and its reason, custody_health_ok{condition}
// reads 0, and once the condition clears it is 200 again; /readyz adds the readiness check.
func TestHealthzReportsEachFailingCondition(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ingestErr, readyErr error
	reg := prometheus.NewRegistry()
	a := New(register.New(st, nil), st, slog.New(slog.DiscardHandler), Options{Registry: reg,
		Health: map[string]func() error{"ingest": func() error { return ingestErr }},
		Ready:  func() error { return readyErr }})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthy: got %d", code)
	}
	ingestErr = errors.New("ingest disconnected from the MQTT broker tcp://127.0.0.1:1883 since 2026-12-06T04:00:00Z")
	code, body := get("/healthz")
	failed, _ := body["failed"].(map[string]any)
	if code != 503 || !strings.Contains(failed["ingest"].(string), "disconnected") {
		t.Fatalf("ingest down: got %d %v, want 503 naming ingest and why", code, body)
	}
	if v := healthGauge(t, reg, "ingest"); v != 0 {
		t.Errorf("custody_health_ok{condition=ingest} = %v, want 0", v)
	}
	if v := healthGauge(t, reg, "store"); v != 1 {
		t.Errorf("custody_health_ok{condition=store} = %v, want 1", v)
	}
	ingestErr = nil
	readyErr = errors.New("ingest is not connected to the MQTT broker")
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz within the grace: got %d, want 200", code)
	}
	if code, body := get("/readyz"); code != 503 || body["failed"].(map[string]any)["ready"] == nil {
		t.Errorf("readyz while disconnected: got %d %v, want 503", code, body)
	}

	// A store that cannot write any more (probed at most every few seconds: a fresh server here).
	st2, err := store.Open(ctx, filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := New(register.New(st2, nil), st2, slog.New(slog.DiscardHandler), Options{})
	srv2 := httptest.NewServer(b.Handler())
	defer srv2.Close()
	st2.Close()
	resp, err := http.Get(srv2.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(raw), "store") {
		t.Errorf("closed store: got %d %s, want 503 naming the store", resp.StatusCode, raw)
	}
}

func healthGauge(t *testing.T, reg *prometheus.Registry, cond string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "custody_health_ok" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == cond {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no custody_health_ok{condition=%q}", cond)
	return -1
}
