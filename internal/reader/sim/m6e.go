package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/m6e"
)

// M6e simulates a ThingMagic M6e module with four antenna ports.
type M6e struct {
	*device
	region   byte
	protocol uint16
	power    int16
	antennas []int
	reading  bool
	cycle    time.Duration
	meta     uint16
	lastKA   time.Time
	out      []byte
}

// NewM6e builds a simulator from a scenario.
func NewM6e(s Scenario) (*M6e, error) {
	d, err := newDevice(s)
	if err != nil {
		return nil, err
	}
	return &M6e{device: d, region: m6e.RegionNA, power: 2700, antennas: []int{1}}, nil
}

// Serve answers commands read from rw, and streams tag records while continuous reading is on,
// until rw fails or ctx ends.
func (s *M6e) Serve(ctx context.Context, rw io.ReadWriter) error {
	stop := ownRW(ctx, rw)
	defer stop()
	cmds := make(chan m6e.Frame, 16)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	defer func() {
		close(quit)
		// The command reader ends when rw fails; closing rw makes sure it does.
		if c, ok := rw.(io.Closer); ok {
			c.Close()
		}
		<-readErr
	}()
	go func() {
		dec := m6e.NewCommandDecoder(rw)
		for {
			f, err := dec.Next()
			var de *reader.DecodeError
			switch {
			case errors.As(err, &de), errors.Is(err, reader.ErrIdle):
				continue
			case err != nil:
				readErr <- err
				return
			}
			select {
			case cmds <- f.Clone():
			case <-quit:
				readErr <- nil
				return
			}
		}
	}()
	var tick *time.Ticker
	var tickC <-chan time.Time
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			readErr <- err // for the deferred wait
			return serveEnd(ctx, err)
		case f := <-cmds:
			if s.isSilent() {
				continue
			}
			s.out = s.out[:0]
			was := s.reading
			s.answer(f.Opcode, f.Data)
			if s.reading && !was {
				tick = time.NewTicker(s.cycle)
				tickC = tick.C
				s.lastKA = time.Now()
			} else if !s.reading && tick != nil {
				tick.Stop()
				tick, tickC = nil, nil
			}
			if err := s.flush(ctx, rw); err != nil {
				return err
			}
		case <-tickC:
			if s.isSilent() {
				continue
			}
			s.out = s.out[:0]
			s.readCycle()
			if err := s.flush(ctx, rw); err != nil {
				return err
			}
		}
	}
}

func (s *M6e) flush(ctx context.Context, w io.Writer) error {
	if len(s.out) == 0 {
		return nil
	}
	if _, err := writeAll(ctx, w, s.noisy(s.out, m6e.Sync)); err != nil {
		return serveEnd(ctx, err)
	}
	return nil
}

func (s *M6e) reply(op byte, status uint16, data ...byte) {
	s.out = m6e.AppendResponse(s.out, op, status, data...)
}

