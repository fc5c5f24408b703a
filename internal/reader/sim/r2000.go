package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/r2000"
)

// R2000 simulates an A0-protocol reader module with four antenna ports.
type R2000 struct {
	*device
	workAntenna int // from 1
	power       byte
	region      [3]byte
	out         []byte
}

// NewR2000 builds a simulator from a scenario.
func NewR2000(s Scenario) (*R2000, error) {
	d, err := newDevice(s)
	if err != nil {
		return nil, err
	}
	return &R2000{device: d, workAntenna: 1, power: 30, region: [3]byte{3, 43, 53}}, nil
}

// Serve answers commands read from rw until rw fails or ctx ends.
func (s *R2000) Serve(ctx context.Context, rw io.ReadWriter) error {
	stop := ownRW(ctx, rw)
	defer stop()
	dec := r2000.NewCommandDecoder(rw)
	for {
		f, err := dec.Next()
		var de *reader.DecodeError
		switch {
		case errors.As(err, &de), errors.Is(err, reader.ErrIdle):
			continue // a real module ignores what it cannot frame
		case err != nil:
			return serveEnd(ctx, err)
		}
		if s.isSilent() {
			continue
		}
		s.out = s.out[:0]
		s.answer(f.Addr, f.Cmd, f.Data)
		if len(s.out) > 0 {
			if _, err := writeAll(ctx, rw, s.noisy(s.out, r2000.Sync)); err != nil {
				return serveEnd(ctx, err)
			}
		}
	}
}

func (s *R2000) status(addr, cmd byte, code r2000.Status) {
	s.out = r2000.AppendFrame(s.out, addr, cmd, byte(code))
}

func (s *R2000) answer(addr, cmd byte, data []byte) {
	switch cmd {
	case r2000.CmdReset:
		// no reply, as the real module
	case r2000.CmdGetFirmware:
		s.out = r2000.AppendFrame(s.out, addr, cmd, s.major, s.minor)
	case r2000.CmdSetWorkAntenna:
		if len(data) != 1 || data[0] > 3 {
			s.status(addr, cmd, 0x47)
			return
		}
		s.workAntenna = int(data[0]) + 1
		s.status(addr, cmd, r2000.StatusSuccess)
	case r2000.CmdGetWorkAntenna:
		s.out = r2000.AppendFrame(s.out, addr, cmd, byte(s.workAntenna-1))
	case r2000.CmdSetPower:
		if len(data) < 1 || data[0] > 33 {
			s.status(addr, cmd, 0x48)
			return
		}
		s.power = data[0]
		s.status(addr, cmd, r2000.StatusSuccess)
	case r2000.CmdGetPower:
		s.out = r2000.AppendFrame(s.out, addr, cmd, s.power)
	case r2000.CmdSetRegion:
		if len(data) != 3 || data[0] < 1 || data[0] > 4 {
			s.status(addr, cmd, 0x49)
			return
		}
		copy(s.region[:], data)
		s.status(addr, cmd, r2000.StatusSuccess)
	case r2000.CmdGetRegion:
		s.out = r2000.AppendFrame(s.out, addr, cmd, s.region[:]...)
	case r2000.CmdRealtimeInv, r2000.CmdSessionInv:
		s.inventory(addr, cmd, s.workAntenna, true)
	case r2000.CmdFastSwitchInv:
		if len(data) != 10 {
			s.status(addr, cmd, 0x41)
			return
		}
		start := time.Now()
		total := 0
		for i := range 4 {
			ant := data[2*i]
			if ant > 3 {
				continue
			}
			if s.antennaMissing(int(ant) + 1) {
				s.out = r2000.AppendFrame(s.out, addr, cmd, ant, byte(r2000.StatusAntennaMissing))
				continue
			}
			total += s.inventory(addr, cmd, int(ant)+1, false)
		}
		ms := uint32(time.Since(start).Milliseconds())
		s.out = r2000.AppendFrame(s.out, addr, cmd, byte(total>>16), byte(total>>8), byte(total),
			byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms))
	case r2000.CmdWrite:
		s.write(addr, data)
	default:
		s.status(addr, cmd, r2000.StatusFail)
	}
}

// inventory emits tag reports for the antenna and, when summary is set, the 0x89/0x8B summary or
// the antenna-missing status. It returns the reads.
func (s *R2000) inventory(addr, cmd byte, antenna int, summary bool) int {
	if summary && s.antennaMissing(antenna) {
		s.status(addr, cmd, r2000.StatusAntennaMissing)
		return 0
	}
	reads := s.round(antenna)
	for i, r := range reads {
		freq := (7 + i*3) % 60 // hopping through the 902–928 MHz channels
		s.out = r2000.AppendTag(s.out, addr, cmd, antenna, freq, r.epc, r2000.RSSIRawFor(r.rssi))
	}
	if summary {
		var d [7]byte
		d[0] = byte(antenna - 1)
		binary.BigEndian.PutUint16(d[1:3], uint16(len(reads)*20))
		binary.BigEndian.PutUint32(d[3:7], uint32(len(reads)))
		s.out = r2000.AppendFrame(s.out, addr, cmd, d[:]...)
	}
	return len(reads)
}

