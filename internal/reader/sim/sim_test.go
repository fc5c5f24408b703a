package sim_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/reader/sim"
)

// exchange runs a simulator on one end of an in-memory pipe, sends the commands and collects
// everything the simulator answers until it has been quiet for a moment.
func exchange(t *testing.T, s interface {
	Serve(context.Context, io.ReadWriter) error
}, cmds []byte) []byte {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, a) }()
	go b.Write(cmds)
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		b.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := b.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	cancel()
	b.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	return out.Bytes()
}

func scenario(seed uint64) sim.Scenario {
	return sim.Scenario{Seed: seed, Tags: []sim.Tag{
		{EPC: "E2801160600002AA00000001", Antenna: 1, ReadProbability: 0.5},
		{EPC: "E2801160600002AA00000002", Antenna: 1, ReadProbability: 0.5},
		{EPC: "E2801160600002AA00000003", Antenna: 1, ReadProbability: 0.5, RSSIDBm: -80, CrossRead: true},
	}}
}

func rounds(n int) []byte {
	var cmds []byte
	for range n {
		cmds = r2000.AppendFrame(cmds, 0xFF, r2000.CmdSessionInv, 1, 0, 1)
	}
	return cmds
}

func TestSameSeedSameAnswers(t *testing.T) {
	run := func(seed uint64) []byte {
		s, err := sim.NewR2000(scenario(seed))
		if err != nil {
			t.Fatal(err)
		}
		return exchange(t, s, rounds(30))
	}
	a, b, c := run(1), run(1), run(2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("seed 1 twice: got %d and %d bytes that differ, want identical answers", len(a), len(b))
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 1 and 2 gave identical answers over 30 rounds of three 50% tags")
	}
}

func TestScenarioFromJSON(t *testing.T) {
	const file = `{"seed": 3, "firmware": "2.1", "missing_antennas": [4],
		"tags": [{"epc": "300833B2DDD9014000000001", "antenna": 2, "read_probability": 0.9, "rssi_dbm": -61},
		         {"epc": "300833B2DDD9014000000002", "antenna": 2, "read_probability": 0.05, "rssi_dbm": -84, "cross_read": true}]}`
	sc, err := sim.ParseScenario([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Tags) != 2 || !sc.Tags[1].CrossRead || sc.Seed != 3 {
		t.Errorf("got %+v", sc)
	}
	if _, err := sim.NewR2000(sc); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.NewM6e(sc); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.ParseScenario([]byte(`{"tags": [{"epc": "3008", "antena": 2}]}`)); err == nil {
		t.Error("misspelt field: got nil, want an error")
	}
	if _, err := sim.ParseScenario([]byte(`{"tags": [{"epc": "3008", "antenna": 9}]}`)); err == nil {
		t.Error("antenna 9: got nil, want an error")
	}
}

func TestScenarioRejectsNonsense(t *testing.T) {
	for _, tag := range []sim.Tag{
		{EPC: "E28", Antenna: 1},
		{EPC: "zz", Antenna: 1},
		{EPC: "E2801160", Antenna: 5},
		{EPC: "E2801160", Antenna: 1, ReadProbability: 1.5},
	} {
		if _, err := sim.NewR2000(sim.Scenario{Tags: []sim.Tag{tag}}); err == nil {
			t.Errorf("tag %+v: got nil, want an error", tag)
		}
	}
	if _, err := sim.NewM6e(sim.Scenario{Firmware: "one"}); err == nil {
		t.Error("firmware \"one\": got nil, want an error")
	}
}

func TestGarbageIgnoredLikeAModule(t *testing.T) {
	s, err := sim.NewR2000(scenario(1))
	if err != nil {
		t.Fatal(err)
	}
	cmds := append([]byte{0x00, 0x13, 0xA0, 0x03}, r2000.AppendFrame(nil, 0xFF, r2000.CmdGetFirmware)...)
	out := exchange(t, s, cmds)
	f, err := r2000.NewDecoder(bytes.NewReader(out)).Next()
	if err != nil || f.Kind != r2000.KindVersion {
		t.Errorf("got %v %v, want the version reply after the garbage", f.Kind, err)
	}
}

// Tags laid on a reader while it serves are heard from the next round; a write lands on the tag
// and Tags shows it, which is how a test carries an encoded tag from the desk to a cabinet.
func TestSetTagsAndWrittenEPC(t *testing.T) {
	s, err := sim.NewR2000(sim.Scenario{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTags([]sim.Tag{{EPC: "XYZ", Antenna: 1}}); err == nil {
		t.Fatal("SetTags accepted a tag with EPC XYZ, want an error")
	}
	if err := s.SetTags([]sim.Tag{{EPC: "e2801160600002aa00000009", Antenna: 1}}); err != nil {
		t.Fatal(err)
	}
	if out := exchange(t, s, rounds(1)); !bytes.Contains(out, []byte{0xE2, 0x80, 0x11, 0x60, 0x60, 0x00, 0x02, 0xAA, 0, 0, 0, 9}) {
		t.Fatalf("a round after SetTags did not report the tag: % X", out)
	}
	epc := []byte{0x2C, 0x20, 0x25, 0xE1, 0xD8, 0xAE, 0x38, 0, 0, 0, 0, 0x30}
	pc := uint16(len(epc)/2) << 11
	write := append([]byte{0, 0, 0, 0, 1, 1, byte(1 + len(epc)/2), byte(pc >> 8), byte(pc)}, epc...)
	exchange(t, s, r2000.AppendFrame(nil, 0xFF, r2000.CmdWrite, write...))
	got := s.Tags()
	if len(got) != 1 || got[0].EPC != "2C2025E1D8AE380000000030" || got[0].Antenna != 1 {
		t.Fatalf("Tags after a write: got %+v, want the one tag with EPC 2C2025E1D8AE380000000030", got)
	}
}
