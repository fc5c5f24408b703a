package ingest_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/store"
)

// Between custodyd's start and the first instant of Run's goroutine, /healthz is already served:
// ingest is within its connect grace then, not "not running" (a daemon test once read 503 there).
func TestHealthyWithinTheGraceBeforeRunIsScheduled(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, err := ingest.New(ingest.Config{BrokerURL: "tcp://127.0.0.1:1", Base: "custody", ClientID: "custodyd", DisconnectGrace: time.Minute},
		st, st, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Health(); err != nil {
		t.Fatalf("health before Run, within the grace: %v, want ok", err)
	}
	if err := in.Connected(); err == nil {
		t.Fatal("readiness before any connection: ok, want not ready")
	}
}
