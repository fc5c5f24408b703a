package m6e_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/m6e"
	"github.com/custodyhq/custody/internal/reader/sim"
)

// rig is a simulated module on the master side of a pty and the driver on the slave side,
// opened with the real serial driver.
type rig struct {
	sim *sim.M6e
	pty *sim.PTY
	drv *m6e.Driver
}

func newRig(t *testing.T, sc sim.Scenario, timeout time.Duration) *rig {
	t.Helper()
	s, err := sim.NewM6e(sc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, p.Master) }()
	port, err := serial.Open(p.Path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	drv := m6e.New(port, reader.Config{ID: "cab-12", Timeout: timeout, Logger: log})
	drv.Cycle = 20 * time.Millisecond
	t.Cleanup(func() {
		drv.Close()
		cancel()
		p.Close()
		if err := <-served; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	return &rig{sim: s, pty: p, drv: drv}
}

var (
	epcA = "E28011606000020A0B0C0001"
	epcB = "E28011606000020A0B0C0002"
	epcC = "E28011606000020A0B0C0003"
	epcX = "E28011606000020A0B0C0099" // neighbouring cabinet
)

func cabinet() sim.Scenario {
	return sim.Scenario{Seed: 11, Firmware: "1.21", Tags: []sim.Tag{
		{EPC: epcA, Antenna: 1, RSSIDBm: -50},
		{EPC: epcB, Antenna: 1, RSSIDBm: -58},
		{EPC: epcC, Antenna: 2, RSSIDBm: -62, ReadProbability: 0.5},
		{EPC: epcX, Antenna: 2, RSSIDBm: -85, ReadProbability: 0.1, CrossRead: true},
	}}
}

type collected struct {
	tags   []reader.TagRead
	ends   []reader.RoundEnd
	faults []reader.Fault
}

func (c *collected) emit(e reader.Event) {
	switch v := e.(type) {
	case reader.TagRead:
		c.tags = append(c.tags, v)
	case reader.RoundEnd:
		c.ends = append(c.ends, v)
	case reader.Fault:
		c.faults = append(c.faults, v)
	}
}

func (c *collected) count(epc string) int {
	n := 0
	for _, t := range c.tags {
		if reader.HexUpper(t.EPC) == epc {
			n++
		}
	}
	return n
}

func TestInfoAndSettings(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx := context.Background()
	info, err := r.drv.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Firmware != "01.15.00.00" {
		t.Errorf("got firmware %q, want 01.15.00.00 (scenario 1.21 as BCD-like bytes 01 15)", info.Firmware)
	}
	if err := r.drv.SetRegion(ctx, m6e.RegionPRC); err != nil {
		t.Fatal(err)
	}
	if got, err := r.drv.Region(ctx); err != nil || got != m6e.RegionPRC {
		t.Errorf("region: got %#x, %v; want PRC", got, err)
	}
	var se *m6e.StatusError
	if err := r.drv.SetRegion(ctx, 0x42); !errors.As(err, &se) || se.Status != 0x010B {
		t.Errorf("bad region: got %v, want status 0x010B", err)
	}
	if err := r.drv.SetProtocolGen2(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.SetReadPower(ctx, 2450); err != nil {
		t.Fatal(err)
	}
	if got, err := r.drv.ReadPower(ctx); err != nil || got != 2450 {
		t.Errorf("read power: got %d, %v; want 2450", got, err)
	}
	if err := r.drv.SetReadPower(ctx, 3300); !errors.As(err, &se) || se.Status != 0x0103 {
		t.Errorf("too much power: got %v, want status 0x0103", err)
	}
}

func TestInventoryRounds(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	var c collected
	plan := reader.Plan{Antennas: []int{1, 2}, Session: 1, PowerDBm: 27, Rounds: 20}
	if err := r.drv.Inventory(context.Background(), plan, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.ends) != 20 {
		t.Fatalf("got %d round ends, want 20", len(c.ends))
	}
	if got := c.count(epcA); got < 19 || got > 20 {
		// the first cycle may have begun before the driver's start reply was read, never more
		t.Errorf("tag A (always read) seen %d times in 20 rounds, want 20", got)
	}
	if got := c.count(epcC); got == 0 || got >= 20 {
		t.Errorf("tag C (read probability 0.5) seen %d times in 20 rounds, want some but not all", got)
	}
	for _, tr := range c.tags {
		want := map[string]int{epcA: 1, epcB: 1, epcC: 2, epcX: 2}[reader.HexUpper(tr.EPC)]
		if tr.Antenna != want {
			t.Errorf("tag %X on antenna %d, want %d", tr.EPC, tr.Antenna, want)
		}
		if reader.HexUpper(tr.EPC) == epcX && tr.RSSIDBm > -80 {
			t.Errorf("cross-read at %d dBm, want weaker than -80", tr.RSSIDBm)
		}
		if tr.FrequencyKHz < 920000 || tr.FrequencyKHz > 925000 || tr.ReadCount != 1 {
			t.Errorf("got %+v, want 920–925 MHz and read count 1", tr)
		}
	}
	// Stopped: no more records arrive, and the next request is answered normally.
	if _, err := r.drv.Info(context.Background()); err != nil {
		t.Errorf("after inventory: %v", err)
	}
}

func TestMetadataSubset(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	r.drv.Metadata = m6e.MetaRSSI // no antenna: the driver takes it from the single-antenna plan
	var c collected
	if err := r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{2}, Rounds: 5}, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.tags) == 0 {
		t.Fatal("no tags read")
	}
	for _, tr := range c.tags {
		if tr.Antenna != 2 || tr.FrequencyKHz != 0 || tr.RSSIDBm > -55 {
			t.Errorf("got %+v, want antenna 2, no frequency, RSSI from the record", tr)
		}
	}
}

// Line noise before a third of the writes: the driver resynchronises and nothing but the noise
// is lost.
func TestNoisyLine(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	r.sim.SetNoise(0.3)
	var c collected
	if err := r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 20}, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.ends) != 20 || c.count(epcA) != 20 || c.count(epcB) != 20 {
		t.Errorf("got %d rounds, tag A %d times, tag B %d times; want 20 each", len(c.ends), c.count(epcA), c.count(epcB))
	}
}

