package cabinetsim

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/netport"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/r2000"
)

// tcpRoom has an LLRP cabinet and an R2000 behind a serial device server.
const tcpRoom = `
seed = 3
[[cabinet]]
id = "C-11"
reader = "llrp"
  [[cabinet.tag]]
  epc = "` + epcA + `"
  antenna = 1
  [[cabinet.tag]]
  epc = "` + epcB + `"
  antenna = 2
  rssi_dbm = -62
[[cabinet]]
id = "C-12"
reader = "r2000"
listen = "127.0.0.1:0"
  [[cabinet.tag]]
  epc = "` + epcC + `"
  antenna = 1
`

func startTCPRoom(t *testing.T) (*Sim, map[string]string) {
	t.Helper()
	sc, err := ParseScenario([]byte(tcpRoom))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	paths := map[string]string{}
	for _, d := range s.Devices() {
		paths[d.ID] = d.Path
	}
	return s, paths
}

func dialLLRP(t *testing.T, path string) *llrp.Driver {
	t.Helper()
	c, err := netport.Open(netport.Config{Role: "reader C-11", Address: path, DefaultPort: llrp.Port})
	if err != nil {
		t.Fatal(err)
	}
	d := llrp.New(c, reader.Config{ID: "C-11", Timeout: 5 * time.Second}, llrp.Options{})
	t.Cleanup(func() { d.Close() })
	return d
}

func TestLLRPCabinetOverTCP(t *testing.T) {
	s, paths := startTCPRoom(t)
	if !strings.HasPrefix(paths["C-11"], "tcp://127.0.0.1:") || !strings.HasPrefix(paths["C-12"], "tcp://127.0.0.1:") {
		t.Fatalf("got device paths %v, want tcp:// addresses", paths)
	}
	d := dialLLRP(t, paths["C-11"])
	if info, err := d.Info(context.Background()); err != nil || info.Antennas != 4 {
		t.Fatalf("Info: %+v, %v", info, err)
	}
	r, err := round(t, d, 1, 2)
	if err != nil || r.String() != "ant1=["+epcA+"] ant2=["+epcB+"] missing=[]" {
		t.Fatalf("got %v, %v", r, err)
	}
	exec(t, s, "add C-11 "+epcN+" 3")
	until(t, d, "after add", func(r seen) bool { return slices.Contains(r.tags[3], epcN) }, 1, 2, 3)

	exec(t, s, "fault C-11 custom")
	if r, err := round(t, d, 1, 2); err != nil || len(r.tags) != 2 || r.faults != 0 {
		t.Fatalf("with custom parameters: got %v, %v", r, err)
	}
	exec(t, s, "fault C-11 refuse")
	if r, err := round(t, d, 1, 2); err != nil || r.faults != 2 {
		t.Fatalf("refused round: got %v (%d faults), %v; want a fault per antenna and the session kept", r, r.faults, err)
	}
	exec(t, s, "fault C-11 antenna 2")
	if r, err := round(t, d, 1, 2); err != nil || !slices.Equal(r.missing, []int{2}) {
		t.Fatalf("antenna 2 out: got %v, %v", r, err)
	}
	exec(t, s, "fault C-11 antenna 2 off")
	exec(t, s, "fault C-11 drop-report")
	if _, err := round(t, d, 1, 2); err == nil {
		t.Fatal("a round whose report was cut: got no error")
	}
	// Reconnect, as the agent's supervisor does; the simulator frees its one client slot once
	// it sees the old connection gone.
	d.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d2 := dialLLRP(t, paths["C-11"])
		if _, err := d2.Info(context.Background()); err == nil {
			if r, err := round(t, d2, 1, 2); err != nil || len(r.tags) != 2 {
				t.Fatalf("after reconnect: %v, %v", r, err)
			}
			break
		} else if !errors.Is(err, llrp.ErrConnectionRefused) || time.Now().After(deadline) {
			t.Fatalf("reconnect: %v", err)
		}
		d2.Close()
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.Exec("fault C-12 refuse"); err == nil {
		t.Fatal("an LLRP fault on an R2000 was accepted")
	}
}

func TestSerialServerReaderVanishesAndReturns(t *testing.T) {
	s, paths := startTCPRoom(t)
	openR := func() (*r2000.Driver, error) {
		c, err := netport.Open(netport.Config{Role: "reader C-12", Address: paths["C-12"]})
		if err != nil {
			return nil, err
		}
		d := r2000.New(c, reader.Config{ID: "C-12", Timeout: 2 * time.Second})
		t.Cleanup(func() { d.Close() })
		return d, nil
	}
	d, err := openR()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := round(t, d, 1); err != nil || r.String() != "ant1=["+epcC+"] missing=[]" {
		t.Fatalf("got %v, %v", r, err)
	}
	exec(t, s, "vanish C-12")
	if s.Devices()[1].Path != "" {
		t.Fatalf("a vanished TCP reader still shows %q", s.Devices()[1].Path)
	}
	if _, err := round(t, d, 1); err == nil {
		t.Fatal("a round on a vanished server succeeded")
	}
	if _, err := openR(); !errors.Is(err, netport.ErrRefused) {
		t.Fatalf("open while vanished: got %v, want refused", err)
	}
	exec(t, s, "return C-12")
	deadline := time.Now().Add(20 * time.Second)
	for {
		d2, err := openR()
		if err == nil {
			if r, err := round(t, d2, 1); err != nil || len(r.tags[1]) != 1 {
				t.Fatalf("after return: %v, %v", r, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.Devices()[1].Path; got != paths["C-12"] {
		t.Fatalf("returned at %q, want the same address %q", got, paths["C-12"])
	}
}