// write handles 0x82: Password(4) MemBank WordAdd WordCnt Data. Only EPC-bank writes starting at
// the PC word (word 1) are simulated, which is what the encoding station does.
func (s *R2000) write(addr byte, data []byte) {
	if len(data) < 7 || len(data) != 7+2*int(data[6]) || data[4] != 1 || data[5] != 1 || data[6] < 2 {
		s.status(addr, r2000.CmdWrite, 0x41)
		return
	}
	words := data[7:]
	epc := words[2:]
	if s.antennaMissing(s.workAntenna) {
		s.status(addr, r2000.CmdWrite, r2000.StatusAntennaMissing)
		return
	}
	stored, ok := s.rewrite(s.workAntenna, epc)
	if !ok {
		s.status(addr, r2000.CmdWrite, r2000.StatusNoTag)
		return
	}
	// TagCount(2) DataLen(1) Data(PC EPC CRC) ErrCode AntID WriteCount
	body := append([]byte{0, 1, byte(len(stored) + 4), words[0], words[1]}, stored...)
	crc := gen2CRC(words)
	body = append(body, byte(crc>>8), byte(crc), byte(r2000.StatusSuccess), byte(s.workAntenna-1), 1)
	s.out = r2000.AppendFrame(s.out, addr, r2000.CmdWrite, body...)
}

// gen2CRC is the Gen2 CRC-16 (poly 0x1021, init 0xFFFF, output inverted) over PC+EPC.
func gen2CRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}

// FloodR2000 writes real-time tag reports to w at bytesPerSecond (a 115 200-baud 8N1 line carries
// 11 520) until ctx ends or n frames are sent (n = 0: no limit). Each EPC carries its sequence
// number (last 8 bytes, big-endian) so a receiver can count frames lost or corrupted. It returns
// the number of frames written.
func FloodR2000(ctx context.Context, w io.Writer, bytesPerSecond int, n uint64) (uint64, error) {
	return flood(ctx, w, bytesPerSecond, n, func(dst []byte, seq uint64) []byte {
		var epc [12]byte
		binary.BigEndian.PutUint32(epc[0:4], 0xE2801160)
		binary.BigEndian.PutUint64(epc[4:12], seq)
		return r2000.AppendTag(dst, 0x01, r2000.CmdRealtimeInv, int(seq%4)+1, int(seq%50), epc[:], 0x45)
	})
}

// flood paces frames made by frame at a byte rate, catching up every 5 ms as a UART would.
func flood(ctx context.Context, w io.Writer, bytesPerSecond int, n uint64, frame func([]byte, uint64) []byte) (uint64, error) {
	start := time.Now()
	var sent uint64
	var written int64
	buf := make([]byte, 0, 4096)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n == 0 || sent < n {
		owed := int64(time.Since(start).Seconds()*float64(bytesPerSecond)) - written
		buf = buf[:0]
		for (n == 0 || sent < n) && owed > 0 && len(buf) < 3500 {
			l := len(buf)
			buf = frame(buf, sent)
			owed -= int64(len(buf) - l)
			sent++
		}
		if len(buf) > 0 {
			m, err := writeAll(ctx, w, buf)
			written += int64(m)
			if err != nil {
				return sent, err
			}
		}
		select {
		case <-ctx.Done():
			return sent, nil
		case <-tick.C:
		}
	}
	return sent, nil
}

// deadliner is what a pty master (*os.File in Go's poller) offers to bound a write.
type deadliner interface{ SetWriteDeadline(time.Time) error }

// writeAll writes b completely. On a file with write deadlines it writes in bounded attempts and
// simply tries again after one times out: a write stalled on a full pty buffer then re-checks the
// room itself instead of depending on a single wake-up from the kernel. It gives up five seconds
// after ctx ends.
func writeAll(ctx context.Context, w io.Writer, b []byte) (int, error) {
	d, ok := w.(deadliner)
	if !ok {
		return w.Write(b)
	}
	defer d.SetWriteDeadline(time.Time{})
	var giveUp time.Time
	n := 0
	for n < len(b) {
		if err := d.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			return n, err
		}
		m, err := w.Write(b[n:])
		n += m
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				if giveUp.IsZero() {
					giveUp = time.Now().Add(5 * time.Second)
				} else if time.Now().After(giveUp) {
					return n, err
				}
			}
		default:
			return n, err
		}
	}
	return n, nil
}
