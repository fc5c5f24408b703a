// Package cabinetsim runs a whole simulated room for cabinet-sim: UHF readers of the three families,
// cabinet controllers on their buses and desk barcode scanners, each on its own pseudo-terminal,
// all driven by a scenario file and by commands typed while it runs (door C-01 open, remove C-01
// EPC, scan D-01 DATA, fault C-01 antenna 2, vanish C-01, …).
//
// Contract: New checks and builds without I/O; Start opens the pseudo-terminals (cabinet/sim
// OpenPTY, so closing one unblocks its reader) and serves them with the real simulators
// (internal/reader/sim, internal/cabinet/sim, internal/scanner/sim), which speak the real wire
// protocols: an agent opens the printed paths with go.bug.st/serial exactly as it opens
// /dev/ttyUSB0. A cabinet with `listen` (always for reader = "llrp") serves its reader over TCP
// instead (tcp.go): an LLRP reader, or an R2000/M6e behind a serial device server; its device
// path is tcp://host:port. A tag written through a reader (a desk's tag-encoding station) keeps its new EPC
// when it is removed and added elsewhere, so a room can stand for the whole encode-then-store
// path. Devices lists what was created; with a link directory each device also gets a
// stable symlink (DIR/<link>-reader, DIR/<bus>-controller, DIR/<link>-scanner) that follows a device
// that vanished and returned. Exec runs one command; Run prints the devices, runs the scenario's
// script and reads commands until quit or ctx ends. Every goroutine started here ends when ctx ends
// or Close is called; Close is idempotent and removes the links.
//
// Files: sim.go builds the room from a scenario; serve.go opens and serves the devices on their
// pseudo-terminals; command.go parses and interprets the operator's commands; run.go is the run
// loop that ties the script and the operator's input together.
package cabinetsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	cabsim "github.com/custodyhq/custody/internal/cabinet/sim"
	rsim "github.com/custodyhq/custody/internal/reader/sim"
	scansim "github.com/custodyhq/custody/internal/scanner/sim"
)

// Options configure a Sim.
type Options struct {
	LinkDir string       // create stable symlinks here; empty: none
	Logger  *slog.Logger // nil discards
}

// Device is one simulated device as cabinet-sim prints it.
type Device struct {
	Kind     string       `json:"kind"`     // reader, controller or scanner
	ID       string       `json:"id"`       // cabinet id (reader), bus name (controller) or desk id (scanner)
	Protocol string       `json:"protocol"` // r2000, m6e, cabinet or scanner
	Path     string       `json:"path"`     // the pseudo-terminal to open; empty while vanished
	Link     string       `json:"link,omitempty"`
	Antennas int          `json:"antennas,omitempty"`
	Cabinets []BusCabinet `json:"cabinets,omitempty"` // controller: who answers at which address
}

// BusCabinet is one controller on a bus.
type BusCabinet struct {
	Address int    `json:"address"`
	Cabinet string `json:"cabinet"`
}

// Sim is a running simulated room.
type Sim struct {
	sc   Scenario
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	readers  map[string]*readerDev // by cabinet id
	order    []string              // cabinet ids in scenario order
	buses    map[string]*busDev
	busOrder []string
	ctrls    map[string]*cabsim.Controller // by cabinet id
	scanners map[string]*scannerDev
	scOrder  []string

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
	quit    chan struct{}
	quitOne sync.Once
}

type readerDev struct {
	cab   Cabinet
	seed  uint64
	link  string
	tags  []Tag // what is in the cabinet now
	miss  map[int]bool
	quiet bool // fault: silent

	pty *cabsim.PTY
	cur servable

	// A reader served over TCP (Cabinet.Listen) has no pty: addr is the address it listens on
	// (fixed at the first start), and unplug ends its listener and connections (vanish).
	addr    string
	unplug  context.CancelFunc // nil while vanished
	tcpBack chan context.Context
	llrpSim *rsim.LLRP    // the running simulator of an LLRP reader, for its faults
	swap    chan struct{} // a new tag set: replace the simulator
	gen     uint64        // changes of tags
	curGen  uint64        // the gen cur was built from
	back    chan struct{} // the device returns after vanishing
}

type busDev struct {
	name  string
	link  string
	addrs []BusCabinet
	bus   *cabsim.Bus
	pty   *cabsim.PTY
	gone  bool // vanished
}

type scannerDev struct {
	spec Scanner
	link string
	pty  *cabsim.PTY
	scan *scansim.Serial
}

