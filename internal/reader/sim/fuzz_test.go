package sim

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/custodyhq/custody/internal/reader/m6e"
	"github.com/custodyhq/custody/internal/reader/r2000"
)

// The simulators face whatever a host sends; no command may crash them, and every answer must be
// a well-formed frame.
func FuzzSimulatorCommands(f *testing.F) {
	f.Add(r2000.AppendFrame(nil, 0xFF, r2000.CmdWrite, 0, 0, 0, 0, 1, 1, 3, 0x10, 0, 1, 2, 3, 4))
	f.Add(r2000.AppendFrame(nil, 0xFF, r2000.CmdFastSwitchInv, 0, 1, 1, 1, 9, 1, 3, 1, 0, 1))
	f.Add(m6e.AppendCommand(nil, m6e.OpMultiProtocol, 0, 0, 1, 0x22, 0, 0, 5, 7, 0x22, 0x10, 0, 0x1B, 0, 10, 0x01, 0xFF))
	f.Add(m6e.AppendCommand(nil, m6e.OpSetAntenna, 2, 1, 1, 4, 4))
	f.Add(m6e.AppendCommand(nil, m6e.OpWriteTagID, 0, 100, 0, 0xAB, 0xCD))
	sc := Scenario{Seed: 1, Tags: []Tag{{EPC: "E2801160600002AA00000001", Antenna: 1}, {EPC: "E2801160600002AA00000002", Antenna: 4, ReadProbability: 0.5}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _ := NewR2000(sc)
		ms, _ := NewM6e(sc)
		ms.protocol = m6e.ProtocolGen2
		rd := r2000.NewCommandDecoder(bytes.NewReader(data))
		for {
			c, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			rs.out = rs.out[:0]
			rs.answer(c.Addr, c.Cmd, c.Data)
			checkAll(t, r2000.NewDecoder(bytes.NewReader(rs.out)))
		}
		md := m6e.NewCommandDecoder(bytes.NewReader(data))
		for {
			c, err := md.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			ms.out = ms.out[:0]
			ms.answer(c.Opcode, c.Data)
			if ms.reading {
				ms.readCycle()
			}
			checkAll(t, m6e.NewDecoder(bytes.NewReader(ms.out)))
		}
	})
}

func checkAll[F any](t *testing.T, d interface{ Next() (F, error) }) {
	t.Helper()
	for {
		_, err := d.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("simulator answered with a bad frame: %v", err)
		}
	}
}
