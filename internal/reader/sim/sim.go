// Package sim simulates UHF RFID readers of the families we drive (R2000 "A0" and ThingMagic
// M6e on serial lines, and LLRP network readers — llrp.go, served per TCP connection with
// ServeListener) speaking the real wire protocol on an io.ReadWriter — in tests and in cmd/cabinet-sim, the
// master side of a pseudo-terminal whose slave the driver opens with go.bug.st/serial.
//
// Contract: a Scenario says which tags sit at which antenna, how likely each is to answer one
// inventory command — a pass, not a whole round of several (reads are imperfect, as in real steel
// cabinets) — at what RSSI, and which are cross-reads from a neighbouring cabinet (weak and rare). Faults can be switched on while serving: an antenna
// dropping out (the device reports antenna missing), the device going silent (it stops answering)
// and the device vanishing (close the pty). With the same seed and the same commands a simulator
// answers the same way every time. Serve owns rw: it returns when rw fails or ctx ends, closing rw
// if it is an io.Closer.
package sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Tag is one tag in a scenario.
type Tag struct {
	EPC             string  `json:"epc"`              // hex
	Antenna         int     `json:"antenna"`          // from 1
	ReadProbability float64 `json:"read_probability"` // per pass (one inventory command), 0–1; 0 means always read
	RSSIDBm         int     `json:"rssi_dbm"`         // typical RSSI; 0 means −55 dBm
	CrossRead       bool    `json:"cross_read"`       // belongs to a neighbouring cabinet
}

// Scenario is what a simulated reader sees.
type Scenario struct {
	Tags            []Tag  `json:"tags"`
	MissingAntennas []int  `json:"missing_antennas"`
	Seed            uint64 `json:"seed"`
	Firmware        string `json:"firmware"` // "major.minor"; empty means 1.9
}

// ParseScenario decodes a scenario from JSON strictly (an unknown field is an error, so a typo in
// a scenario file is not silently ignored) and validates it.
func ParseScenario(b []byte) (Scenario, error) {
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	if _, err := newDevice(s); err != nil {
		return Scenario{}, err
	}
	return s, nil
}

type simTag struct {
	epc     []byte
	antenna int
	p       float64
	rssi    int
}

// device is the state both families share.
type device struct {
	mu      sync.Mutex
	tags    []simTag
	missing map[int]bool
	silent  bool
	noise   float64
	rng     *rand.Rand
	major   byte
	minor   byte
}

func newDevice(s Scenario) (*device, error) {
	d := &device{missing: map[int]bool{}, rng: rand.New(rand.NewPCG(s.Seed, 0x637573746f6479)), major: 1, minor: 9}
	tags, err := simTags(s.Tags)
	if err != nil {
		return nil, err
	}
	d.tags = tags
	for _, a := range s.MissingAntennas {
		d.missing[a] = true
	}
	if s.Firmware != "" {
		if _, err := fmt.Sscanf(s.Firmware, "%d.%d", &d.major, &d.minor); err != nil {
			return nil, fmt.Errorf("scenario: firmware %q: want major.minor", s.Firmware)
		}
	}
	return d, nil
}

func simTags(ts []Tag) ([]simTag, error) {
	var out []simTag
	for i, t := range ts {
		epc, err := hex.DecodeString(t.EPC)
		if err != nil || len(epc) == 0 || len(epc)%2 != 0 || len(epc) > 62 {
			return nil, fmt.Errorf("scenario: tag %d: EPC %q must be 2–62 bytes of even-length hex", i, t.EPC)
		}
		if t.Antenna < 1 || t.Antenna > 4 {
			return nil, fmt.Errorf("scenario: tag %d: antenna %d out of range 1–4", i, t.Antenna)
		}
		if t.ReadProbability < 0 || t.ReadProbability > 1 {
			return nil, fmt.Errorf("scenario: tag %d: read probability %v out of range 0–1", i, t.ReadProbability)
		}
		st := simTag{epc: epc, antenna: t.Antenna, p: t.ReadProbability, rssi: t.RSSIDBm}
		if st.p == 0 {
			st.p = 1
		}
		if st.rssi == 0 {
			st.rssi = -55
		}
		out = append(out, st)
	}
	return out, nil
}

// SetTags replaces the tags in the field while serving: a custodian laying a copy on the desk
// station's pad, or taking it away. Tags written meanwhile keep their new EPC only in the tags
// returned by Tags, so read those back before replacing them.
func (d *device) SetTags(ts []Tag) error {
	tags, err := simTags(ts)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tags = tags
	return nil
}