func (s *M6e) answer(op byte, data []byte) {
	switch op {
	case m6e.OpVersion:
		s.reply(op, m6e.StatusOK, 0x14, 0x12, 0x08, 0x00, 0x30, 0x00, 0x00, 0x02, 0x20, 0x26, 0x01, 0x15,
			s.major, s.minor, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10)
	case m6e.OpSetRegion:
		switch {
		case len(data) != 1:
			s.reply(op, 0x0100)
		case knownRegion(data[0]):
			s.region = data[0]
			s.reply(op, m6e.StatusOK)
		default:
			s.reply(op, 0x010B)
		}
	case m6e.OpGetRegion:
		s.reply(op, m6e.StatusOK, s.region)
	case m6e.OpSetProtocol:
		if len(data) != 2 || binary.BigEndian.Uint16(data) != m6e.ProtocolGen2 {
			s.reply(op, 0x0402)
			return
		}
		s.protocol = m6e.ProtocolGen2
		s.reply(op, m6e.StatusOK)
	case m6e.OpSetReadPower:
		if len(data) != 2 {
			s.reply(op, 0x0100)
			return
		}
		p := int16(binary.BigEndian.Uint16(data))
		if p > 3000 {
			s.reply(op, 0x0103)
			return
		}
		s.power = p
		s.reply(op, m6e.StatusOK)
	case m6e.OpGetReadPower:
		s.reply(op, m6e.StatusOK, 0x00, byte(uint16(s.power)>>8), byte(s.power))
	case m6e.OpSetAntenna:
		var list []int
		switch {
		case len(data) == 2:
			list = []int{int(data[0])}
		case len(data) >= 3 && data[0] == 0x02 && len(data)%2 == 1:
			for i := 1; i < len(data); i += 2 {
				list = append(list, int(data[i]))
			}
		default:
			s.reply(op, 0x0100)
			return
		}
		for _, a := range list {
			if a < 1 || a > 4 {
				s.reply(op, 0x0105)
				return
			}
		}
		s.antennas = list
		s.reply(op, m6e.StatusOK)
	case m6e.OpSetGen2Param:
		s.reply(op, m6e.StatusOK)
	case m6e.OpMultiProtocol:
		switch {
		case len(data) >= 3 && data[2] == 0x02:
			s.reading = false
			s.reply(op, m6e.StatusOK, 0x00, 0x00, 0x02)
		case len(data) >= 16 && data[2] == 0x01 && data[3] == m6e.OpReadMultiple:
			if s.protocol != m6e.ProtocolGen2 {
				s.reply(op, 0x0401)
				return
			}
			s.cycle = time.Duration(binary.BigEndian.Uint16(data[12:14])) * time.Millisecond
			if s.cycle <= 0 {
				s.cycle = time.Second
			}
			s.meta = binary.BigEndian.Uint16(data[14:16])
			if s.meta&^m6e.MetaKnown != 0 {
				s.reply(op, 0x0105) // a flag we cannot lay out: refuse, as the module refuses unsupported options
				return
			}
			s.reading = true
			s.reply(op, m6e.StatusOK, 0x00, 0x00, 0x01)
		default:
			s.reply(op, 0x0105)
		}
	case m6e.OpWriteTagID:
		if len(data) < 5 || (len(data)-3)%2 != 0 {
			s.reply(op, 0x0100)
			return
		}
		ant := s.antennas[0]
		if s.antennaMissing(ant) {
			s.reply(op, m6e.StatusNoAntenna, byte(ant))
			return
		}
		if _, ok := s.rewrite(ant, data[3:]); !ok {
			s.reply(op, m6e.StatusNoTags)
			return
		}
		s.reply(op, m6e.StatusOK)
	default:
		s.reply(op, 0x0101)
	}
}

func knownRegion(r byte) bool {
	switch r {
	case m6e.RegionNA, m6e.RegionIN, m6e.RegionJP, m6e.RegionPRC, m6e.RegionEU3, m6e.RegionKR2,
		m6e.RegionAU, m6e.RegionNZ, m6e.RegionNA2, m6e.RegionNA3, m6e.RegionOpen:
		return true
	}
	return false
}

// readCycle emits one read cycle: records for the tags that answer on each antenna of the search
// list (or 0x0503 for a missing antenna), then the keep-alive that closes the cycle.
func (s *M6e) readCycle() {
	for _, ant := range s.antennas {
		if s.antennaMissing(ant) {
			s.reply(m6e.OpReadMultiple, m6e.StatusNoAntenna, byte(ant))
			continue
		}
		for i, r := range s.round(ant) {
			s.out = m6e.AppendTagRecord(s.out, m6e.TagMeta{Flags: s.meta, ReadCount: 1, RSSIDBm: r.rssi, Antenna: ant,
				FrequencyKHz: 920625 + 250*(i%16), TimestampMS: uint32(time.Since(s.lastKA).Milliseconds())}, r.epc)
		}
	}
	s.reply(m6e.OpReadMultiple, m6e.StatusNoTags)
	s.lastKA = time.Now()
}

// FloodM6e writes continuous-read tag records to w at bytesPerSecond until ctx ends or n records
// are sent (n = 0: no limit); each EPC carries its sequence number in its last 8 bytes.
func FloodM6e(ctx context.Context, w io.Writer, bytesPerSecond int, n uint64) (uint64, error) {
	return flood(ctx, w, bytesPerSecond, n, func(dst []byte, seq uint64) []byte {
		var epc [12]byte
		binary.BigEndian.PutUint32(epc[0:4], 0xE2003412)
		binary.BigEndian.PutUint64(epc[4:12], seq)
		return m6e.AppendTagRecord(dst, m6e.TagMeta{Flags: m6e.DefaultMetadata, ReadCount: 1, RSSIDBm: -58,
			Antenna: int(seq%4) + 1, FrequencyKHz: 920625, TimestampMS: uint32(seq)}, epc[:])
	})
}
