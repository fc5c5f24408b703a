// Package cabinetsim runs a whole simulated room for cabinet-sim: UHF readers of either family,
// cabinet controllers on their buses and desk barcode scanners, each on its own pseudo-terminal,
// all driven by a scenario file and by commands typed while it runs (door C-01 open, remove C-01
// EPC, scan D-01 DATA, fault C-01 antenna 2, vanish C-01, …).
//
// Contract: New checks and builds without I/O; Start opens the pseudo-terminals (cabinet/sim
// OpenPTY, so closing one unblocks its reader) and serves them with the real simulators
// (internal/reader/sim, internal/cabinet/sim, internal/scanner/sim), which speak the real wire
// protocols: an agent opens the printed paths with go.bug.st/serial exactly as it opens
// /dev/ttyUSB0. A tag written through a reader (a desk's tag-encoding station) keeps its new EPC
// when it is removed and added elsewhere, so a room can stand for the whole encode-then-store
// path. Devices lists what was created; with a link directory each device also gets a
// stable symlink (DIR/<link>-reader, DIR/<bus>-controller, DIR/<link>-scanner) that follows a device
// that vanished and returned. Exec runs one command; Run prints the devices, runs the scenario's
// script and reads commands until quit or ctx ends. Every goroutine started here ends when ctx ends
// or Close is called; Close is idempotent and removes the links.
package cabinetsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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
	cur interface {
		SetAntennaMissing(int, bool)
		SetSilent(bool)
		Tags() []rsim.Tag
	}
	swap   chan struct{} // a new tag set: replace the simulator
	gen    uint64        // changes of tags
	curGen uint64        // the gen cur was built from
	back   chan struct{} // the device returns after vanishing
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
			miss: map[int]bool{}, swap: make(chan struct{}, 1), back: make(chan struct{}, 1)}
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
	if d.cab.Reader == "m6e" {
		v, err = rsim.NewM6e(sc)
	} else {
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

// Start opens every device and serves it until ctx ends or Close.
func (s *Sim) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("cabinet-sim: Start called twice")
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(ctx)
	if s.opts.LinkDir != "" {
		if err := os.MkdirAll(s.opts.LinkDir, 0o755); err != nil {
			s.cancel()
			return fmt.Errorf("link dir: %w", err)
		}
	}
	fail := func(err error) error {
		s.mu.Unlock()
		s.Close()
		s.mu.Lock()
		return err
	}
	for _, id := range s.order {
		d := s.readers[id]
		p, err := s.openPTY(d.link)
		if err != nil {
			return fail(fmt.Errorf("cabinet %s reader: %w", id, err))
		}
		d.pty = p
		s.wg.Add(1)
		go s.serveReader(d, p)
	}
	for _, name := range s.busOrder {
		if err := s.startBus(s.buses[name]); err != nil {
			return fail(fmt.Errorf("bus %s: %w", name, err))
		}
	}
	for _, id := range s.scOrder {
		if err := s.openScanner(s.scanners[id]); err != nil {
			return fail(fmt.Errorf("scanner %s: %w", id, err))
		}
	}
	s.log.Info("cabinet-sim started", "readers", len(s.order), "buses", len(s.busOrder), "scanners", len(s.scOrder))
	return nil
}

// startBus opens a pty for a controller bus and serves it until ctx ends or the bus vanishes.
// Call with s.mu held.
func (s *Sim) startBus(b *busDev) error {
	p, err := s.openPTY(b.link)
	if err != nil {
		return err
	}
	b.pty, b.gone = p, false
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := b.bus.Serve(s.ctx, p.Master)
		s.mu.Lock()
		gone := b.gone
		s.mu.Unlock()
		if err != nil && s.ctx.Err() == nil && !gone {
			s.log.Warn("controller bus stopped", "bus", b.name, "err", err)
		}
	}()
	return nil
}

// openPTY opens a pseudo-terminal and points the device's link at it.
func (s *Sim) openPTY(link string) (*cabsim.PTY, error) {
	p, err := cabsim.OpenPTY()
	if err != nil {
		return nil, err
	}
	if s.opts.LinkDir != "" {
		// Replace the link atomically, so an agent reopening the device never sees it missing
		// when it is there.
		dst := filepath.Join(s.opts.LinkDir, link)
		tmp := dst + ".tmp"
		os.Remove(tmp)
		err := os.Symlink(p.Path, tmp)
		if err == nil {
			err = os.Rename(tmp, dst)
		}
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("link %s: %w", dst, err)
		}
	}
	return p, nil
}

