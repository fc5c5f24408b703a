package cabinetsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	cabsim "github.com/custodyhq/custody/internal/cabinet/sim"
	scansim "github.com/custodyhq/custody/internal/scanner/sim"
)

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
		if d.cab.Listen != "" {
			ln, err := s.listenReader(d)
			if err != nil {
				return fail(fmt.Errorf("cabinet %s reader: %w", id, err))
			}
			s.wg.Add(1)
			go s.serveTCPReader(d, ln, s.plugIn(d))
			continue
		}
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
		if d.cab.Listen != "" {
			p := ""
			if d.addr != "" && !d.tcpGone() {
				p = "tcp://" + d.addr
			}
			out = append(out, Device{Kind: "reader", ID: id, Protocol: d.cab.Reader, Path: p, Antennas: d.cab.Antennas})
			continue
		}
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
