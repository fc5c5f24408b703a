package llrp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/reader"
)

func init() {
	reader.Register("llrp", func(rw io.ReadWriter, cfg reader.Config) (reader.Driver, error) {
		return New(rw, cfg, Options{Duration: cfg.RoundTime}), nil
	})
}

// Sentinels for the conditions of an LLRP session an operator acts on.
var (
	// ErrConnectionRefused: the reader's ConnectionAttemptEvent was not Success — it already
	// serves another client.
	ErrConnectionRefused = errors.New("reader refused the LLRP connection")
	// ErrNotLLRP: the peer did not greet with a READER_EVENT_NOTIFICATION: not an LLRP reader, or
	// a port of something else.
	ErrNotLLRP = errors.New("no LLRP greeting (READER_EVENT_NOTIFICATION) from the peer")
	// ErrClosedByReader: the reader announced a ConnectionCloseEvent.
	ErrClosedByReader = errors.New("the reader closed the LLRP connection")
)

// Options shape the rounds; zero fields take the defaults.
type Options struct {
	// Duration stops each AISpec after this time; 0 (the default) uses a tag-observation trigger
	// instead: stop once no new tag has been seen for Quiet, or at Timeout.
	Duration time.Duration
	Quiet    time.Duration // default 300 ms
	Timeout  time.Duration // default 3 s
	// Keepalive is the period of the reader's KEEPALIVEs; default 10 s.
	Keepalive time.Duration
}

func (o Options) withDefaults() Options {
	if o.Quiet <= 0 {
		o.Quiet = 300 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 10 * time.Second
	}
	return o
}

// Driver runs one LLRP reader over one connection. Requests are serialised.
type Driver struct {
	cfg  reader.Config
	opts Options
	link *reader.Link[Message]

	mu      sync.Mutex // one exchange or round at a time; guards the fields below
	w       Builder
	id      uint32
	spec    uint32
	ready   bool // handshake done
	caps    Capabilities
	pending []Message // messages received while waiting for a response, for the round to see
}

var _ reader.Driver = (*Driver)(nil)

// New returns a driver over rw (a TCP connection to the reader's port 5084). It takes ownership
// of rw and does no I/O.
func New(rw io.ReadWriter, cfg reader.Config, opts Options) *Driver {
	cfg = cfg.WithDefaults()
	d := &Driver{cfg: cfg, opts: opts.withDefaults()}
	dec := NewDecoder(rw)
	var ack Builder
	var ackMu sync.Mutex
	next := func() (Message, error) {
		for {
			m, err := dec.Next()
			if err != nil {
				return Message{}, err
			}
			if m.Type == Keepalive {
				// Acknowledged here, whatever the driver is doing, so a reader that watches its
				// keepalives (LLRP 1.1 §13.2.2) never drops an idle agent (§16.1.37).
				ackMu.Lock()
				ack.Reset()
				w := ack.Message(Version101, KeepaliveAck, m.ID).EndMessage().Bytes()
				err := d.link.Write(w)
				ackMu.Unlock()
				if err != nil {
					return Message{}, err
				}
				continue
			}
			return m.Clone(), nil
		}
	}
	d.link = reader.NewLink(rw, cfg.Logger.With("reader", cfg.ID, "protocol", "llrp"), next)
	return d
}

// Close releases the connection; idempotent. It says goodbye only implicitly: a reader treats a
// closed socket as the end of the session.
func (d *Driver) Close() error { return d.link.Close() }

func (d *Driver) errorf(op string, err error) error {
	return fmt.Errorf("reader %s: llrp: %s: %w", d.cfg.ID, op, err)
}

// recv returns the next message: one set aside while waiting for a response first.
func (d *Driver) recv(ctx context.Context, timeout time.Duration) (Message, error) {
	if len(d.pending) > 0 {
		m := d.pending[0]
		d.pending = d.pending[1:]
		return m, nil
	}
	return d.link.Recv(ctx, timeout)
}

