package llrp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/sim"
)

// simReader serves an LLRP simulator on a real TCP listener on 127.0.0.1 and returns its address.
func simReader(t *testing.T, tags []sim.Tag, missing ...int) (*sim.LLRP, string) {
	t.Helper()
	s, err := sim.NewLLRP(sim.Scenario{Tags: tags, MissingAntennas: missing, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServeListener(ctx, ln, s.Serve) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string, opts llrp.Options) *llrp.Driver {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := llrp.New(c, reader.Config{ID: "cab-L1", Timeout: 5 * time.Second}, opts)
	t.Cleanup(func() { d.Close() })
	return d
}

var tags = []sim.Tag{
	{EPC: "E28011700000020A1B2C3D01", Antenna: 1, RSSIDBm: -48},
	{EPC: "E28011700000020A1B2C3D02", Antenna: 1},
	{EPC: "E28011700000020A1B2C3D03", Antenna: 2, RSSIDBm: -61},
	{EPC: "3034257BF7194E4000001A85AABB", Antenna: 2}, // 14 bytes: sent as EPCData
}

type got struct {
	reads  map[string]reader.TagRead
	ends   []reader.RoundEnd
	faults []reader.Fault
}

func collect() (*got, func(reader.Event)) {
	g := &got{reads: map[string]reader.TagRead{}}
	return g, func(e reader.Event) {
		switch v := e.(type) {
		case reader.TagRead:
			g.reads[reader.HexUpper(v.EPC)] = v
		case reader.RoundEnd:
			g.ends = append(g.ends, v)
		case reader.Fault:
			g.faults = append(g.faults, v)
		}
	}
}

func keys(m map[string]reader.TagRead) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFullRoundsOverTCP(t *testing.T) {
	s, addr := simReader(t, tags)
	d := dial(t, addr, llrp.Options{})
	ctx := context.Background()
	info, err := d.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Antennas != 4 || !strings.Contains(info.Model, "Impinj") || info.Firmware == "" {
		t.Fatalf("got info %+v, want an Impinj-like reader with 4 antennas and a firmware", info)
	}
	g, emit := collect()
	if err := d.Inventory(ctx, reader.Plan{Antennas: []int{1, 2}, Session: 1, Target: reader.TargetB, PowerDBm: 27, Rounds: 3}, emit); err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	if len(g.ends) != 3 {
		t.Fatalf("got %d round ends, want 3", len(g.ends))
	}
	for _, e := range g.ends {
		if e.Incomplete || len(e.Missing) > 0 || e.TagReads != 4 {
			t.Fatalf("got round end %+v, want complete with 4 tag reads", e)
		}
	}
	want := []string{"3034257BF7194E4000001A85AABB", "E28011700000020A1B2C3D01", "E28011700000020A1B2C3D02", "E28011700000020A1B2C3D03"}
	if strings.Join(keys(g.reads), " ") != strings.Join(want, " ") {
		t.Fatalf("got tags %v, want %v", keys(g.reads), want)
	}
	if r := g.reads["E28011700000020A1B2C3D03"]; r.Antenna != 2 || r.RSSIDBm > -59 || r.RSSIDBm < -63 || r.ReadCount != 1 {
		t.Fatalf("got read %+v, want antenna 2, RSSI about -61 dBm, count 1", r)
	}
	if sp := s.LastSpec(); sp.Session != 1 || !sp.TargetB || !sp.StateAware || sp.PowerIndex != 18 || sp.Quiet != 300*time.Millisecond {
		t.Fatalf("the reader was asked for %+v, want session 1, target B, state-aware, power index 18 (27 dBm), stop after 300 ms without a new tag", sp)
	}
	if s.Reports() != 3 {
		t.Fatalf("simulator sent %d reports, want 3", s.Reports())
	}
	if len(g.faults) != 0 {
		t.Fatalf("got faults %+v", g.faults)
	}
}

func TestMissingAntennaIsAFaultAndIncomplete(t *testing.T) {
	_, addr := simReader(t, tags, 2)
	d := dial(t, addr, llrp.Options{})
	g, emit := collect()
	if err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 1}, emit); err != nil {
		t.Fatal(err)
	}
	if len(g.ends) != 1 || !g.ends[0].Incomplete || len(g.ends[0].Missing) != 1 || g.ends[0].Missing[0] != 2 {
		t.Fatalf("got %+v, want one incomplete round with antenna 2 missing", g.ends)
	}
	if len(g.faults) != 1 || !errors.Is(g.faults[0].Err, reader.ErrAntennaMissing) {
		t.Fatalf("got faults %+v, want antenna missing", g.faults)
	}
	if len(g.reads) != 2 {
		t.Fatalf("got %v, want the two tags of antenna 1", keys(g.reads))
	}
}

