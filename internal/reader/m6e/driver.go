package m6e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/reader"
)

func init() {
	reader.Register("m6e", func(rw io.ReadWriter, cfg reader.Config) (reader.Driver, error) {
		return New(rw, cfg), nil
	})
}

// Antennas is the port count of the M6e (the Nano has one; it answers 0x0503 for the others).
const Antennas = 4

// DefaultCycle is the continuous-read cycle: the module closes each with a keep-alive, which the
// driver takes as the end of a round.
const DefaultCycle = 500 * time.Millisecond

// DefaultMetadata is what the driver asks each tag record to carry.
const DefaultMetadata = MetaReadCount | MetaRSSI | MetaAntenna | MetaFrequency | MetaTimestamp | MetaProtocol

// Driver runs one M6e module. Requests are serialised; tag records stream during Inventory.
type Driver struct {
	cfg  reader.Config
	link *reader.Link[Frame]
	mu   sync.Mutex
	buf  []byte

	// Cycle and Metadata may be set before the first Inventory; zero values take the defaults.
	Cycle    time.Duration
	Metadata uint16
}

var _ reader.Driver = (*Driver)(nil)

// New returns a driver over rw. It takes ownership of rw and does no I/O.
func New(rw io.ReadWriter, cfg reader.Config) *Driver {
	cfg = cfg.WithDefaults()
	return &Driver{cfg: cfg, link: reader.NewSerialLink(rw, cfg, NewDecoder(rw), Frame.Clone)}
}

// Close releases the link; idempotent.
func (d *Driver) Close() error { return d.link.Close() }

func (d *Driver) errorf(op string, err error) error {
	return fmt.Errorf("reader %s: %s: %w", d.cfg.ID, op, err)
}

func (d *Driver) send(op byte, data ...byte) error {
	d.buf = AppendCommand(d.buf[:0], op, data...)
	return d.link.Write(d.buf)
}

// wait returns the next frame answering op; continuous-read traffic (0x22) in between is dropped.
func (d *Driver) wait(ctx context.Context, op byte) (Frame, error) {
	deadline := time.Now().Add(d.cfg.Timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return Frame{}, reader.ErrTimeout
		}
		f, err := d.link.Recv(ctx, left)
		if err != nil {
			return Frame{}, err
		}
		if f.Opcode == op {
			return f, nil
		}
	}
}

// exchange sends a command and waits for its OK reply.
func (d *Driver) exchange(ctx context.Context, op string, opcode byte, data ...byte) (Frame, error) {
	d.link.Drain()
	if err := d.send(opcode, data...); err != nil {
		return Frame{}, d.errorf(op, err)
	}
	f, err := d.wait(ctx, opcode)
	if err != nil {
		return Frame{}, d.errorf(op, err)
	}
	if f.Status != StatusOK {
		return f, d.errorf(op, &StatusError{Opcode: opcode, Status: f.Status})
	}
	return f, nil
}

// Info asks for the version.
func (d *Driver) Info(ctx context.Context) (reader.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, "version", OpVersion)
	if err != nil {
		return reader.Info{}, err
	}
	if f.Kind != KindVersion {
		return reader.Info{}, d.errorf("version", fmt.Errorf("%w: reply of kind %s", reader.ErrMalformed, f.Kind))
	}
	return reader.Info{Model: "M6e", Firmware: f.Firmware(), Antennas: Antennas}, nil
}

// SetRegion sets the regulatory region (RegionPRC, RegionEU3, …).
func (d *Driver) SetRegion(ctx context.Context, region byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.exchange(ctx, "set region", OpSetRegion, region)
	return err
}

// Region reads the regulatory region.
func (d *Driver) Region(ctx context.Context) (byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, "get region", OpGetRegion)
	if err != nil {
		return 0, err
	}
	if len(f.Data) < 1 {
		return 0, d.errorf("get region", fmt.Errorf("%w: empty reply", reader.ErrMalformed))
	}
	return f.Data[0], nil
}

