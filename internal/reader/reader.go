// Package reader is the common ground of the UHF RFID reader drivers: the Driver interface, the
// typed values a driver streams (tag reads, end-of-round summaries, faults), a registry that
// drivers join by name from init(), and a streaming frame scanner shared by the wire codecs.
//
// Contract: a driver takes an io.ReadWriter (a serial port in production, a pseudo-terminal or a
// pipe in tests) and owns it from then on; its constructor does no I/O; Validate checks a Plan
// without I/O; Info and Inventory talk to the device with timeouts, so a reader that stops
// answering gives ErrTimeout instead of a hang; Close is idempotent, closes the ReadWriter when it
// is an io.Closer (which unblocks a pending Read) and waits for the driver's reader goroutine.
// Antennas are numbered from 1 as printed on the reader, whatever the wire uses.
//
// The interface is deliberately narrow (Info, Inventory, Close) so that a network driver (LLRP)
// fits later: nothing in it assumes a serial line.
package reader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Sentinel errors for conditions a caller is expected to handle.
var (
	// ErrTimeout: the reader did not answer a request in time (unplugged, powered off, wrong baud).
	ErrTimeout = errors.New("reader did not answer in time")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("reader driver closed")
	// ErrAntennaMissing: the reader reports no antenna connected on a port.
	ErrAntennaMissing = errors.New("antenna missing")
	// ErrNoTag: an access operation (write, read-back) found no tag in the field.
	ErrNoTag = errors.New("no tag in the field")
	// ErrVerify: a tag write was acknowledged but reading back did not show the new EPC.
	ErrVerify = errors.New("write not confirmed by read-back")
	// ErrUnknownDriver: no driver registered under that name.
	ErrUnknownDriver = errors.New("unknown reader driver")
)

// InterByteTimeout is how long a line may stay silent inside a frame before a driver abandons it:
// at 115 200 baud a module sends a whole frame in a few milliseconds, so a longer gap means the
// "frame start" was noise.
const InterByteTimeout = 50 * time.Millisecond

// Target is the Gen2 inventoried flag a round selects (A or B).
type Target uint8

// Gen2 targets.
const (
	TargetA Target = 0
	TargetB Target = 1
)

func (t Target) String() string {
	if t == TargetB {
		return "B"
	}
	return "A"
}

// Plan says how to run inventory rounds.
type Plan struct {
	Antennas []int   // antenna ports, from 1 as printed on the reader
	Session  int     // Gen2 session S0–S3
	Target   Target  // Gen2 target flag
	PowerDBm float64 // RF output power in dBm; 0 leaves the reader's setting alone
	Rounds   int     // rounds to run; 0 runs until ctx is cancelled
}

// Validate checks a plan against a reader's antenna count, without I/O.
func (p Plan) Validate(maxAntenna int) error {
	if len(p.Antennas) == 0 {
		return errors.New("plan: no antennas")
	}
	for _, a := range p.Antennas {
		if a < 1 || a > maxAntenna {
			return fmt.Errorf("plan: antenna %d out of range 1–%d", a, maxAntenna)
		}
	}
	if p.Session < 0 || p.Session > 3 {
		return fmt.Errorf("plan: session %d out of range 0–3", p.Session)
	}
	if p.Target > TargetB {
		return fmt.Errorf("plan: target %d is neither A nor B", p.Target)
	}
	if p.PowerDBm < 0 || p.PowerDBm > 33 {
		return fmt.Errorf("plan: power %.1f dBm out of range 0–33", p.PowerDBm)
	}
	if p.Rounds < 0 {
		return fmt.Errorf("plan: negative round count %d", p.Rounds)
	}
	return nil
}

// Event is one value a driver streams during Inventory: TagRead, RoundEnd or Fault.
type Event interface{ event() }

// TagRead is one tag seen by the reader.
type TagRead struct {
	EPC          []byte    // the tag's EPC (owned by the receiver)
	PC           uint16    // Gen2 protocol-control word
	Antenna      int       // from 1
	RSSIDBm      int       // received signal strength in dBm
	FrequencyKHz int       // carrier frequency, 0 when the reader does not say
	Time         time.Time // when the driver received the report
	ReadCount    int       // reads folded into this report (1 for real-time reports)
}

// RoundEnd closes one inventory round.
type RoundEnd struct {
	Round      int   // from 1
	Antennas   []int // antennas the round covered
	TagReads   int   // tag reports received in the round
	Reported   int   // total reads the reader itself counted, when it says
	Missing    []int // antennas that reported missing during the round
	Duration   time.Duration
	Incomplete bool // an antenna failed: the round must not be taken as proof of absence
}

// Fault is a device-level problem found during a round.
type Fault struct {
	Antenna int    // from 1; 0 when not tied to an antenna
	Code    int    // the device's own error or status code
	Message string // operator text, English
	Err     error  // sentinel such as ErrAntennaMissing when one applies
}

func (TagRead) event()  {}
func (RoundEnd) event() {}
func (Fault) event()    {}

// Info describes a connected reader.
type Info struct {
	Model    string
	Firmware string
	Antennas int
}

// Driver runs one reader.
type Driver interface {
	// Info asks the reader who it is.
	Info(ctx context.Context) (Info, error)
	// Inventory runs rounds as the plan says and calls emit for every event, from the calling
	// goroutine; it returns nil when the rounds are done or ctx ends, an error when the reader
	// stops answering or the link is lost.
	Inventory(ctx context.Context, plan Plan, emit func(Event)) error
	// Close releases the link; idempotent.
	Close() error
}

// Config is what every driver needs besides its ReadWriter.
type Config struct {
	ID      string        // reader identity for messages, e.g. "cab-07"
	Timeout time.Duration // per-request timeout; 0 means one second
	Logger  *slog.Logger  // nil discards
	// RoundTime is for readers that time a round themselves (LLRP): each round's AISpec stops
	// after this long. 0 lets the reader stop once no new tag has been seen for a moment. Serial
	// drivers ignore it: their round is one inventory command per antenna.
	RoundTime time.Duration
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ID == "" {
		c.ID = "reader"
	}
	return c
}

// Factory builds a driver over rw without doing I/O.
type Factory func(rw io.ReadWriter, cfg Config) (Driver, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a driver available by name; drivers call it from init(). A duplicate or empty
// name is a programming error and panics.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || f == nil {
		panic("reader: Register with empty name or nil factory")
	}
	if _, dup := registry[name]; dup {
		panic("reader: driver " + name + " registered twice")
	}
	registry[name] = f
}

// New builds the driver registered under name.
func New(name string, rw io.ReadWriter, cfg Config) (Driver, error) {
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("reader %q: driver %q: %w (known: %v)", cfg.ID, name, ErrUnknownDriver, Drivers())
	}
	return f(rw, cfg)
}

// Drivers lists registered driver names, sorted.
func Drivers() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