func TestErrorStatusIsATypedFaultAndTheSessionGoesOn(t *testing.T) {
	s, addr := simReader(t, tags)
	d := dial(t, addr, llrp.Options{})
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Refuse(llrp.StatusPFieldError)
	g, emit := collect()
	if err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 2}, emit); err != nil {
		t.Fatalf("Inventory: %v (a refusal must not end the session)", err)
	}
	if len(g.ends) != 2 || !g.ends[0].Incomplete || g.ends[1].Incomplete {
		t.Fatalf("got rounds %+v, want the first incomplete and the second complete", g.ends)
	}
	if len(g.faults) != 2 {
		t.Fatalf("got faults %+v, want one per antenna", g.faults)
	}
	var se *llrp.StatusError
	if !errors.As(g.faults[0].Err, &se) || se.Code != llrp.StatusPFieldError || se.Message != llrp.AddROSpecResponse {
		t.Fatalf("got fault %+v, want a P_FieldError StatusError of ADD_ROSPEC_RESPONSE", g.faults[0])
	}
	if !strings.Contains(se.Error(), "simulated refusal") || !strings.Contains(se.Chinese(), "读写器拒绝") {
		t.Fatalf("got %q / %q, want the reader's description and the zh-CN text", se.Error(), se.Chinese())
	}
	if len(g.reads) != 4 {
		t.Fatalf("second round read %v, want all four", keys(g.reads))
	}
}

func TestCustomParametersAreSkipped(t *testing.T) {
	s, addr := simReader(t, tags)
	s.SetCustom(true)
	d := dial(t, addr, llrp.Options{})
	g, emit := collect()
	if err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 1}, emit); err != nil {
		t.Fatal(err)
	}
	if len(g.reads) != 4 || len(g.faults) != 0 {
		t.Fatalf("got %v and faults %+v, want four tags and no fault", keys(g.reads), g.faults)
	}
}

func TestDropMidReportEndsInventoryAndAReconnectWorks(t *testing.T) {
	s, addr := simReader(t, tags)
	d := dial(t, addr, llrp.Options{})
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.DropMidReport()
	g, emit := collect()
	err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 1}, emit)
	if err == nil || !strings.Contains(err.Error(), "link lost") {
		t.Fatalf("got %v, want the link lost", err)
	}
	if len(g.ends) != 0 {
		t.Fatalf("got round ends %+v from a cut report", g.ends)
	}
	d.Close()
	// The agent dials again (with backoff); the simulator frees its one client slot once it sees
	// the old connection closed, which under load may take a moment.
	deadline := time.Now().Add(20 * time.Second)
	for {
		d2 := dial(t, addr, llrp.Options{})
		_, err := d2.Info(context.Background())
		if err == nil {
			g, emit := collect()
			if err := d2.Inventory(context.Background(), reader.Plan{Antennas: []int{1, 2}, Rounds: 1}, emit); err != nil || len(g.reads) != 4 {
				t.Fatalf("after reconnect: %v, tags %v", err, keys(g.reads))
			}
			return
		}
		if !errors.Is(err, llrp.ErrConnectionRefused) || time.Now().After(deadline) {
			t.Fatalf("reconnect: %v", err)
		}
		d2.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecondClientIsRefused(t *testing.T) {
	_, addr := simReader(t, tags)
	d := dial(t, addr, llrp.Options{})
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	d2 := dial(t, addr, llrp.Options{})
	_, err := d2.Info(context.Background())
	if !errors.Is(err, llrp.ErrConnectionRefused) || !strings.Contains(err.Error(), "另一个 agent") {
		t.Fatalf("got %v, want a refusal naming the other client in both languages", err)
	}
}

func TestKeepalivesAreAcknowledgedWhileIdle(t *testing.T) {
	s, addr := simReader(t, tags)
	d := dial(t, addr, llrp.Options{Keepalive: 20 * time.Millisecond})
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.KeepaliveAcks() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d keepalive acks in 20 s, want 3", s.KeepaliveAcks())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g, emit := collect()
	if err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1}, Rounds: 1}, emit); err != nil || len(g.reads) != 2 {
		t.Fatalf("round after idle: %v, %v", err, keys(g.reads))
	}
}

func TestNotAnLLRPPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c) // says nothing
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	d := llrp.New(c, reader.Config{ID: "x", Timeout: 200 * time.Millisecond}, llrp.Options{})
	defer d.Close()
	if _, err := d.Info(context.Background()); !errors.Is(err, llrp.ErrNotLLRP) {
		t.Fatalf("got %v, want ErrNotLLRP", err)
	}
}

func TestRegistered(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	d, err := reader.New("llrp", c1, reader.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}
