package sim_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/m6e"
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/serialport"
)

// lineRate is what a 115 200-baud 8N1 line carries: ten bits per byte.
const lineRate = 115200 / 10

type portResult struct {
	sent, received, lost, corrupted uint64
}

// streamPorts runs n simulated readers (alternating R2000 and M6e) flooding tag frames at line
// rate through real ptys for d; each port is opened with go.bug.st/serial (through serialport)
// and decoded by the family's codec. A frame counts as lost when its sequence number is skipped
// or never arrives, as corrupted when the decoder rejects bytes.
func streamPorts(tb testing.TB, n int, d time.Duration) []portResult {
	tb.Helper()
	results := make([]portResult, n)
	var wg sync.WaitGroup
	for i := range n {
		p, err := sim.OpenPTY()
		if err != nil {
			tb.Fatal(err)
		}
		defer p.Close()
		port, err := serialport.Open(serialport.Config{Role: "bench reader", Path: p.Path})
		if err != nil {
			tb.Fatal(err)
		}
		defer port.Close()
		if err := port.SetReadTimeout(100 * time.Millisecond); err != nil {
			tb.Fatal(err)
		}
		isR2000 := i%2 == 0
		sentC := make(chan uint64, 1)
		wg.Add(2)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			var sent uint64
			var err error
			if isR2000 {
				sent, err = sim.FloodR2000(ctx, p.Master, lineRate, 0)
			} else {
				sent, err = sim.FloodM6e(ctx, p.Master, lineRate, 0)
			}
			if err != nil {
				tb.Errorf("port %d: flood: %v", i, err)
			}
			sentC <- sent
		}()
		go func() {
			defer wg.Done()
			results[i] = receive(port, isR2000, sentC, d)
		}()
	}
	wg.Wait()
	return results
}

// receive decodes until every sent frame is in, or the line has been idle for a second after
// the sender finished.
func receive(port *serialport.Port, isR2000 bool, sentC <-chan uint64, d time.Duration) portResult {
	var res portResult
	var next func() (epc []byte, err error)
	if isR2000 {
		dec := r2000.NewDecoder(port)
		next = func() ([]byte, error) { f, err := dec.Next(); return f.EPC, err }
	} else {
		dec := m6e.NewDecoder(port)
		next = func() ([]byte, error) { f, err := dec.Next(); return f.EPC, err }
	}
	var want uint64
	sent := ^uint64(0)
	var idleSince time.Time
	// A guard, so a stalled line fails the test instead of hanging it.
	guard := time.Now().Add(d + 20*time.Second)
	for res.received+res.lost < sent {
		if time.Now().After(guard) {
			res.lost++
			return res
		}
		select {
		case sent = <-sentC:
			res.sent = sent
		default:
		}
		epc, err := next()
		var de *reader.DecodeError
		switch {
		case errors.Is(err, reader.ErrIdle):
			if sent != ^uint64(0) {
				if idleSince.IsZero() {
					idleSince = time.Now()
				} else if time.Since(idleSince) > time.Second {
					res.lost += sent - want
					return res
				}
			}
			continue
		case errors.As(err, &de):
			res.corrupted++
			continue
		case err != nil:
			res.lost += sent - want
			return res
		}
		idleSince = time.Time{}
		if len(epc) != 12 {
			res.corrupted++
			continue
		}
		seq := binary.BigEndian.Uint64(epc[4:])
		if seq < want {
			res.corrupted++ // a duplicate or a garbled sequence number
			continue
		}
		res.lost += seq - want
		want = seq + 1
		res.received++
	}
	return res
}

func TestEightPortsLoseNothing(t *testing.T) {
	d := 2 * time.Second
	res := streamPorts(t, 8, d)
	for i, r := range res {
		if r.lost != 0 || r.corrupted != 0 {
			t.Errorf("port %d: got %d lost, %d corrupted of %d sent; want 0", i, r.lost, r.corrupted, r.sent)
		}
		// At line rate a 21-byte R2000 report goes 548 times a second, a 42-byte M6e record 274.
		frame := 21
		if i%2 == 1 {
			frame = 42
		}
		if want := uint64(float64(lineRate) / float64(frame) * d.Seconds() * 0.9); r.received < want {
			t.Errorf("port %d: got %d frames in %v, want at least %d (line rate)", i, r.received, d, want)
		}
	}
}

// BenchmarkSerial8Ports streams eight simulated readers at full line rate for 30 s per
// iteration and reports the frames lost or corrupted (must be 0).
//
// What limits it: the machine — pseudo-terminal throughput and scheduling (eight simulators and
// eight decoders share the cores), which sets serial_8ports_frames_per_s; the code — the decoder's
// resynchronisation, which must keep serial_8ports_lost_frames at 0 whatever the machine.
func BenchmarkSerial8Ports(b *testing.B) {
	var lost, total uint64
	for b.Loop() {
		for _, r := range streamPorts(b, 8, 30*time.Second) {
			lost += r.lost + r.corrupted
			total += r.received
		}
	}
	b.ReportMetric(float64(lost), "serial_8ports_lost_frames")
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "serial_8ports_frames_per_s")
}