func (s *Sim) removeLink(link string) {
	if s.opts.LinkDir != "" {
		os.Remove(filepath.Join(s.opts.LinkDir, link))
	}
}

func (s *Sim) openScanner(sd *scannerDev) error {
	p, err := s.openPTY(sd.link)
	if err != nil {
		return err
	}
	sc, err := scansim.NewSerial(deadlineWriter{p.Master}, map[string]string{"CR": scansim.CR, "LF": scansim.LF, "CRLF": scansim.CRLF}[sd.spec.Suffix], *sd.spec.AIM)
	if err != nil {
		p.Close()
		return err
	}
	sd.pty, sd.scan = p, sc
	return nil
}

// deadlineWriter bounds a scan's write: nobody reading the scanner's port must not hang a trainer.
type deadlineWriter struct{ f *os.File }

func (w deadlineWriter) Write(b []byte) (int, error) {
	_ = w.f.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return w.f.Write(b)
}

// serveReader serves one reader's pty, replacing the simulator when its tags change and waiting
// for it to return after it vanished.
func (s *Sim) serveReader(d *readerDev, p *cabsim.PTY) {
	defer s.wg.Done()
	for {
		l := newLine(p.Master, d.cab.Reader)
		vanished := s.serveLine(d, l)
		p.Close()
		l.close()
		if !vanished {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-d.back:
		}
		s.mu.Lock()
		np, err := s.openPTY(d.link)
		if err != nil {
			s.mu.Unlock()
			s.log.Error("reader could not return", "cabinet", d.cab.ID, "err", err)
			return
		}
		d.pty, p = np, np
		s.mu.Unlock()
		s.log.Info("reader returned", "cabinet", d.cab.ID, "path", np.Path)
	}
}

