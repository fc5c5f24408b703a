package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/llrp"
)

// LLRPAntennas is the antenna count the simulated LLRP reader reports (as a four-port Impinj
// Speedway does).
const LLRPAntennas = 4

// LLRP simulates a networked fixed reader speaking LLRP 1.0.1 on one TCP connection at a time:
// it greets a client with a ConnectionAttemptEvent (refusing a second client while one is
// connected, as readers do), answers capabilities, configuration and ROSpec requests, runs each
// started ROSpec as one pass per antenna of its AISpec, reports the tags in one RO_ACCESS_REPORT
// and announces the ROSpec's end, and sends KEEPALIVEs at the period the client asked for.
//
// Faults besides the shared ones (antenna missing: AntennaProperties says not connected; silent:
// nothing is answered): DropMidReport cuts the connection in the middle of the next report;
// Refuse makes the next ADD_ROSPEC answer with an error LLRPStatus; Custom puts vendor custom
// parameters in every report and a CUSTOM_MESSAGE before it, which a client must skip.
type LLRP struct {
	*device
	active atomic.Bool // a client is connected

	fmu     sync.Mutex
	drop    bool
	refuse  llrp.StatusCode
	custom  bool
	reports atomic.Int64
	acks    atomic.Int64
	last    llrp.ROSpec // the last ROSpec added, under fmu
}

// LastSpec is the last ROSpec a client added: the antennas, trigger, session and target it asked for.
func (s *LLRP) LastSpec() llrp.ROSpec {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.last
}

// NewLLRP builds a simulator from a scenario.
func NewLLRP(s Scenario) (*LLRP, error) {
	d, err := newDevice(s)
	if err != nil {
		return nil, err
	}
	return &LLRP{device: d}, nil
}

// DropMidReport makes the simulator close the connection halfway through its next report.
func (s *LLRP) DropMidReport() { s.fmu.Lock(); s.drop = true; s.fmu.Unlock() }

// Refuse makes the next ADD_ROSPEC answer with code (0 clears it).
func (s *LLRP) Refuse(code llrp.StatusCode) { s.fmu.Lock(); s.refuse = code; s.fmu.Unlock() }

// SetCustom switches vendor custom parameters in reports on or off.
func (s *LLRP) SetCustom(on bool) { s.fmu.Lock(); s.custom = on; s.fmu.Unlock() }

// KeepaliveAcks counts the KEEPALIVE_ACKs received.
func (s *LLRP) KeepaliveAcks() int64 { return s.acks.Load() }

// Reports counts the RO_ACCESS_REPORTs sent whole.
func (s *LLRP) Reports() int64 { return s.reports.Load() }

// ServeListener accepts connections on ln and serves each until ctx ends; it closes ln then.
func ServeListener(ctx context.Context, ln net.Listener, serve func(context.Context, io.ReadWriter) error) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(ctx, c)
		}()
	}
}

// session is one client connection.
type session struct {
	s       *LLRP
	rw      io.ReadWriter
	wmu     sync.Mutex
	w       llrp.Builder
	id      uint32
	specs   map[uint32]llrp.ROSpec
	enabled map[uint32]bool
}

func (ss *session) send(build func(w *llrp.Builder, id uint32)) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.id++
	ss.w.Reset()
	build(&ss.w, ss.id)
	_, err := ss.rw.Write(ss.w.Bytes())
	return err
}

func nowMicros() uint64 { return uint64(time.Now().UnixMicro()) }

// Serve runs one client connection until it closes, the client says goodbye, or ctx ends. rw is
// closed on return when it is an io.Closer.
func (s *LLRP) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := ownRW(ctx, rw)
	defer stop()
	defer func() {
		if c, ok := rw.(io.Closer); ok {
			c.Close()
		}
	}()
	ss := &session{s: s, rw: rw, specs: map[uint32]llrp.ROSpec{}, enabled: map[uint32]bool{}}
	if !s.active.CompareAndSwap(false, true) {
		// §13.2.6.2: a reader with a client refuses another with status 2 and closes.
		ss.send(func(w *llrp.Builder, id uint32) {
			llrp.Notification(w, id, llrp.Event{TimeUTC: nowMicros(), HasConnection: true, Connection: llrp.ConnectionClientInitiatedExists})
		})
		return nil
	}
	defer s.active.Store(false)
	if err := ss.send(func(w *llrp.Builder, id uint32) {
		llrp.Notification(w, id, llrp.Event{TimeUTC: nowMicros(), HasConnection: true, Connection: llrp.ConnectionSuccess})
	}); err != nil {
		return serveEnd(ctx, err)
	}
	var keepalive sync.WaitGroup
	defer keepalive.Wait()
	defer cancel()
	var kaStop context.CancelFunc = func() {}
	defer func() { kaStop() }()
	dec := llrp.NewDecoder(rw)
	for {
		m, err := dec.Next()
		var de *reader.DecodeError
		switch {
		case errors.As(err, &de), errors.Is(err, reader.ErrIdle):
			continue
		case err != nil:
			return serveEnd(ctx, err)
		}
		if s.isSilent() {
			continue
		}
		switch m.Type {
		case llrp.SetReaderConfig:
			period := keepalivePeriod(m.Body)
			kaStop()
			if period > 0 {
				kctx, kcancel := context.WithCancel(ctx)
				kaStop = kcancel
				keepalive.Add(1)
				go func() {
					defer keepalive.Done()
					t := time.NewTicker(period)
					defer t.Stop()
					for {
						select {
						case <-kctx.Done():
							return
						case <-t.C:
							if s.isSilent() {
								continue
							}
							if ss.send(func(w *llrp.Builder, id uint32) { llrp.Empty(w, llrp.Keepalive, id) }) != nil {
								return
							}
						}
					}
				}()
			}
			err = ss.reply(llrp.SetReaderConfigResponse, m.ID, llrp.StatusSuccess, "")
		case llrp.CloseConnection:
			ss.reply(llrp.CloseConnectionResponse, m.ID, llrp.StatusSuccess, "")
			return nil
		default:
			var gone bool
			gone, err = ss.answer(m)
			if gone {
				return nil
			}
		}
		if err != nil {
			return serveEnd(ctx, err)
		}
	}
}