// exchange sends the message built by build under a fresh ID and waits for the response of type
// resp with that ID. A non-success LLRPStatus, or an ERROR_MESSAGE with the ID, is a
// *StatusError. Anything else that arrives meanwhile (reports, events) is kept for the round.
func (d *Driver) exchange(ctx context.Context, resp MessageType, build func(w *Builder, id uint32)) (Message, error) {
	d.id++
	id := d.id
	d.w.Reset()
	build(&d.w, id)
	if err := d.link.Write(d.w.Bytes()); err != nil {
		return Message{}, err
	}
	deadline := time.Now().Add(d.cfg.Timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return Message{}, reader.ErrTimeout
		}
		m, err := d.link.Recv(ctx, left)
		if err != nil {
			return Message{}, err
		}
		switch {
		case m.Type == resp && m.ID == id:
			if err := ParseStatus(m.Type, m.Body); err != nil {
				return m, err
			}
			return m, nil
		case m.Type == ErrorMessage:
			// ERROR_MESSAGE answers a message the reader could not take at all (§16.1.40).
			if err := ParseStatus(m.Type, m.Body); err != nil {
				return m, err
			}
		case m.Type == ROAccessReport || m.Type == ReaderEventNotification:
			d.pending = append(d.pending, m)
		default:
			d.cfg.Logger.Debug("llrp message dropped while waiting", "reader", d.cfg.ID, "want", resp, "got", m.Type, "id", m.ID)
		}
	}
}

// handshake waits for the reader's greeting and configures it, once per connection (§13.2.6.2:
// the reader sends a READER_EVENT_NOTIFICATION with a ConnectionAttemptEvent when a client
// connects; a client must not send before it). Called with mu held.
func (d *Driver) handshake(ctx context.Context) error {
	if d.ready {
		return nil
	}
	deadline := time.Now().Add(max(d.cfg.Timeout, 2*time.Second))
	for {
		m, err := d.link.Recv(ctx, time.Until(deadline))
		if errors.Is(err, reader.ErrTimeout) {
			return d.errorf("connect", ErrNotLLRP)
		}
		if err != nil {
			return d.errorf("connect", err)
		}
		if m.Type != ReaderEventNotification {
			continue
		}
		e, err := ParseEvent(m.Body)
		if err != nil {
			return d.errorf("connect", err)
		}
		if !e.HasConnection {
			continue
		}
		if e.Connection != ConnectionSuccess {
			return d.errorf("connect", fmt.Errorf("%w: %s (%s)", ErrConnectionRefused, e.Connection.English(), e.Connection.Chinese()))
		}
		break
	}
	m, err := d.exchange(ctx, GetReaderCapabilitiesResponse, func(w *Builder, id uint32) { GetCapabilities(w, id, CapabilitiesAll) })
	if err != nil {
		return d.errorf("GET_READER_CAPABILITIES", err)
	}
	caps, err := ParseCapabilities(m.Body)
	if err != nil {
		return d.errorf("GET_READER_CAPABILITIES", err)
	}
	if caps.Antennas < 1 {
		return d.errorf("GET_READER_CAPABILITIES", fmt.Errorf("reader reports %d antennas", caps.Antennas))
	}
	cfg := ReaderConfig{ResetToFactoryDefault: true, Events: []uint16{EventROSpec, EventReaderException, EventAntenna}, Keepalive: d.opts.Keepalive}
	if _, err := d.exchange(ctx, SetReaderConfigResponse, func(w *Builder, id uint32) { SetConfig(w, id, cfg) }); err != nil {
		return d.errorf("SET_READER_CONFIG", err)
	}
	d.caps, d.ready = caps, true
	d.pending = d.pending[:0]
	d.cfg.Logger.Info("llrp session ready", "reader", d.cfg.ID, "antennas", caps.Antennas, "firmware", caps.Firmware, "manufacturer", caps.Manufacturer)
	return nil
}

var vendors = map[uint32]string{25882: "Impinj", 161: "Zebra"}

// Info completes the handshake on first use and afterwards asks for the general capabilities,
// so a dead connection is noticed by the agent's idle probe.
func (d *Driver) Info(ctx context.Context) (reader.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ready {
		if err := d.handshake(ctx); err != nil {
			return reader.Info{}, err
		}
	} else if _, err := d.exchange(ctx, GetReaderCapabilitiesResponse, func(w *Builder, id uint32) { GetCapabilities(w, id, CapabilitiesGeneral) }); err != nil {
		return reader.Info{}, d.errorf("GET_READER_CAPABILITIES", err)
	}
	vendor, ok := vendors[d.caps.Manufacturer]
	if !ok {
		vendor = fmt.Sprintf("vendor %d", d.caps.Manufacturer)
	}
	return reader.Info{Model: fmt.Sprintf("LLRP %s model %d", vendor, d.caps.Model), Firmware: d.caps.Firmware, Antennas: d.caps.Antennas}, nil
}