// serveLine runs simulators on l until ctx ends (false) or the pty is closed by vanish (true).
func (s *Sim) serveLine(d *readerDev, l *line) bool {
	for {
		s.mu.Lock()
		v, err := s.buildReader(d)
		if err == nil {
			d.cur, d.curGen = v, d.gen
		}
		s.mu.Unlock()
		if err != nil {
			// Cannot happen for a tag set that passed the checks; keep the line quiet rather than
			// crash the room.
			s.log.Error("reader simulator refused its tags", "cabinet", d.cab.ID, "err", err)
			<-s.ctx.Done()
			return false
		}
		gctx, cancel := context.WithCancel(s.ctx)
		served := make(chan error, 1)
		go func() { served <- v.Serve(gctx, l.conn()) }()
		select {
		case <-d.swap:
			l.quiet(s.ctx)
			cancel()
			<-served
			continue
		case <-s.ctx.Done():
			cancel()
			<-served
			return false
		case <-l.dead:
			cancel()
			<-served
			return s.ctx.Err() == nil
		case err := <-served:
			cancel()
			if err != nil && s.ctx.Err() == nil {
				s.log.Warn("reader simulator stopped", "cabinet", d.cab.ID, "err", err)
			}
			select {
			case <-l.dead:
				return s.ctx.Err() == nil
			case <-s.ctx.Done():
				return false
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// Devices lists the simulated devices in scenario order: readers, controller buses, scanners.
func (s *Sim) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	link := func(l string) string {
		if s.opts.LinkDir == "" {
			return ""
		}
		return filepath.Join(s.opts.LinkDir, l)
	}
	path := func(p *cabsim.PTY, vanished bool) string {
		if p == nil || vanished {
			return ""
		}
		return p.Path
	}
	for _, id := range s.order {
		d := s.readers[id]
		out = append(out, Device{Kind: "reader", ID: id, Protocol: d.cab.Reader, Path: path(d.pty, d.pty != nil && isClosed(d.pty)), Link: link(d.link), Antennas: d.cab.Antennas})
	}
	for _, name := range s.busOrder {
		b := s.buses[name]
		out = append(out, Device{Kind: "controller", ID: name, Protocol: "cabinet", Path: path(b.pty, b.gone), Link: link(b.link), Cabinets: b.addrs})
	}
	for _, id := range s.scOrder {
		sd := s.scanners[id]
		out = append(out, Device{Kind: "scanner", ID: id, Protocol: "scanner", Path: path(sd.pty, sd.scan == nil), Link: link(sd.link)})
	}
	return out
}

// isClosed reports whether a pty was closed (the device vanished).
func isClosed(p *cabsim.PTY) bool {
	_, err := p.Master.Stat()
	return err != nil
}

// WriteDevices prints the devices, one line each: JSON objects with asJSON, else aligned text.
func WriteDevices(w io.Writer, devs []Device, asJSON bool) error {
	for _, d := range devs {
		var err error
		if asJSON {
			var b []byte
			b, err = json.Marshal(d)
			if err == nil {
				_, err = fmt.Fprintf(w, "%s\n", b)
			}
		} else {
			extra := ""
			switch {
			case d.Kind == "reader":
				extra = fmt.Sprintf(" antennas=%d", d.Antennas)
			case d.Kind == "controller":
				var cs []string
				for _, c := range d.Cabinets {
					cs = append(cs, fmt.Sprintf("%d=%s", c.Address, c.Cabinet))
				}
				extra = " cabinets=" + strings.Join(cs, ",")
			}
			path := d.Path
			if path == "" {
				path = "(vanished)"
			}
			if d.Link != "" {
				path += " link=" + d.Link
			}
			_, err = fmt.Fprintf(w, "%-10s %-6s %-7s %s%s\n", d.Kind, d.ID, d.Protocol, path, extra)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Exec runs one command (see CommandHelp) and returns what to tell the operator.
func (s *Sim) Exec(line string) (string, error) {
	c, err := parseCommand(line)
	if err != nil {
		return "", err
	}
	switch c.verb {
	case "help":
		return CommandHelp, nil
	case "quit":
		return "bye", ErrQuit
	case "devices":
		var b strings.Builder
		_ = WriteDevices(&b, s.Devices(), false)
		return strings.TrimRight(b.String(), "\n"), nil
	case "scan":
		return s.scan(c)
	case "vanish", "return":
		return s.plug(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.readers[c.target]
	if d == nil {
		return "", fmt.Errorf("%s: no cabinet %q", c.verb, c.target)
	}
	ctrl := s.ctrls[c.target]
	needCtrl := func() error {
		if ctrl == nil {
			return fmt.Errorf("%s: cabinet %s has no controller (no bus in the scenario)", c.verb, c.target)
		}
		return nil
	}
	if c.verb == "add" || c.verb == "remove" {
		// A tag moved from the desk's station keeps the EPC written there.
		for _, id := range s.order {
			s.readers[id].keepWrites()
		}
	}
	switch c.verb {
	case "door":
		if err := needCtrl(); err != nil {
			return "", err
		}
		if c.args[0] == "open" {
			if !ctrl.OpenByHand() {
				return "", fmt.Errorf("door: the bolt of cabinet %s is jammed; the door does not open (force it, or jam %s off)", c.target, c.target)
			}
		} else {
			ctrl.CloseDoor()
		}
		return fmt.Sprintf("cabinet %s: door %s", c.target, c.args[0]), nil
	case "tamper":
		if err := needCtrl(); err != nil {
			return "", err
		}
		ctrl.SetTamper(c.args[0] == "on")
		return fmt.Sprintf("cabinet %s: tamper %s", c.target, c.args[0]), nil
	case "mains":
		if err := needCtrl(); err != nil {
			return "", err
		}
		ctrl.SetMainsLost(c.args[0] == "lost")
		return fmt.Sprintf("cabinet %s: mains %s", c.target, c.args[0]), nil
	case "force":
		if err := needCtrl(); err != nil {
			return "", err
		}
		ctrl.OpenDoor()
		return fmt.Sprintf("cabinet %s: door forced open (bolt %s)", c.target, ctrl.Status().Lock), nil
	case "jam":
		if err := needCtrl(); err != nil {
			return "", err
		}
		ctrl.JamLock(len(c.args) == 0)
		return fmt.Sprintf("cabinet %s: bolt jammed %s", c.target, map[bool]string{true: "on", false: "off"}[len(c.args) == 0]), nil
	case "add":
		t := Tag{EPC: strings.ToUpper(c.args[0]), Antenna: 1}
		if len(c.args) > 1 {
			t.Antenna, _ = strconv.Atoi(c.args[1])
		}
		if len(c.args) > 2 {
			t.ReadProbability, _ = strconv.ParseFloat(c.args[2], 64)
		}
		if len(c.args) > 3 {
			t.RSSIDBm, _ = strconv.Atoi(c.args[3])
		}
		if _, err := checkTag(t.EPC, t.Antenna, d.cab.Antennas, t.ReadProbability, t.RSSIDBm); err != nil {
			return "", fmt.Errorf("add: %w", err)
		}
		for _, id := range s.order {
			if indexTag(s.readers[id].tags, t.EPC) >= 0 {
				return "", fmt.Errorf("add: tag %s is already in cabinet %s (remove it first)", t.EPC, id)
			}
		}
		d.tags = append(d.tags, t)
		d.gen++
		s.retag(c.target)
		return fmt.Sprintf("cabinet %s: tag %s added at antenna %d", c.target, t.EPC, t.Antenna), nil
	case "remove":
		i := indexTag(d.tags, c.args[0])
		if i < 0 {
			return "", fmt.Errorf("remove: no tag %s in cabinet %s", strings.ToUpper(c.args[0]), c.target)
		}
		d.tags = append(d.tags[:i:i], d.tags[i+1:]...)
		d.gen++
		s.retag(c.target)
		return fmt.Sprintf("cabinet %s: tag %s removed", c.target, strings.ToUpper(c.args[0])), nil
	case "fault":
		on := c.args[len(c.args)-1] != "off"
		state := map[bool]string{true: "on", false: "off"}[on]
		switch c.args[0] {
		case "antenna":
			a, _ := strconv.Atoi(c.args[1])
			if a < 1 || a > d.cab.Antennas {
				return "", fmt.Errorf("fault: antenna %d out of range 1–%d", a, d.cab.Antennas)
			}
			d.miss[a] = on
			if d.cur != nil {
				d.cur.SetAntennaMissing(a, on)
			}
			return fmt.Sprintf("cabinet %s: antenna %d missing %s", c.target, a, state), nil
		case "silent":
			d.quiet = on
			if d.cur != nil {
				d.cur.SetSilent(on)
			}
			return fmt.Sprintf("cabinet %s: reader silent %s", c.target, state), nil
		default: // controller-silent
			if err := needCtrl(); err != nil {
				return "", err
			}
			ctrl.SetSilent(on)
			return fmt.Sprintf("cabinet %s: controller silent %s", c.target, state), nil
		}
	}
	return "", fmt.Errorf("%s: not handled", c.verb)
}

// retag asks the reader of cabinet id, and every reader cross-reading from it, for a new
// simulator. Call with s.mu held.
func (s *Sim) retag(id string) {
	for _, oid := range s.order {
		d := s.readers[oid]
		hit := oid == id
		for _, x := range d.cab.CrossReads {
			hit = hit || x.From == id
		}
		if hit {
			select {
			case d.swap <- struct{}{}:
			default: // a swap is already pending; it will read the newest tags
			}
		}
	}
}

func (s *Sim) scan(c command) (string, error) {
	s.mu.Lock()
	sd := s.scanners[c.target]
	var dev *scansim.Serial
	if sd != nil {
		dev = sd.scan // vanish may clear it while this scan is being written
	}
	s.mu.Unlock()
	if sd == nil {
		return "", fmt.Errorf("scan: no scanner %q", c.target)
	}
	if dev == nil {
		return "", fmt.Errorf("scan: scanner %s is not plugged in", c.target)
	}
	sym := sd.spec.Symbology
	if len(c.args) > 1 {
		sym = c.args[1]
	}
	data := strings.ReplaceAll(c.args[0], "<GS>", "\x1d")
	if data == "" {
		return "", errors.New("scan: no data")
	}
	if err := dev.Scan(sym, data); err != nil {
		return "", err
	}
	return fmt.Sprintf("scanner %s: %s%s", c.target, sym, c.args[0]), nil
}

// plug makes a reader or scanner vanish (its pty is closed: the path disappears, a driver reading
// it sees the device gone) or return on a new pty, with its link repointed.
func (s *Sim) plug(c command) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.closed {
		return "", fmt.Errorf("%s: the simulator is not running", c.verb)
	}
	if d := s.readers[c.target]; d != nil {
		gone := d.pty == nil || isClosed(d.pty)
		if c.verb == "vanish" {
			if gone {
				return "", fmt.Errorf("vanish: reader of cabinet %s has already vanished", c.target)
			}
			d.pty.Close()
			s.removeLink(d.link)
			return fmt.Sprintf("cabinet %s: reader vanished", c.target), nil
		}
		if !gone {
			return "", fmt.Errorf("return: reader of cabinet %s is still there", c.target)
		}
		select {
		case d.back <- struct{}{}:
		default:
		}
		return fmt.Sprintf("cabinet %s: reader returning", c.target), nil
	}
	if sd := s.scanners[c.target]; sd != nil {
		if c.verb == "vanish" {
			if sd.scan == nil {
				return "", fmt.Errorf("vanish: scanner %s has already vanished", c.target)
			}
			sd.pty.Close()
			sd.scan = nil
			s.removeLink(sd.link)
			return fmt.Sprintf("scanner %s vanished", c.target), nil
		}
		if sd.scan != nil {
			return "", fmt.Errorf("return: scanner %s is still there", c.target)
		}
		if err := s.openScanner(sd); err != nil {
			return "", fmt.Errorf("return: scanner %s: %w", c.target, err)
		}
		return fmt.Sprintf("scanner %s returned at %s", c.target, sd.pty.Path), nil
	}
	if b := s.buses[c.target]; b != nil {
		if c.verb == "vanish" {
			if b.gone {
				return "", fmt.Errorf("vanish: controller bus %s has already vanished", c.target)
			}
			b.gone = true
			b.pty.Close()
			s.removeLink(b.link)
			return fmt.Sprintf("controller bus %s vanished", c.target), nil
		}
		if !b.gone {
			return "", fmt.Errorf("return: controller bus %s is still there", c.target)
		}
		if err := s.startBus(b); err != nil {
			return "", fmt.Errorf("return: controller bus %s: %w", c.target, err)
		}
		return fmt.Sprintf("controller bus %s returned at %s", c.target, b.pty.Path), nil
	}
	return "", fmt.Errorf("%s: no cabinet, bus or scanner %q", c.verb, c.target)
}

// Run prints the devices to out, runs the scenario's script and executes the commands read from
// in, one a line, until quit, ctx ends or Close. The end of in does not stop the simulator (a demo
// runs it with stdin closed). Run does not wait for the goroutine reading in: a read from a
// terminal cannot be interrupted, and it ends with the input or the process.
func (s *Sim) Run(ctx context.Context, in io.Reader, out io.Writer, asJSON bool) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.Close()
	var outMu sync.Mutex
	say := func(format string, a ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format, a...)
	}
	outMu.Lock()
	err := WriteDevices(out, s.Devices(), asJSON)
	outMu.Unlock()
	if err != nil {
		return fmt.Errorf("print devices: %w", err)
	}
	// With asJSON the replies are JSON lines too ({"reply":…} or {"error":…}), so a program driving
	// the simulator reads one format.
	reply := func(key, text string) {
		if asJSON {
			b, _ := json.Marshal(map[string]string{key: text})
			say("%s\n", b)
		} else if key == "error" {
			say("error: %s\n", text)
		} else {
			say("%s\n", text)
		}
	}
	exec := func(line, from string) {
		msg, err := s.Exec(line)
		switch {
		case errors.Is(err, ErrQuit):
			s.quitOne.Do(func() { close(s.quit) })
		case err != nil:
			reply("error", err.Error())
			s.log.Warn("command refused", "from", from, "command", line, "err", err)
		default:
			reply("reply", msg)
			s.log.Info("command", "from", from, "command", line)
		}
	}
	start := time.Now()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		steps := append([]Step(nil), s.sc.Script...)
		sort.SliceStable(steps, func(i, j int) bool { return steps[i].After.Duration < steps[j].After.Duration })
		for _, st := range steps {
			t := time.NewTimer(time.Until(start.Add(st.After.Duration)))
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			exec(st.Do, "script")
		}
	}()
	if in != nil {
		stopped := make(chan struct{})
		defer close(stopped)
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := newLineScanner(in)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				case <-stopped:
					return
				}
			}
		}()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.ctx.Done():
					return
				case l, ok := <-lines:
					if !ok {
						return
					}
					if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
						continue
					}
					exec(l, "stdin")
				}
			}
		}()
	}
	select {
	case <-s.ctx.Done():
	case <-s.quit:
	}
	return nil
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