// keepalivePeriod reads the KeepaliveSpec of a SET_READER_CONFIG body (after its flag byte).
func keepalivePeriod(body []byte) time.Duration {
	if len(body) < 1 {
		return 0
	}
	p, ok, err := llrp.Find(body[1:], llrp.ParamKeepaliveSpec)
	if err != nil || !ok || len(p.Value) < 5 || p.Value[0] != 1 {
		return 0
	}
	ms := uint32(p.Value[1])<<24 | uint32(p.Value[2])<<16 | uint32(p.Value[3])<<8 | uint32(p.Value[4])
	return time.Duration(ms) * time.Millisecond
}

// reply answers request id with a status-only response; a response carries the request's ID.
func (ss *session) reply(t llrp.MessageType, id uint32, code llrp.StatusCode, desc string) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.w.Reset()
	llrp.Status(&ss.w, t, id, code, desc)
	_, err := ss.rw.Write(ss.w.Bytes())
	return err
}

func (ss *session) write(build func(w *llrp.Builder)) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.w.Reset()
	build(&ss.w)
	_, err := ss.rw.Write(ss.w.Bytes())
	return err
}

// answer handles one request; gone says the connection was dropped on purpose (a fault).
func (ss *session) answer(m llrp.Message) (gone bool, err error) {
	s := ss.s
	switch m.Type {
	case llrp.GetReaderCapabilities:
		var table []llrp.PowerLevel
		for i := range 21 {
			table = append(table, llrp.PowerLevel{Index: uint16(i + 1), DBm: float64(10 + i)})
		}
		return false, ss.write(func(w *llrp.Builder) {
			llrp.CapabilitiesResponse(w, m.ID, llrp.Capabilities{Antennas: LLRPAntennas, Manufacturer: 25882, Model: 2001002,
				Firmware: fmt.Sprintf("%d.%d.0-sim", s.major, s.minor), PowerTable: table, StateAware: true})
		})
	case llrp.GetReaderConfig:
		conn := make([]bool, LLRPAntennas)
		for i := range conn {
			conn[i] = !s.antennaMissing(i + 1)
		}
		return false, ss.write(func(w *llrp.Builder) { llrp.AntennaPropertiesResponse(w, m.ID, conn) })
	case llrp.AddROSpec:
		spec, err := llrp.ParseAddSpec(m.Body)
		if err != nil {
			return false, ss.reply(llrp.AddROSpecResponse, m.ID, llrp.StatusMParameterError, err.Error())
		}
		s.fmu.Lock()
		refuse := s.refuse
		s.refuse = 0
		s.fmu.Unlock()
		if refuse != 0 {
			return false, ss.reply(llrp.AddROSpecResponse, m.ID, refuse, "simulated refusal")
		}
		for _, a := range spec.Antennas {
			if a < 1 || a > LLRPAntennas {
				return false, ss.reply(llrp.AddROSpecResponse, m.ID, llrp.StatusAOutOfRange, fmt.Sprintf("antenna %d", a))
			}
		}
		if _, dup := ss.specs[spec.ID]; dup || spec.ID == 0 {
			return false, ss.reply(llrp.AddROSpecResponse, m.ID, llrp.StatusAInvalid, fmt.Sprintf("ROSpecID %d in use", spec.ID))
		}
		ss.specs[spec.ID] = spec
		s.fmu.Lock()
		s.last = spec
		s.fmu.Unlock()
		return false, ss.reply(llrp.AddROSpecResponse, m.ID, llrp.StatusSuccess, "")
	case llrp.EnableROSpec, llrp.DisableROSpec, llrp.StartROSpec, llrp.StopROSpec, llrp.DeleteROSpec:
		resp := m.Type + 10
		if len(m.Body) < 4 {
			return false, ss.reply(resp, m.ID, llrp.StatusMFieldError, "no ROSpecID")
		}
		id := uint32(m.Body[0])<<24 | uint32(m.Body[1])<<16 | uint32(m.Body[2])<<8 | uint32(m.Body[3])
		spec, ok := ss.specs[id]
		if !ok && !(id == 0 && (m.Type == llrp.DeleteROSpec || m.Type == llrp.DisableROSpec)) {
			return false, ss.reply(resp, m.ID, llrp.StatusAInvalid, fmt.Sprintf("no ROSpec %d", id))
		}
		switch m.Type {
		case llrp.EnableROSpec:
			ss.enabled[id] = true
		case llrp.DisableROSpec:
			ss.enabled[id] = false
		case llrp.DeleteROSpec:
			if id == 0 {
				clear(ss.specs)
			}
			delete(ss.specs, id)
		case llrp.StartROSpec:
			if !ss.enabled[id] {
				return false, ss.reply(resp, m.ID, llrp.StatusAInvalid, fmt.Sprintf("ROSpec %d is not enabled", id))
			}
			if err := ss.reply(resp, m.ID, llrp.StatusSuccess, ""); err != nil {
				return false, err
			}
			return ss.run(spec)
		}
		return false, ss.reply(resp, m.ID, llrp.StatusSuccess, "")
	case llrp.KeepaliveAck:
		s.acks.Add(1)
		return false, nil
	case llrp.CustomMessage:
		return false, nil
	}
	// §16.1.40: a message the reader does not support is answered with ERROR_MESSAGE.
	return false, ss.write(func(w *llrp.Builder) {
		w.Message(llrp.Version101, llrp.ErrorMessage, m.ID)
		llrp.StatusParam(w, llrp.StatusMUnsupportedMessage, "not supported by the simulator: "+m.Type.String())
		w.EndMessage()
	})
}

