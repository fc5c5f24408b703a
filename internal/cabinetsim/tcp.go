package cabinetsim

import (
	"context"
	"fmt"
	"net"
	"time"

	rsim "github.com/custodyhq/custody/internal/reader/sim"
)

// This file serves readers over TCP (Cabinet.Listen): an LLRP reader, or an R2000/M6e behind a
// serial device server. The simulator serves each accepted connection as it serves a pty; a new
// tag set is given to the running simulator (SetTags) rather than by replacing it, since a TCP
// client may hold its connection for hours; vanish closes the listener and every connection,
// and return listens again on the same address.

// listenReader opens the reader's listener; the first start fixes the address (port 0 picks one).
// Call with s.mu held.
func (s *Sim) listenReader(d *readerDev) (net.Listener, error) {
	addr := d.addr
	if addr == "" {
		addr = d.cab.Listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	d.addr = ln.Addr().String()
	return ln, nil
}

// serveTCPReader serves one TCP reader until ctx ends, across vanish and return. lctx is the life
// of the current plug-in: vanish cancels it (d.unplug), return hands over the next one.
func (s *Sim) serveTCPReader(d *readerDev, ln net.Listener, lctx context.Context) {
	defer s.wg.Done()
	s.mu.Lock()
	v, err := s.buildReader(d)
	if err == nil {
		d.cur, d.curGen = v, d.gen
		d.llrpSim, _ = v.(*rsim.LLRP)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("reader simulator refused its tags", "cabinet", d.cab.ID, "err", err)
		ln.Close()
		return
	}
	for {
		served := make(chan error, 1)
		go func() { served <- rsim.ServeListener(lctx, ln, v.Serve) }()
		s.log.Info("reader listening", "cabinet", d.cab.ID, "protocol", d.cab.Reader, "address", d.addr)
	serving:
		for {
			select {
			case <-d.swap:
				s.mu.Lock()
				err := v.SetTags(s.simTags(d))
				d.curGen = d.gen
				s.mu.Unlock()
				if err != nil {
					s.log.Error("reader simulator refused its tags", "cabinet", d.cab.ID, "err", err)
				}
			case <-lctx.Done():
				break serving
			case err := <-served:
				if err != nil && s.ctx.Err() == nil {
					s.log.Warn("reader listener stopped", "cabinet", d.cab.ID, "err", err)
				}
				served <- nil // for the wait below
				<-lctx.Done()
				break serving
			}
		}
		<-served
		if s.ctx.Err() != nil {
			return
		}
		// Vanished: wait for the return, then listen on the same address again (the old
		// socket may hold the port a moment).
		select {
		case <-s.ctx.Done():
			return
		case lctx = <-d.tcpBack:
		}
		for {
			s.mu.Lock()
			ln, err = s.listenReader(d)
			s.mu.Unlock()
			if err == nil {
				break
			}
			s.log.Warn("reader could not return yet", "cabinet", d.cab.ID, "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		s.log.Info("reader returned", "cabinet", d.cab.ID, "address", d.addr)
	}
}

// plugIn starts a plug-in of a TCP reader: its life ends with ctx or with d.unplug. Call with
// s.mu held.
func (s *Sim) plugIn(d *readerDev) context.Context {
	lctx, cancel := context.WithCancel(s.ctx)
	d.unplug = cancel
	return lctx
}

// tcpGone reports whether a TCP reader has vanished. Call with s.mu held.
func (d *readerDev) tcpGone() bool { return d.unplug == nil }
