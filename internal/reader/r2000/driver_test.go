package r2000_test

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
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/reader/sim"
)

// rig is a simulated reader on the master side of a pty and the driver on the slave side,
// opened with the real serial driver.
type rig struct {
	sim *sim.R2000
	pty *sim.PTY
	drv *r2000.Driver
}

func newRig(t *testing.T, sc sim.Scenario, timeout time.Duration) *rig {
	t.Helper()
	s, err := sim.NewR2000(sc)
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
	drv := r2000.New(port, reader.Config{ID: "cab-07", Timeout: timeout, Logger: log})
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
	return sim.Scenario{Seed: 7, Firmware: "2.3", Tags: []sim.Tag{
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

func TestInfo(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	info, err := r.drv.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Firmware != "2.3" || info.Antennas != 4 {
		t.Errorf("got %+v, want firmware 2.3 and 4 antennas", info)
	}
}

func TestSettings(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx := context.Background()
	if err := r.drv.SetWorkAntenna(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got, err := r.drv.WorkAntenna(ctx); err != nil || got != 3 {
		t.Errorf("work antenna: got %d, %v; want 3", got, err)
	}
	if err := r.drv.SetPower(ctx, 26); err != nil {
		t.Fatal(err)
	}
	if got, err := r.drv.Power(ctx); err != nil || got != 26 {
		t.Errorf("power: got %d, %v; want 26", got, err)
	}
	want := r2000.Region{Region: 2, Start: 0, End: 6}
	if err := r.drv.SetRegion(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := r.drv.GetRegion(ctx); err != nil || got != want {
		t.Errorf("region: got %+v, %v; want %+v", got, err, want)
	}
	var se *r2000.StatusError
	if err := r.drv.SetRegion(ctx, r2000.Region{Region: 9}); !errors.As(err, &se) || se.Status != 0x49 {
		t.Errorf("bad region: got %v, want status 0x49", err)
	}
	if err := r.drv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestInventoryRounds(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	var c collected
	plan := reader.Plan{Antennas: []int{1, 2}, Session: 1, Target: reader.TargetA, PowerDBm: 30, Rounds: 20}
	if err := r.drv.Inventory(context.Background(), plan, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.ends) != 20 {
		t.Fatalf("got %d round ends, want 20", len(c.ends))
	}
	if got := c.count(epcA); got != 20 {
		t.Errorf("tag A (always read) seen %d times in 20 rounds, want 20", got)
	}
	if got := c.count(epcC); got == 0 || got == 20 {
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
		if tr.FrequencyKHz < 902000 || tr.FrequencyKHz > 928000 {
			t.Errorf("frequency %d kHz outside 902–928 MHz", tr.FrequencyKHz)
		}
	}
	reads := 0
	for i, e := range c.ends {
		reads += e.TagReads
		if e.Round != i+1 || e.Incomplete || e.TagReads != e.Reported {
			t.Errorf("round end %d: got %+v", i+1, e)
		}
	}
	if reads != len(c.tags) {
		t.Errorf("round ends count %d reads, got %d tag reads", reads, len(c.tags))
	}
}

// Line noise before a third of the answers (sync bytes and lying lengths among it): the driver
// resynchronises and nothing but the noise is lost.
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
	plan := reader.Plan{Antennas: []int{1, 2}, Rounds: 2}
	if err := r.drv.Inventory(context.Background(), plan, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.faults) != 2 || c.faults[0].Antenna != 2 || !errors.Is(c.faults[0].Err, reader.ErrAntennaMissing) {
		t.Fatalf("got faults %+v, want antenna 2 missing twice", c.faults)
	}
	for _, e := range c.ends {
		if !e.Incomplete || !slices.Equal(e.Missing, []int{2}) {
			t.Errorf("got round end %+v, want incomplete with antenna 2 missing", e)
		}
	}
	if c.count(epcA) != 2 {
		t.Errorf("antenna 1 still reads: got tag A %d times, want 2", c.count(epcA))
	}
}

func TestFastSwitchInventory(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	r.sim.SetAntennaMissing(3, true)
	var c collected
	plan := reader.Plan{Antennas: []int{1, 2, 3}, Rounds: 3}
	if err := r.drv.FastSwitchInventory(context.Background(), plan, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.ends) != 3 {
		t.Fatalf("got %d round ends, want 3", len(c.ends))
	}
	for _, e := range c.ends {
		if !e.Incomplete || !slices.Equal(e.Missing, []int{3}) || e.Reported != e.TagReads {
			t.Errorf("got round end %+v, want incomplete, antenna 3 missing, reported = reads", e)
		}
	}
	if c.count(epcB) != 3 {
		t.Errorf("tag B seen %d times, want 3", c.count(epcB))
	}
}

func TestReaderStopsAnswering(t *testing.T) {
	r := newRig(t, cabinet(), 300*time.Millisecond)
	r.sim.SetSilent(true)
	start := time.Now()
	_, err := r.drv.Info(context.Background())
	if !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("timed out after %v, want about 300ms", el)
	}
	err = r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{1}, Rounds: 1}, func(reader.Event) {})
	if !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("inventory: got %v, want ErrTimeout", err)
	}
	r.sim.SetSilent(false)
	if _, err := r.drv.Info(context.Background()); err != nil {
		t.Errorf("after the reader answers again: %v", err)
	}
}

func TestWriteEPC(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx := context.Background()
	newEPC := []byte{0x30, 0x14, 0x25, 0x7B, 0xF4, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x07}
	if err := r.drv.WriteEPC(ctx, 1, 0, newEPC); err != nil {
		t.Fatal(err)
	}
	var c collected
	if err := r.drv.Inventory(ctx, reader.Plan{Antennas: []int{1}, Rounds: 1}, c.emit); err != nil {
		t.Fatal(err)
	}
	if c.count(reader.HexUpper(newEPC)) != 1 || c.count(epcA) != 0 {
		t.Errorf("after write got tags %v, want the new EPC instead of tag A", c.tags)
	}
	if err := r.drv.WriteEPC(ctx, 4, 0, newEPC); !errors.Is(err, reader.ErrNoTag) {
		t.Errorf("write on an empty antenna: got %v, want ErrNoTag", err)
	}
}

func TestCloseDuringInventory(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	done := make(chan error, 1)
	started := make(chan struct{})
	var once bool
	go func() {
		done <- r.drv.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}}, func(e reader.Event) {
			if !once {
				once = true
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

func TestCancelEndsInventory(t *testing.T) {
	r := newRig(t, cabinet(), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	err := r.drv.Inventory(ctx, reader.Plan{Antennas: []int{1}}, func(e reader.Event) {
		if _, ok := e.(reader.RoundEnd); ok {
			if rounds++; rounds == 5 {
				cancel()
			}
		}
	})
	if err != nil || rounds != 5 {
		t.Errorf("got %d rounds, %v; want 5, nil", rounds, err)
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
	t.Logf("device gone: %v", err)
}