func TestAntennaMissing(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	r.sim.SetAntennaMissing(2, true)
	var c collected
	if err := r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 3}, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.faults) < 3 || c.faults[0].Antenna != 2 || !errors.Is(c.faults[0].Err, reader.ErrAntennaMissing) {
		t.Fatalf("got faults %+v, want antenna 2 missing every round", c.faults)
	}
	for _, e := range c.ends {
		if !e.Incomplete || !slices.Equal(e.Missing, []int{2}) {
			t.Errorf("got round end %+v, want incomplete with antenna 2 missing", e)
		}
	}
}

func TestReaderStopsAnswering(t *testing.T) {
	r := newRig(t, cabinet(), 300*time.Millisecond)
	ctx := context.Background()
	// Silent in the middle of continuous reading: keep-alives stop, and that is an error.
	errc := make(chan error, 1)
	rounds := 0
	go func() {
		errc <- r.drv.Inventory(ctx, reader.Plan{Antennas: []int{1}}, func(e reader.Event) {
			if _, ok := e.(reader.RoundEnd); ok {
				if rounds++; rounds == 3 {
					r.sim.SetSilent(true)
				}
			}
		})
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, reader.ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Inventory hung on a silent reader")
	}
	if _, err := r.drv.Info(ctx); !errors.Is(err, reader.ErrTimeout) {
		t.Errorf("info on a silent reader: got %v, want ErrTimeout", err)
	}
	r.sim.SetSilent(false)
	if _, err := r.drv.Info(ctx); err != nil {
		t.Errorf("after the reader answers again: %v", err)
	}
}

func TestWriteEPC(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx := context.Background()
	newEPC := []byte{0x30, 0x14, 0x25, 0x7B, 0xF4, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x08}
	if err := r.drv.WriteEPC(ctx, 1, newEPC); err != nil {
		t.Fatal(err)
	}
	var c collected
	if err := r.drv.Inventory(ctx, reader.Plan{Antennas: []int{1}, Rounds: 2}, c.emit); err != nil {
		t.Fatal(err)
	}
	if c.count(reader.HexUpper(newEPC)) == 0 || c.count(epcA) != 0 {
		t.Errorf("after write got tags %v, want the new EPC instead of tag A", c.tags)
	}
	if err := r.drv.WriteEPC(ctx, 3, newEPC); !errors.Is(err, reader.ErrNoTag) {
		t.Errorf("write on an empty antenna: got %v, want ErrNoTag", err)
	}
}

func TestCloseDuringInventory(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	done := make(chan error, 1)
	started := make(chan struct{})
	first := true
	go func() {
		done <- r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}}, func(e reader.Event) {
			if first {
				first = false
				close(started)
			}
		})
	}()
	<-started
	if err := r.drv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, reader.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Inventory did not return after Close")
	}
}

func TestCancelStopsReading(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	err := r.drv.Inventory(ctx, reader.Plan{Antennas: []int{1}}, func(e reader.Event) {
		if _, ok := e.(reader.RoundEnd); ok {
			if rounds++; rounds == 4 {
				cancel()
			}
		}
	})
	if err != nil || rounds != 4 {
		t.Errorf("got %d rounds, %v; want 4, nil", rounds, err)
	}
	if _, err := r.drv.Info(context.Background()); err != nil {
		t.Errorf("after cancel: %v", err)
	}
}

func TestDeviceVanishes(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	if _, err := r.drv.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.pty.Close()
	start := time.Now()
	_, err := r.drv.Info(context.Background())
	if err == nil || errors.Is(err, reader.ErrTimeout) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v, want the link lost at once", err, time.Since(start))
	}
}