// SetProtocolGen2 selects the Gen2 (ISO 18000-63) tag protocol.
func (d *Driver) SetProtocolGen2(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.exchange(ctx, "set protocol", OpSetProtocol, 0x00, ProtocolGen2)
	return err
}

// SetReadPower sets the read power in centi-dBm (2700 = 27.00 dBm).
func (d *Driver) SetReadPower(ctx context.Context, centiDBm int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.exchange(ctx, "set read power", OpSetReadPower, byte(uint16(centiDBm)>>8), byte(centiDBm))
	return err
}

// ReadPower reads the read power in centi-dBm.
func (d *Driver) ReadPower(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, "get read power", OpGetReadPower, 0x00)
	if err != nil {
		return 0, err
	}
	if f.Kind != KindPower {
		return 0, d.errorf("get read power", fmt.Errorf("%w: reply of kind %s", reader.ErrMalformed, f.Kind))
	}
	return f.PowerCentiDBm, nil
}

// setAntennas sets the antenna search list: option 0x02 then TX/RX pairs (monostatic: TX = RX).
func (d *Driver) setAntennas(ctx context.Context, antennas []int) error {
	data := []byte{0x02}
	for _, a := range antennas {
		data = append(data, byte(a), byte(a))
	}
	_, err := d.exchange(ctx, "set antennas", OpSetAntenna, data...)
	return err
}

// Validate checks a plan for this reader without I/O.
func (d *Driver) Validate(plan reader.Plan) error { return plan.Validate(Antennas) }

