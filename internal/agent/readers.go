package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/agent/round"
	"github.com/custodyhq/custody/internal/netport"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/serialport"

	// The drivers join the registry from init().
	_ "github.com/custodyhq/custody/internal/reader/llrp"
	_ "github.com/custodyhq/custody/internal/reader/m6e"
	_ "github.com/custodyhq/custody/internal/reader/r2000"
)

// Port is an open serial line to a reader.
type Port = io.ReadWriteCloser

// openSerial opens the reader's port by path, or finds it by USB identity (internal/serialport
// names the device and gives the operator's next step in its errors), or dials it when the port
// is tcp://host:port (internal/netport: a serial device server, a TCP-native board, an LLRP
// reader — whose port defaults to 5084).
func openSerial(r config.Reader) (Port, error) {
	if netport.IsTCP(r.Port) {
		def := 0
		if r.Driver == "llrp" {
			def = 5084
		}
		return netport.Open(netport.Config{Role: "reader " + r.ID, Address: r.Port, DefaultPort: def})
	}
	c := serialport.Config{Role: "reader " + r.ID, Path: r.Port, Baud: r.Baud}
	if r.Port == "" {
		c.USB = &serialport.USB{VID: r.USBVID, PID: r.USBPID, Serial: r.USBSerial}
	}
	return serialport.Open(c)
}

// readerUnit owns one reader: it opens the port, keeps the driver, runs passes for the cabinet
// rounds one at a time, notices when the reader is lost and opens it again with backoff.
type readerUnit struct {
	cfg     config.Reader
	open    func(config.Reader) (Port, error)
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	mu        sync.Mutex // one pass or health check at a time
	drv       reader.Driver
	lost      chan struct{} // closed when the current driver is found broken
	lastFrame time.Time
	lastReads int // reads in the last pass: the next pass's slice starts that big
}

func newReaderUnit(rc config.Reader, open func(config.Reader) (Port, error), log *slog.Logger, m *metrics, now func() time.Time) *readerUnit {
	return &readerUnit{cfg: rc, open: open, log: log.With("reader", rc.ID), metrics: m, now: now}
}

// Reconnect backoff bounds.
const (
	reopenMin = 500 * time.Millisecond
	reopenMax = 5 * time.Second // opening a missing port is cheap; a replugged reader is back within this
	// probeEvery is how often an idle reader is asked who it is, so a reader unplugged between
	// rounds is noticed (and reported) before the next round needs it.
	probeEvery = 15 * time.Second
	// readerGrace is how long a reader may stay unplugged or unanswering before its cabinets get
	// a reader_fault: a replug or a reset is back well within it.
	readerGrace = 10 * time.Second
)

// supervise keeps the reader open until ctx ends. back is called each time the reader returns
// after having been lost (not at the first connection); down is called once when it has been
// away (or never came) for readerGrace, with why, and again with "" when it is back.
func (u *readerUnit) supervise(ctx context.Context, back func(*readerUnit), down func(*readerUnit, string)) {
	u.log.Info("reader supervisor started", "driver", u.cfg.Driver, "port", u.portName())
	defer u.log.Info("reader supervisor stopped")
	delay := reopenMin
	everConnected := false
	downSince, reported := u.now(), false
	for ctx.Err() == nil {
		lost, err := u.connect(ctx)
		if err != nil {
			if !reported && u.now().Sub(downSince) >= readerGrace {
				reported = true
				down(u, fmt.Sprintf("reader %s on %s unavailable since %s: %v", u.cfg.ID, u.portName(), downSince.UTC().Format(time.RFC3339), err))
			}
			u.metrics.readerErrors.WithLabelValues(u.cfg.ID, "open").Inc()
			u.log.Warn("reader not available; retrying", "error", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(delay*2, reopenMax)
			continue
		}
		delay = reopenMin
		if reported {
			down(u, "") // back: the fault clears
		}
		if everConnected {
			back(u)
		}
		everConnected, reported = true, false
		t := time.NewTicker(probeEvery)
	watch:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-lost:
				break watch
			case <-t.C:
				u.probe(ctx)
			}
		}
		t.Stop()
		downSince = u.now()
		u.log.Warn("reader lost; reopening")
	}
}

func (u *readerUnit) portName() string {
	if u.cfg.Port != "" {
		return u.cfg.Port
	}
	return "usb " + u.cfg.USBVID + ":" + u.cfg.USBPID + " " + u.cfg.USBSerial
}

