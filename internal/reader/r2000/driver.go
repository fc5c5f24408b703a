package r2000

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/reader"
)

func init() {
	reader.Register("r2000", func(rw io.ReadWriter, cfg reader.Config) (reader.Driver, error) {
		return New(rw, cfg), nil
	})
}

// Antennas is the port count of the modules we drive (ANT1–ANT4).
const Antennas = 4

// Driver runs one A0-protocol reader. Requests are serialised; tag reports stream during
// inventory rounds.
type Driver struct {
	cfg  reader.Config
	addr byte
	link *reader.Link[Frame]
	mu   sync.Mutex // one exchange at a time
	buf  []byte
}

var _ reader.Driver = (*Driver)(nil)

// New returns a driver over rw talking to the broadcast address. It takes ownership of rw and
// does no I/O.
func New(rw io.ReadWriter, cfg reader.Config) *Driver {
	cfg = cfg.WithDefaults()
	return &Driver{cfg: cfg, addr: Broadcast, link: reader.NewSerialLink(rw, cfg, NewDecoder(rw), Frame.Clone)}
}

// Close releases the link; idempotent.
func (d *Driver) Close() error { return d.link.Close() }

func (d *Driver) errorf(op string, err error) error {
	return fmt.Errorf("reader %s: %s: %w", d.cfg.ID, op, err)
}

func (d *Driver) send(cmd byte, data ...byte) error {
	d.buf = AppendFrame(d.buf[:0], d.addr, cmd, data...)
	return d.link.Write(d.buf)
}

// exchange sends a command and returns the first reply to the same command.
func (d *Driver) exchange(ctx context.Context, cmd byte, data ...byte) (Frame, error) {
	d.link.Drain()
	if err := d.send(cmd, data...); err != nil {
		return Frame{}, err
	}
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
		if f.Cmd == cmd {
			return f, nil
		}
		d.cfg.Logger.Debug("reply to another command dropped", "reader", d.cfg.ID, "want", cmd, "got", f.Cmd)
	}
}

// setting sends a set command whose reply is a status byte.
func (d *Driver) setting(ctx context.Context, op string, cmd byte, data ...byte) error {
	f, err := d.exchange(ctx, cmd, data...)
	if err != nil {
		return d.errorf(op, err)
	}
	if f.Kind != KindStatus || Status(f.Code) != StatusSuccess {
		return d.errorf(op, &StatusError{Cmd: cmd, Status: Status(f.Code)})
	}
	return nil
}

// Info asks for the firmware version.
func (d *Driver) Info(ctx context.Context) (reader.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, CmdGetFirmware)
	if err != nil {
		return reader.Info{}, d.errorf("firmware version", err)
	}
	if f.Kind != KindVersion {
		return reader.Info{}, d.errorf("firmware version", &StatusError{Cmd: CmdGetFirmware, Status: Status(f.Code)})
	}
	return reader.Info{Model: "R2000", Firmware: fmt.Sprintf("%d.%d", f.Major, f.Minor), Antennas: Antennas}, nil
}

// Reset restarts the reader's MCU. The reader sends no reply; give it a moment before the next
// command.
func (d *Driver) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.send(CmdReset); err != nil {
		return d.errorf("reset", err)
	}
	return nil
}

// SetWorkAntenna selects the antenna (from 1) for the next inventory or access.
func (d *Driver) SetWorkAntenna(ctx context.Context, antenna int) error {
	if antenna < 1 || antenna > Antennas {
		return d.errorf("set work antenna", fmt.Errorf("antenna %d out of range 1–%d", antenna, Antennas))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setting(ctx, "set work antenna", CmdSetWorkAntenna, byte(antenna-1))
}

// WorkAntenna reads the selected antenna (from 1).
func (d *Driver) WorkAntenna(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, CmdGetWorkAntenna)
	if err != nil {
		return 0, d.errorf("get work antenna", err)
	}
	if f.Kind != KindAntenna {
		return 0, d.errorf("get work antenna", &StatusError{Cmd: CmdGetWorkAntenna, Status: Status(f.Code)})
	}
	return f.Antenna, nil
}

// SetPower sets the RF output power in whole dBm (0–33) for all antennas.
func (d *Driver) SetPower(ctx context.Context, dBm int) error {
	if dBm < 0 || dBm > 33 {
		return d.errorf("set power", fmt.Errorf("%d dBm out of range 0–33", dBm))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setting(ctx, "set power", CmdSetPower, byte(dBm))
}

// Power reads the RF output power in dBm.
func (d *Driver) Power(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, CmdGetPower)
	if err != nil {
		return 0, d.errorf("get power", err)
	}
	if f.Kind != KindPower {
		return 0, d.errorf("get power", &StatusError{Cmd: CmdGetPower, Status: Status(f.Code)})
	}
	return f.PowerDBm, nil
}