// Inventory runs the plan's rounds, one ROSpec each (see the package comment). An antenna the
// reader says is not connected gives a Fault with reader.ErrAntennaMissing and marks the round
// incomplete. Cancelling ctx stops the running ROSpec and deletes it.
func (d *Driver) Inventory(ctx context.Context, plan reader.Plan, emit func(reader.Event)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.handshake(ctx); err != nil {
		return err
	}
	if err := plan.Validate(d.caps.Antennas); err != nil {
		return d.errorf("inventory", err)
	}
	var power uint16
	if plan.PowerDBm > 0 {
		power, _ = d.caps.PowerIndex(plan.PowerDBm)
	}
	for round := 1; plan.Rounds == 0 || round <= plan.Rounds; round++ {
		if ctx.Err() != nil {
			return nil
		}
		if err := d.round(ctx, round, plan, power, emit); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (d *Driver) round(ctx context.Context, round int, plan reader.Plan, power uint16, emit func(reader.Event)) error {
	start := time.Now()
	end := reader.RoundEnd{Round: round, Antennas: plan.Antennas}
	missing := func(a int, why string) {
		if slices.Contains(end.Missing, a) {
			return
		}
		end.Missing = append(end.Missing, a)
		end.Incomplete = true
		emit(reader.Fault{Antenna: a, Message: why, Err: reader.ErrAntennaMissing})
	}
	m, err := d.exchange(ctx, GetReaderConfigResponse, GetAntennaProperties)
	if err != nil {
		return d.errorf("antenna properties", err)
	}
	connected, err := ParseAntennaProperties(m.Body)
	if err != nil {
		return d.errorf("antenna properties", err)
	}
	var ants []int
	for _, a := range plan.Antennas {
		if c, said := connected[a]; said && !c {
			missing(a, "antenna missing")
			continue
		}
		ants = append(ants, a)
	}
	if len(ants) > 0 {
		d.spec++
		spec := ROSpec{ID: d.spec, Antennas: ants, Duration: d.opts.Duration, Quiet: d.opts.Quiet, Timeout: d.opts.Timeout,
			Session: plan.Session, TargetB: plan.Target == reader.TargetB, StateAware: d.caps.StateAware, PowerIndex: power}
		reads, err := d.runSpec(ctx, spec, emit, missing)
		end.TagReads += reads
		var se *StatusError
		switch {
		case errors.As(err, &se):
			// The reader answered but refused: the connection is sound, the round is not. Each
			// antenna gets the refusal as its fault, so none of them is taken as read.
			d.cfg.Logger.Warn("llrp reader refused the round", "reader", d.cfg.ID, "error", err)
			for _, a := range ants {
				emit(reader.Fault{Antenna: a, Code: int(se.Code), Message: se.Error(), Err: se})
			}
			end.Incomplete = true
		case err != nil:
			return err
		}
	}
	end.Reported = end.TagReads
	end.Duration = time.Since(start)
	emit(end)
	return nil
}

// runSpec adds, enables and starts one ROSpec, passes its reports on until its end event, and
// deletes it. It returns the TagReportData count.
func (d *Driver) runSpec(ctx context.Context, spec ROSpec, emit func(reader.Event), missing func(int, string)) (int, error) {
	if _, err := d.exchange(ctx, AddROSpecResponse, func(w *Builder, id uint32) { AddSpec(w, id, spec) }); err != nil {
		return 0, d.errorf("ADD_ROSPEC", err)
	}
	for _, step := range []struct {
		req, resp MessageType
	}{{EnableROSpec, EnableROSpecResponse}, {StartROSpec, StartROSpecResponse}} {
		if _, err := d.exchange(ctx, step.resp, func(w *Builder, id uint32) { Simple(w, step.req, id, spec.ID) }); err != nil {
			d.cleanup(spec.ID, false)
			return 0, d.errorf(step.req.String(), err)
		}
	}
	wait := d.opts.Duration
	if wait <= 0 {
		wait = d.opts.Timeout
	}
	wait += d.cfg.Timeout
	reads := 0
	var tagErr error
	for {
		m, err := d.recv(ctx, wait)
		if err != nil {
			if ctx.Err() != nil {
				d.cleanup(spec.ID, true)
				return reads, ctx.Err()
			}
			if errors.Is(err, reader.ErrTimeout) {
				d.cleanup(spec.ID, true)
				return reads, d.errorf(fmt.Sprintf("ROSpec %d", spec.ID), fmt.Errorf("no end of the round within %s: %w", wait, err))
			}
			return reads, d.errorf(fmt.Sprintf("ROSpec %d", spec.ID), err)
		}
		switch m.Type {
		case ROAccessReport:
			now := time.Now()
			it := Tags(m.Body)
			for it.Next() {
				t := &it.Tag
				if t.HasROSpecID && t.ROSpecID != spec.ID {
					continue // a late report of an earlier round
				}
				reads++
				ant := t.Antenna
				if !t.HasAntenna && len(spec.Antennas) == 1 {
					ant = spec.Antennas[0]
				}
				count := 1
				if t.HasSeenCount && t.SeenCount > 0 {
					count = t.SeenCount
				}
				rssi := 0
				if t.HasRSSI {
					rssi = t.PeakRSSI
				}
				emit(reader.TagRead{EPC: append([]byte(nil), t.EPC...), PC: t.PC, Antenna: ant, RSSIDBm: rssi, Time: now, ReadCount: count})
			}
			err := it.Err()
			if err != nil && tagErr == nil {
				// The tags before the damage were delivered; the round goes on, and the damage
				// is reported as a fault so the round is not taken as proof of absence.
				tagErr = err
				emit(reader.Fault{Message: "damaged tag report: " + err.Error()})
			}
		case ReaderEventNotification:
			e, err := ParseEvent(m.Body)
			if err != nil {
				d.cfg.Logger.Warn("bad reader event", "reader", d.cfg.ID, "error", err)
				continue
			}
			if e.HasClose {
				return reads, d.errorf(fmt.Sprintf("ROSpec %d", spec.ID), ErrClosedByReader)
			}
			if e.HasAntenna && !e.AntennaConnected && slices.Contains(spec.Antennas, e.AntennaID) {
				missing(e.AntennaID, "antenna disconnected during the round")
			}
			if e.HasException {
				emit(reader.Fault{Message: "reader exception: " + e.Exception})
			}
			if e.HasROSpec && e.ROSpecID == spec.ID && e.ROSpecEvent != ROSpecStarted {
				if _, err := d.exchange(ctx, DeleteROSpecResponse, func(w *Builder, id uint32) { Simple(w, DeleteROSpec, id, spec.ID) }); err != nil {
					return reads, d.errorf("DELETE_ROSPEC", err)
				}
				if tagErr != nil {
					return reads, d.errorf("RO_ACCESS_REPORT", tagErr)
				}
				return reads, nil
			}
		case ErrorMessage:
			if err := ParseStatus(m.Type, m.Body); err != nil {
				d.cleanup(spec.ID, true)
				return reads, d.errorf(fmt.Sprintf("ROSpec %d", spec.ID), err)
			}
		}
	}
}

// cleanup stops (when it was started) and deletes a ROSpec after a round went wrong or was
// cancelled, on its own short deadline: the caller's context may be the reason.
func (d *Driver) cleanup(spec uint32, started bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	if started {
		if _, err := d.exchange(ctx, StopROSpecResponse, func(w *Builder, id uint32) { Simple(w, StopROSpec, id, spec) }); err != nil {
			d.cfg.Logger.Debug("stop ROSpec after an interrupted round", "reader", d.cfg.ID, "error", err)
		}
	}
	if _, err := d.exchange(ctx, DeleteROSpecResponse, func(w *Builder, id uint32) { Simple(w, DeleteROSpec, id, spec) }); err != nil {
		d.cfg.Logger.Debug("delete ROSpec after an interrupted round", "reader", d.cfg.ID, "error", err)
	}
	d.pending = d.pending[:0]
}