// connect opens the port, builds the driver and asks the reader who it is.
func (u *readerUnit) connect(ctx context.Context) (<-chan struct{}, error) {
	port, err := u.open(u.cfg)
	if err != nil {
		return nil, err
	}
	drv, err := reader.New(u.cfg.Driver, port, reader.Config{ID: u.cfg.ID, Timeout: 2 * time.Second, Logger: u.log, RoundTime: u.cfg.RoundTime.Duration})
	if err != nil {
		port.Close()
		return nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	info, err := drv.Info(ictx)
	cancel()
	if err != nil {
		drv.Close()
		return nil, fmt.Errorf("reader on %s does not answer as a %s: %w", u.portName(), u.cfg.Driver, err)
	}
	lost := make(chan struct{})
	u.mu.Lock()
	u.drv, u.lost = drv, lost
	u.lastFrame = u.now()
	u.mu.Unlock()
	u.metrics.readerConnected.WithLabelValues(u.cfg.ID).Set(1)
	u.metrics.readerLastFrame.WithLabelValues(u.cfg.ID).Set(float64(u.now().Unix()))
	u.log.Info("reader connected", "model", info.Model, "firmware", info.Firmware, "antennas", info.Antennas)
	return lost, nil
}

// drop closes a broken driver and tells the supervisor. Called with mu held.
func (u *readerUnit) drop(err error) {
	if u.drv == nil {
		return
	}
	u.drv.Close()
	u.drv = nil
	close(u.lost)
	u.metrics.readerConnected.WithLabelValues(u.cfg.ID).Set(0)
	u.metrics.readerErrors.WithLabelValues(u.cfg.ID, "lost").Inc()
	u.log.Warn("reader link lost", "error", err)
}

func (u *readerUnit) probe(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.drv == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := u.drv.Info(pctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		u.drop(err)
		return
	}
	u.seen()
}

// seen records a frame from the reader. Called with mu held.
func (u *readerUnit) seen() {
	u.lastFrame = u.now()
	u.metrics.readerLastFrame.WithLabelValues(u.cfg.ID).Set(float64(u.lastFrame.Unix()))
}

// Connected reports whether the reader is open and answering.
func (u *readerUnit) Connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.drv != nil
}

// waitConnected waits up to d for the reader to be open: a round triggered while the reader is
// still being opened (at start, or just after it came back) should not fail for that alone.
func (u *readerUnit) waitConnected(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !u.Connected() {
		if time.Now().After(deadline) || !sleep(ctx, 50*time.Millisecond) {
			return false
		}
	}
	return true
}

func (u *readerUnit) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.drv == nil {
		return nil
	}
	err := u.drv.Close()
	u.drv = nil
	return err
}

// errNotConnected is a pass on a reader that is not open.
var errReaderDown = errors.New("reader not connected")

// Pass runs one pass (round.Passer): one driver round per group of antennas that share a power
// setting, collecting tag reads and each antenna's health.
func (u *readerUnit) Pass(ctx context.Context, p round.Pass) (round.PassResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.drv == nil {
		return round.PassResult{}, fmt.Errorf("%w (%s)", errReaderDown, u.portName())
	}
	groups := map[float64][]int{}
	for _, a := range p.Antennas {
		groups[p.Power[a]] = append(groups[p.Power[a]], a)
	}
	powers := make([]float64, 0, len(groups))
	for pw := range groups {
		powers = append(powers, pw)
	}
	sort.Float64s(powers)
	res := round.PassResult{Reads: make([]round.Read, 0, u.lastReads+u.lastReads/8)}
	target := reader.TargetA
	if p.TargetB {
		target = reader.TargetB
	}
	for _, pw := range powers {
		ants := groups[pw]
		faults := map[int]string{}
		ended := map[int]bool{}
		emit := func(e reader.Event) {
			switch v := e.(type) {
			case reader.TagRead:
				res.Reads = append(res.Reads, round.Read{EPC: reader.HexUpper(v.EPC), Antenna: v.Antenna, RSSI: float64(v.RSSIDBm), At: v.Time, Count: v.ReadCount})
			case reader.Fault:
				if v.Antenna > 0 {
					faults[v.Antenna] = v.Message
				}
				u.metrics.readerErrors.WithLabelValues(u.cfg.ID, "fault").Inc()
			case reader.RoundEnd:
				for _, a := range v.Antennas {
					ended[a] = true
				}
				for _, a := range v.Missing {
					if faults[a] == "" {
						faults[a] = "antenna missing"
					}
				}
			}
		}
		err := u.drv.Inventory(ctx, reader.Plan{Antennas: ants, Session: u.cfg.Session, Target: target, PowerDBm: pw, Rounds: 1}, emit)
		if err != nil {
			if ctx.Err() == nil {
				u.metrics.readerErrors.WithLabelValues(u.cfg.ID, "pass").Inc()
				u.drop(err)
			}
			return res, err
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		u.seen()
		for _, a := range ants {
			switch {
			case faults[a] != "":
				res.Antennas = append(res.Antennas, round.AntennaStatus{Antenna: a, OK: false, Error: faults[a]})
			case ended[a]:
				res.Antennas = append(res.Antennas, round.AntennaStatus{Antenna: a, OK: true})
			}
		}
	}
	u.lastReads = len(res.Reads)
	u.metrics.tagReads.WithLabelValues(u.cfg.ID).Add(float64(len(res.Reads)))
	return res, nil
}