// Region is a frequency region setting: Region 1 FCC, 2 ETSI, 3 CHN; Start and End are
// frequency indices (see FrequencyKHz).
type Region struct{ Region, Start, End byte }

// SetRegion sets the frequency region.
func (d *Driver) SetRegion(ctx context.Context, r Region) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setting(ctx, "set region", CmdSetRegion, r.Region, r.Start, r.End)
}

// GetRegion reads the frequency region.
func (d *Driver) GetRegion(ctx context.Context) (Region, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.exchange(ctx, CmdGetRegion)
	if err != nil {
		return Region{}, d.errorf("get region", err)
	}
	if f.Kind != KindRegion {
		return Region{}, d.errorf("get region", &StatusError{Cmd: CmdGetRegion, Status: Status(f.Code)})
	}
	return Region{f.Region, f.StartFreq, f.EndFreq}, nil
}

// antennaResult is what one inventory command on one antenna produced.
type antennaResult struct {
	reads    int
	reported int
	missing  bool
	failed   bool
}

// collect reads tag reports for cmd until the round's closing frame. The timeout runs from the
// last frame received, so a long round with many tags is fine and a silent reader is not.
func (d *Driver) collect(ctx context.Context, cmd byte, antenna int, emit func(reader.Event)) (antennaResult, error) {
	var res antennaResult
	for {
		f, err := d.link.Recv(ctx, d.cfg.Timeout)
		if err != nil {
			return res, err
		}
		if f.Cmd != cmd {
			continue
		}
		switch f.Kind {
		case KindTag:
			res.reads++
			emit(reader.TagRead{EPC: f.EPC, PC: f.PC, Antenna: f.Antenna, RSSIDBm: RSSIDBm(f.RSSIRaw),
				FrequencyKHz: FrequencyKHz(f.FreqIndex), Time: time.Now(), ReadCount: 1})
		case KindSummary:
			res.reported += f.TotalReads
			return res, nil
		case KindAntennaFault:
			res.missing = true
			emit(d.fault(f.Antenna, f.Code))
			if cmd != CmdFastSwitchInv {
				return res, nil
			}
		case KindStatus:
			if Status(f.Code) == StatusAntennaMissing {
				res.missing = true
			} else {
				res.failed = true
			}
			emit(d.fault(antenna, f.Code))
			return res, nil
		}
	}
}

func (d *Driver) fault(antenna int, code byte) reader.Fault {
	ft := reader.Fault{Antenna: antenna, Code: int(code), Message: Status(code).English()}
	if Status(code) == StatusAntennaMissing {
		ft.Err = reader.ErrAntennaMissing
	}
	return ft
}

// Validate checks a plan for this reader without I/O.
func (d *Driver) Validate(plan reader.Plan) error { return plan.Validate(Antennas) }

// Inventory runs session/target rounds (0x8B): for each antenna of the plan it selects the work
// antenna and runs one inventory, then emits a RoundEnd. An antenna that reports missing gives a
// Fault and marks the round incomplete.
func (d *Driver) Inventory(ctx context.Context, plan reader.Plan, emit func(reader.Event)) error {
	return d.rounds(ctx, plan, emit, false)
}

// FastSwitchInventory runs fast-switch rounds (0x8A) over up to four antennas in one command;
// the session and target of the plan do not apply (the firmware uses S1).
func (d *Driver) FastSwitchInventory(ctx context.Context, plan reader.Plan, emit func(reader.Event)) error {
	return d.rounds(ctx, plan, emit, true)
}