// Tags returns the tags in the field now, with the EPCs written to them (upper-case hex).
func (d *device) Tags() []Tag {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Tag, len(d.tags))
	for i, t := range d.tags {
		out[i] = Tag{EPC: strings.ToUpper(hex.EncodeToString(t.epc)), Antenna: t.antenna, ReadProbability: t.p, RSSIDBm: t.rssi}
	}
	return out
}

// SetAntennaMissing makes an antenna drop out (or come back).
func (d *device) SetAntennaMissing(antenna int, missing bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.missing[antenna] = missing
}

// SetSilent makes the device stop answering (or answer again).
func (d *device) SetSilent(silent bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.silent = silent
}

// SetNoise puts line noise before an answer with probability p: a few random bytes, sync bytes
// included, as a long unshielded cable picks up next to a door lock's solenoid.
func (d *device) SetNoise(p float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.noise = p
}

// noisy prepends noise to out when the dice say so.
func (d *device) noisy(out []byte, sync byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.noise <= 0 || d.rng.Float64() >= d.noise {
		return out
	}
	n := 1 + d.rng.IntN(6)
	garbage := make([]byte, n, n+len(out))
	for i := range garbage {
		garbage[i] = byte(d.rng.IntN(256))
	}
	garbage[0] = sync
	return append(garbage, out...)
}

func (d *device) isSilent() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.silent
}

func (d *device) antennaMissing(a int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.missing[a]
}

// read is one tag answering in a round.
type read struct {
	epc  []byte
	rssi int
}

// round draws which tags answer one inventory command (a pass, in the agent's words) on an antenna:
// each independently with its ReadProbability.
func (d *device) round(antenna int) []read {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []read
	for _, t := range d.tags {
		if t.antenna != antenna || d.rng.Float64() >= t.p {
			continue
		}
		out = append(out, read{epc: t.epc, rssi: t.rssi + d.rng.IntN(5) - 2})
	}
	return out
}

// rewrite changes the EPC of the strongest tag at the antenna; it reports false when none is there.
func (d *device) rewrite(antenna int, epc []byte) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	best := -1
	for i, t := range d.tags {
		if t.antenna == antenna && (best < 0 || t.rssi > d.tags[best].rssi) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	d.tags[best].epc = append([]byte(nil), epc...)
	return d.tags[best].epc, true
}

// ownRW closes rw when ctx ends, so a blocked Read returns; the returned stop undoes that.
func ownRW(ctx context.Context, rw io.ReadWriter) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if c, ok := rw.(io.Closer); ok {
			c.Close()
		}
	})
}

// serveEnd maps the way a Serve loop ended to its result: cancellation and a closed pty are a
// normal end.
func serveEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// PTY is a pseudo-terminal pair: a simulator serves the Master; a driver opens Path (the slave)
// with go.bug.st/serial exactly as it opens /dev/ttyUSB0.
type PTY struct {
	Master *os.File
	Path   string
	slave  *os.File
	once   sync.Once
}

// OpenPTY opens a pty pair in raw mode. The slave stays open here too, so the master does not
// read EIO in the gaps when no driver has it open.
func OpenPTY() (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("pty %s: raw mode: %w", s.Name(), err)
	}
	// pty.Open called Fd() on the master, which left it in blocking mode: Close would then wait for
	// a pending Read forever. A non-blocking duplicate joins Go's poller, so Close unblocks Read.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pty %s: master: %w", s.Name(), err)
	}
	return &PTY{Master: os.NewFile(uintptr(fd), "/dev/ptmx"), Path: s.Name(), slave: s}, nil
}

// Close closes both sides: to a driver this is the device vanishing. Idempotent.
func (p *PTY) Close() error {
	var err error
	p.once.Do(func() {
		err = errors.Join(p.Master.Close(), p.slave.Close())
	})
	return err
}

// ServePTY serves s on a fresh pseudo-terminal and returns the path a driver opens as the device.
// stop ends the simulator, closes the pty and waits for Serve to return; call it once.
func ServePTY(s interface {
	Serve(context.Context, io.ReadWriter) error
}) (path string, stop func(), err error) {
	p, err := OpenPTY()
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, p.Master) }()
	return p.Path, func() { cancel(); p.Close(); <-done }, nil
}
