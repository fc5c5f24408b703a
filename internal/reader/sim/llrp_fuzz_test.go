package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
)

type pipeRW struct {
	in  io.Reader
	out bytes.Buffer
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.out.Write(b) }

// FuzzLLRPSimulator feeds whatever a client may send to the LLRP simulator: it must not crash, and
// everything it answers must be well-formed LLRP.
func FuzzLLRPSimulator(f *testing.F) {
	var w llrp.Builder
	llrp.SetConfig(&w, 1, llrp.ReaderConfig{ResetToFactoryDefault: true, Events: []uint16{llrp.EventROSpec}})
	llrp.GetCapabilities(&w, 2, 0)
	llrp.GetAntennaProperties(&w, 3)
	llrp.AddSpec(&w, 4, llrp.ROSpec{ID: 1, Antennas: []int{1, 2, 3, 4}, Session: 1})
	llrp.Simple(&w, llrp.EnableROSpec, 5, 1)
	llrp.Simple(&w, llrp.StartROSpec, 6, 1)
	llrp.Simple(&w, llrp.DeleteROSpec, 7, 0)
	llrp.Empty(&w, llrp.CloseConnection, 8)
	f.Add(bytes.Clone(w.Bytes()), false)
	f.Add(bytes.Clone(w.Bytes()), true)
	f.Add([]byte{0x04, 0x14, 0, 0, 0, 0x0E, 0, 0, 0, 1, 0, 0xB1, 0, 4}, false)
	sc := Scenario{Seed: 1, Tags: []Tag{{EPC: "E2801160600002AA00000001", Antenna: 1}, {EPC: "3034257BF7194E4000001A85AABB", Antenna: 2}}}
	f.Fuzz(func(t *testing.T, data []byte, custom bool) {
		s, _ := NewLLRP(sc)
		s.SetCustom(custom)
		rw := &pipeRW{in: bytes.NewReader(data)}
		if err := s.Serve(context.Background(), rw); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		next := llrp.RecordStream(bytes.NewReader(rw.out.Bytes()))
		for {
			_, err := next()
			if errors.Is(err, io.EOF) {
				return
			}
			var de *reader.DecodeError
			if errors.As(err, &de) || err != nil {
				t.Fatalf("the simulator answered something malformed: %v", err)
			}
		}
	})
}