// run performs a started ROSpec: the start event, one pass per antenna, one report, the end event.
func (ss *session) run(spec llrp.ROSpec) (gone bool, err error) {
	s := ss.s
	if err := ss.send(func(w *llrp.Builder, id uint32) {
		llrp.Notification(w, id, llrp.Event{TimeUTC: nowMicros(), HasROSpec: true, ROSpecEvent: llrp.ROSpecStarted, ROSpecID: spec.ID})
	}); err != nil {
		return false, err
	}
	type seen struct {
		tag   llrp.Tag
		count int
	}
	var order []string
	byEPC := map[string]*seen{}
	for _, a := range spec.Antennas {
		if s.antennaMissing(a) {
			continue
		}
		for _, r := range s.round(a) {
			k := string(r.epc)
			if v, ok := byEPC[k]; ok {
				v.count++
				v.tag.PeakRSSI = max(v.tag.PeakRSSI, r.rssi)
				continue
			}
			byEPC[k] = &seen{tag: llrp.Tag{EPC: r.epc, Antenna: a, PeakRSSI: r.rssi, ChannelIndex: 1 + int(r.rssi&7), FirstSeenUTC: nowMicros(), ROSpecID: spec.ID,
				HasAntenna: true, HasRSSI: true, HasChannel: true, HasFirstSeen: true, HasSeenCount: true, HasROSpecID: true}, count: 1}
			order = append(order, k)
		}
	}
	s.fmu.Lock()
	drop, custom := s.drop, s.custom
	s.drop = false
	s.fmu.Unlock()
	if custom {
		// A vendor's own message (§16.1.41) in the middle of a round, as Impinj readers send
		// them: a client that does not know the vendor ignores it.
		if err := ss.send(func(w *llrp.Builder, id uint32) {
			w.Message(llrp.Version101, llrp.CustomMessage, id).U32(25882).U8(21).Raw([]byte{0, 0, 0, 0}).EndMessage()
		}); err != nil {
			return false, err
		}
	}
	ss.wmu.Lock()
	ss.id++
	ss.w.Reset()
	ss.w.Message(llrp.Version101, llrp.ROAccessReport, ss.id)
	for _, k := range order {
		v := byEPC[k]
		v.tag.SeenCount = v.count
		llrp.AppendTag(&ss.w, &v.tag, custom)
	}
	if custom {
		ss.w.Begin(llrp.ParamCustom).U32(25882).U32(1).Raw([]byte("sim")).End()
	}
	ss.w.EndMessage()
	out := ss.w.Bytes()
	if drop {
		_, err := ss.rw.Write(out[:len(out)/2])
		ss.wmu.Unlock()
		return true, err
	}
	_, err = ss.rw.Write(out)
	ss.wmu.Unlock()
	if err != nil {
		return false, err
	}
	s.reports.Add(1)
	return false, ss.send(func(w *llrp.Builder, id uint32) {
		llrp.Notification(w, id, llrp.Event{TimeUTC: nowMicros(), HasROSpec: true, ROSpecEvent: llrp.ROSpecEnded, ROSpecID: spec.ID})
	})
}