// Inventory configures Gen2, power, antennas, session and target, starts continuous reading and
// streams tag records; each keep-alive closes a round. It stops reading before it returns.
func (d *Driver) Inventory(ctx context.Context, plan reader.Plan, emit func(reader.Event)) error {
	if err := d.Validate(plan); err != nil {
		return d.errorf("inventory", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inventory(ctx, plan, emit)
}

func (d *Driver) inventory(ctx context.Context, plan reader.Plan, emit func(reader.Event)) error {
	cycle, meta := d.Cycle, d.Metadata
	if cycle <= 0 {
		cycle = DefaultCycle
	}
	if meta == 0 {
		meta = DefaultMetadata
	}
	steps := []struct {
		op     string
		opcode byte
		data   []byte
	}{
		{"set protocol", OpSetProtocol, []byte{0x00, ProtocolGen2}},
		{"set session", OpSetGen2Param, []byte{ProtocolGen2, 0x00, byte(plan.Session)}},
		{"set target", OpSetGen2Param, []byte{ProtocolGen2, 0x01, byte(plan.Target)}},
	}
	if plan.PowerDBm > 0 {
		c := int(plan.PowerDBm * 100)
		steps = append(steps, struct {
			op     string
			opcode byte
			data   []byte
		}{"set read power", OpSetReadPower, []byte{byte(c >> 8), byte(c)}})
	}
	for _, s := range steps {
		if _, err := d.exchange(ctx, s.op, s.opcode, s.data...); err != nil {
			return d.quiet(ctx, err)
		}
	}
	if err := d.setAntennas(ctx, plan.Antennas); err != nil {
		return d.quiet(ctx, err)
	}
	ms := uint16(cycle.Milliseconds())
	start := []byte{0x00, 0x00, 0x01, OpReadMultiple, 0x00, 0x00, ProtocolGen2, 0x07,
		OpReadMultiple, 0x10, 0x00, 0x1B, byte(ms >> 8), byte(ms), byte(meta >> 8), byte(meta)}
	if _, err := d.exchange(ctx, "start continuous read", OpMultiProtocol, start...); err != nil {
		return d.quiet(ctx, err)
	}
	err := d.stream(ctx, plan, cycle, emit)
	// Stop even when ctx is over: the module would otherwise read on and flood the line.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	if serr := d.send(OpMultiProtocol, 0x00, 0x00, 0x02); serr == nil && err == nil {
		if _, werr := d.wait(stopCtx, OpMultiProtocol); werr != nil {
			err = d.errorf("stop continuous read", werr)
		}
	}
	return d.quiet(ctx, err)
}

// quiet turns cancellation into a normal end.
func (d *Driver) quiet(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

func (d *Driver) stream(ctx context.Context, plan reader.Plan, cycle time.Duration, emit func(reader.Event)) error {
	round := 1
	end := reader.RoundEnd{Round: round, Antennas: plan.Antennas}
	began := time.Now()
	for plan.Rounds == 0 || round <= plan.Rounds {
		f, err := d.link.Recv(ctx, cycle+d.cfg.Timeout)
		if err != nil {
			return d.errorf(fmt.Sprintf("continuous read, round %d", round), err)
		}
		if f.Opcode != OpReadMultiple {
			continue
		}
		switch f.Kind {
		case KindTag:
			ant := f.Antenna
			if f.MetaFlags&MetaAntenna == 0 && len(plan.Antennas) == 1 {
				ant = plan.Antennas[0]
			}
			end.TagReads++
			end.Reported += f.ReadCount
			emit(reader.TagRead{EPC: f.EPC, PC: f.PC, Antenna: ant, RSSIDBm: f.RSSIDBm, FrequencyKHz: f.FrequencyKHz,
				Time: time.Now(), ReadCount: f.ReadCount})
		case KindKeepAlive:
			end.Duration = time.Since(began)
			emit(end)
			round++
			end = reader.RoundEnd{Round: round, Antennas: plan.Antennas}
			began = time.Now()
		case KindStatus:
			en, _ := StatusText(f.Status)
			ft := reader.Fault{Antenna: f.Antenna, Code: int(f.Status), Message: en}
			switch f.Status {
			case StatusNoAntenna:
				ft.Err = reader.ErrAntennaMissing
				end.Missing = append(end.Missing, f.Antenna)
				end.Incomplete = true
			case StatusReturnLoss:
				end.Incomplete = true
			}
			emit(ft)
		}
	}
	return nil
}

// WriteEPC writes a new EPC (even length, ≤ 62 bytes) to the tag in front of the antenna with
// opcode 0x23, then reads back with continuous-read rounds and returns nil only when the new EPC
// is seen. The module writes the PC word's length itself.
func (d *Driver) WriteEPC(ctx context.Context, antenna int, epc []byte) error {
	if len(epc) == 0 || len(epc)%2 != 0 || len(epc) > 62 {
		return d.errorf("write EPC", fmt.Errorf("EPC of %d bytes: must be even and 2–62", len(epc)))
	}
	if antenna < 1 || antenna > Antennas {
		return d.errorf("write EPC", fmt.Errorf("antenna %d out of range 1–%d", antenna, Antennas))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.exchange(ctx, "set antenna", OpSetAntenna, byte(antenna), byte(antenna)); err != nil {
		return err
	}
	data := binary.BigEndian.AppendUint16(nil, uint16(d.cfg.Timeout.Milliseconds()))
	data = append(data, 0x00)
	data = append(data, epc...)
	if _, err := d.exchange(ctx, "write EPC", OpWriteTagID, data...); err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == StatusNoTags {
			return d.errorf("write EPC", reader.ErrNoTag)
		}
		return err
	}
	seen := false
	err := d.inventory(ctx, reader.Plan{Antennas: []int{antenna}, Rounds: 3}, func(e reader.Event) {
		if t, ok := e.(reader.TagRead); ok && bytes.Equal(t.EPC, epc) {
			seen = true
		}
	})
	if err != nil {
		return d.errorf("write EPC: read-back", err)
	}
	if !seen {
		return d.errorf("write EPC", reader.ErrVerify)
	}
	return nil
}