// New checks the scenario and builds the simulated devices without doing I/O.
func New(sc Scenario, opts Options) (*Sim, error) {
	if err := sc.normalise(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{sc: sc, opts: opts, log: log, readers: map[string]*readerDev{}, buses: map[string]*busDev{},
		ctrls: map[string]*cabsim.Controller{}, scanners: map[string]*scannerDev{}, quit: make(chan struct{})}
	for i, c := range sc.Cabinets {
		d := &readerDev{cab: c, seed: sc.Seed + uint64(i)*7919, link: c.Link + "-reader", tags: append([]Tag(nil), c.Tags...),
			miss: map[int]bool{}, swap: make(chan struct{}, 1), back: make(chan struct{}, 1), tcpBack: make(chan context.Context, 1)}
		for _, a := range c.MissingAntennas {
			d.miss[a] = true
		}
		s.readers[c.ID] = d
		s.order = append(s.order, c.ID)
		if c.Bus != "" {
			s.ctrls[c.ID] = cabsim.New(uint8(c.Address), cabsim.Options{})
		}
	}
	for _, name := range sortedBuses(sc.Cabinets) {
		b := &busDev{name: name, link: slug(name) + "-controller"}
		var ctrls []*cabsim.Controller
		for _, c := range sc.Cabinets {
			if c.Bus == name {
				b.addrs = append(b.addrs, BusCabinet{Address: c.Address, Cabinet: c.ID})
				ctrls = append(ctrls, s.ctrls[c.ID])
			}
		}
		bus, err := cabsim.NewBus(log.With("bus", name), ctrls...)
		if err != nil {
			return nil, fmt.Errorf("bus %s: %w", name, err)
		}
		b.bus = bus
		s.buses[name] = b
		s.busOrder = append(s.busOrder, name)
	}
	for _, sp := range sc.Scanners {
		s.scanners[sp.ID] = &scannerDev{spec: sp, link: sp.Link + "-scanner"}
		s.scOrder = append(s.scOrder, sp.ID)
	}
	// Build each reader's simulator once now, so a scenario the simulator refuses fails here.
	for _, id := range s.order {
		if _, err := s.buildReader(s.readers[id]); err != nil {
			return nil, fmt.Errorf("cabinet %s: %w", id, err)
		}
	}
	return s, nil
}

// simTags is what a reader hears now: its own tags and the cross-reads whose tag is still in the
// neighbouring cabinet. Call with s.mu held.
func (s *Sim) simTags(d *readerDev) []rsim.Tag {
	var out []rsim.Tag
	for _, t := range d.tags {
		out = append(out, rsim.Tag{EPC: t.EPC, Antenna: t.Antenna, ReadProbability: t.ReadProbability, RSSIDBm: t.RSSIDBm})
	}
	for _, x := range d.cab.CrossReads {
		if n := s.readers[x.From]; n != nil && indexTag(n.tags, x.EPC) >= 0 {
			out = append(out, rsim.Tag{EPC: x.EPC, Antenna: x.Antenna, ReadProbability: x.ReadProbability, RSSIDBm: x.RSSIDBm, CrossRead: true})
		}
	}
	return out
}

func indexTag(ts []Tag, epc string) int {
	for i, t := range ts {
		if strings.EqualFold(t.EPC, epc) {
			return i
		}
	}
	return -1
}

type servable interface {
	Serve(ctx context.Context, rw io.ReadWriter) error
	SetAntennaMissing(int, bool)
	SetSilent(bool)
	SetTags([]rsim.Tag) error
	Tags() []rsim.Tag
}

// keepWrites copies the EPCs written to tags (by a tag-encoding station: the agent's encode_tag)
// from the running simulator into the reader's tag list, so a tag keeps its new EPC when the
// simulator is rebuilt for another add or remove. The running simulator lists the reader's own
// tags first, in order; until it has been rebuilt after a change of the list it is older than the
// list, and then it is not trusted. Call with s.mu held.
func (d *readerDev) keepWrites() {
	if d.cur == nil || d.curGen != d.gen {
		return
	}
	cur := d.cur.Tags()
	for i := range d.tags {
		if i < len(cur) {
			d.tags[i].EPC = cur[i].EPC
		}
	}
}

// buildReader makes a simulator for the reader's current state. Call with s.mu held.
func (s *Sim) buildReader(d *readerDev) (servable, error) {
	sc := rsim.Scenario{Tags: s.simTags(d), Seed: d.seed, Firmware: d.cab.Firmware}
	var (
		v   servable
		err error
	)
	switch d.cab.Reader {
	case "m6e":
		v, err = rsim.NewM6e(sc)
	case "llrp":
		v, err = rsim.NewLLRP(sc)
	default:
		v, err = rsim.NewR2000(sc)
	}
	if err != nil {
		return nil, err
	}
	for a, m := range d.miss {
		v.SetAntennaMissing(a, m)
	}
	v.SetSilent(d.quiet)
	return v, nil
}

// Close stops every device, waits for every goroutine and removes the links. Idempotent.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, id := range s.order {
		d := s.readers[id]
		if d.pty != nil {
			errs = append(errs, d.pty.Close())
		}
		s.removeLink(d.link)
	}
	for _, name := range s.busOrder {
		b := s.buses[name]
		if b.pty != nil {
			errs = append(errs, b.pty.Close())
		}
		s.removeLink(b.link)
	}
	for _, id := range s.scOrder {
		sd := s.scanners[id]
		if sd.pty != nil {
			errs = append(errs, sd.pty.Close())
		}
		s.removeLink(sd.link)
	}
	s.log.Info("cabinet-sim stopped")
	return errors.Join(errs...)
}