func (d *Driver) rounds(ctx context.Context, plan reader.Plan, emit func(reader.Event), fast bool) error {
	if err := d.Validate(plan); err != nil {
		return d.errorf("inventory", err)
	}
	if plan.PowerDBm > 0 {
		if err := d.SetPower(ctx, int(plan.PowerDBm+0.5)); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for round := 1; plan.Rounds == 0 || round <= plan.Rounds; round++ {
		if ctx.Err() != nil {
			return nil
		}
		start := time.Now()
		end := reader.RoundEnd{Round: round, Antennas: plan.Antennas}
		count := func(res antennaResult, ant int) {
			end.TagReads += res.reads
			end.Reported += res.reported
			if res.missing {
				end.Missing = append(end.Missing, ant)
			}
			if res.missing || res.failed {
				end.Incomplete = true
			}
		}
		if fast {
			res, err := d.fastRound(ctx, plan, emit, &end)
			if err != nil {
				return d.stopped(ctx, "fast-switch inventory", err)
			}
			count(res, 0)
		} else {
			for _, ant := range plan.Antennas {
				if err := d.setting(ctx, fmt.Sprintf("set work antenna %d", ant), CmdSetWorkAntenna, byte(ant-1)); err != nil {
					return d.stopped(ctx, "", err)
				}
				d.link.Drain()
				if err := d.send(CmdSessionInv, byte(plan.Session), byte(plan.Target), 1); err != nil {
					return d.errorf("inventory", err)
				}
				res, err := d.collect(ctx, CmdSessionInv, ant, emit)
				if err != nil {
					return d.stopped(ctx, fmt.Sprintf("inventory on antenna %d", ant), err)
				}
				count(res, ant)
			}
		}
		end.Duration = time.Since(start)
		emit(end)
	}
	return nil
}

// stopped turns an error during a round into the Inventory result: cancellation is a normal end.
func (d *Driver) stopped(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	if op == "" {
		return err
	}
	return d.errorf(op, err)
}

func (d *Driver) fastRound(ctx context.Context, plan reader.Plan, emit func(reader.Event), end *reader.RoundEnd) (antennaResult, error) {
	var data [10]byte
	for i := range 4 {
		data[2*i] = 0xFF // antenna > 3 means skip
		if i < len(plan.Antennas) {
			data[2*i] = byte(plan.Antennas[i] - 1)
			data[2*i+1] = 1 // stay: one inventory
		}
	}
	data[8], data[9] = 0, 1 // interval 0 ms, repeat once
	d.link.Drain()
	if err := d.send(CmdFastSwitchInv, data[:]...); err != nil {
		return antennaResult{}, err
	}
	wrapped := func(e reader.Event) {
		if f, ok := e.(reader.Fault); ok && f.Err != nil {
			end.Missing = append(end.Missing, f.Antenna)
			end.Incomplete = true
		}
		emit(e)
	}
	res, err := d.collect(ctx, CmdFastSwitchInv, 0, wrapped)
	res.missing = false // already counted per antenna by wrapped
	return res, err
}

// RealtimeRound runs one real-time inventory (0x89) on the antenna and emits what it reads.
func (d *Driver) RealtimeRound(ctx context.Context, antenna int, emit func(reader.Event)) error {
	if antenna < 1 || antenna > Antennas {
		return d.errorf("real-time inventory", fmt.Errorf("antenna %d out of range 1–%d", antenna, Antennas))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.realtime(ctx, antenna, emit)
}

func (d *Driver) realtime(ctx context.Context, antenna int, emit func(reader.Event)) error {
	if err := d.setting(ctx, "set work antenna", CmdSetWorkAntenna, byte(antenna-1)); err != nil {
		return err
	}
	d.link.Drain()
	if err := d.send(CmdRealtimeInv, 1); err != nil {
		return d.errorf("real-time inventory", err)
	}
	if _, err := d.collect(ctx, CmdRealtimeInv, antenna, emit); err != nil {
		return d.errorf("real-time inventory", err)
	}
	return nil
}

// WriteEPC writes a new EPC (even length, ≤ 62 bytes) with its PC word to the tag in front of the
// antenna, then reads back with real-time inventories and returns nil only when the new EPC is
// seen. For the tag-encoding station: hold one tag at a time.
func (d *Driver) WriteEPC(ctx context.Context, antenna int, password uint32, epc []byte) error {
	if len(epc) == 0 || len(epc)%2 != 0 || len(epc) > 62 {
		return d.errorf("write EPC", fmt.Errorf("EPC of %d bytes: must be even and 2–62", len(epc)))
	}
	if antenna < 1 || antenna > Antennas {
		return d.errorf("write EPC", fmt.Errorf("antenna %d out of range 1–%d", antenna, Antennas))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.setting(ctx, "set work antenna", CmdSetWorkAntenna, byte(antenna-1)); err != nil {
		return err
	}
	pc := uint16(len(epc)/2) << 11
	data := []byte{byte(password >> 24), byte(password >> 16), byte(password >> 8), byte(password),
		1,                    // memory bank EPC
		1,                    // word 1: the PC word, so the length changes with the EPC
		byte(1 + len(epc)/2), // words: PC + EPC
		byte(pc >> 8), byte(pc)}
	data = append(data, epc...)
	f, err := d.exchange(ctx, CmdWrite, data...)
	if err != nil {
		return d.errorf("write EPC", err)
	}
	switch {
	case f.Kind == KindStatus && Status(f.Code) == StatusNoTag:
		return d.errorf("write EPC", reader.ErrNoTag)
	case f.Kind == KindStatus:
		return d.errorf("write EPC", &StatusError{Cmd: CmdWrite, Status: Status(f.Code)})
	case f.Kind == KindWrite && Status(f.Code) != StatusSuccess:
		return d.errorf("write EPC", &StatusError{Cmd: CmdWrite, Status: Status(f.Code)})
	}
	// Read back: a tag may miss one round, so try a few before calling the write unconfirmed.
	for range 3 {
		seen := false
		err := d.realtime(ctx, antenna, func(e reader.Event) {
			if t, ok := e.(reader.TagRead); ok && bytes.Equal(t.EPC, epc) {
				seen = true
			}
		})
		if err != nil {
			return d.errorf("write EPC: read-back", err)
		}
		if seen {
			return nil
		}
	}
	return d.errorf("write EPC", reader.ErrVerify)
}
