package cabinetsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/reader/llrp"
	scansim "github.com/custodyhq/custody/internal/scanner/sim"
)

// CommandHelp lists the commands a trainer types (or a script runs).
const CommandHelp = `commands:
  door CAB open|close                 open (with the key or badge: unlocks at the cabinet) or close a cabinet's door
  force CAB                           the door is forced: it opens while the bolt is locked
  jam CAB [off]                       the bolt sticks: lock and unlock commands fail (lock_fault)
  tamper CAB [on|off]                 the cabinet's tamper switch (on when not said)
  mains CAB lost|restored             the controller's mains supply (also off|on)
  add CAB EPC [ANT [PROB [RSSI]]]     put a tagged item in a cabinet (antenna 1, always read, -55 dBm)
  remove CAB EPC                      take it out (its cross-reads stop too)
  scan DESK [SYMBOLOGY] DATA          a barcode read at a desk scanner; <GS> in DATA is a GS (FNC1)
  fault CAB antenna N [off]           an antenna drops out (or comes back)
  fault CAB silent [off]              the reader stops answering (or answers again)
  fault CAB controller-silent [off]   the cabinet's controller stops answering
  fault CAB drop-report               LLRP: the reader cuts its connection in the middle of its next report
  fault CAB refuse                    LLRP: the reader refuses the next round with an error status (P_FieldError)
  fault CAB custom [off]              LLRP: the reader adds vendor custom parameters to its reports
  vanish CAB|BUS|DESK                 the reader (controller bus, scanner) is unplugged: its device disappears
  return CAB|BUS|DESK                 it is plugged in again (new device path; links follow)
  devices                             list the devices
  help                                this text
  quit                                stop the simulator`

// command is one parsed command line.
type command struct {
	verb   string
	target string
	args   []string
}

func parseCommand(s string) (command, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return command{}, fmt.Errorf("empty command")
	}
	c := command{verb: f[0]}
	if len(f) > 1 {
		c.target, c.args = f[1], f[2:]
	}
	bad := func(usage string) (command, error) {
		return command{}, fmt.Errorf("%q: usage: %s", s, usage)
	}
	switch c.verb {
	case "help", "devices", "quit":
		if len(f) != 1 {
			return bad(c.verb)
		}
	case "door":
		if len(c.args) != 1 || (c.args[0] != "open" && c.args[0] != "close") {
			return bad("door CAB open|close")
		}
	case "tamper":
		if len(c.args) == 0 {
			c.args = []string{"on"}
		}
		if len(c.args) != 1 || (c.args[0] != "on" && c.args[0] != "off") {
			return bad("tamper CAB [on|off]")
		}
	case "mains":
		if len(c.args) == 1 {
			switch c.args[0] {
			case "off":
				c.args[0] = "lost"
			case "on":
				c.args[0] = "restored"
			}
		}
		if len(c.args) != 1 || (c.args[0] != "lost" && c.args[0] != "restored") {
			return bad("mains CAB lost|restored|off|on")
		}
	case "force":
		if len(c.args) != 0 {
			return bad("force CAB")
		}
	case "jam":
		if len(c.args) > 1 || len(c.args) == 1 && c.args[0] != "off" {
			return bad("jam CAB [off]")
		}
	case "add":
		if len(c.args) < 1 || len(c.args) > 4 {
			return bad("add CAB EPC [ANT [PROB [RSSI]]]")
		}
		if _, err := checkEPC(c.args[0]); err != nil {
			return command{}, fmt.Errorf("%q: %w", s, err)
		}
		for i, a := range c.args[1:] {
			var err error
			if i == 1 {
				_, err = strconv.ParseFloat(a, 64)
			} else {
				_, err = strconv.Atoi(a)
			}
			if err != nil {
				return bad("add CAB EPC [ANT [PROB [RSSI]]] with numbers")
			}
		}
	case "remove":
		if len(c.args) != 1 {
			return bad("remove CAB EPC")
		}
	case "scan":
		if len(c.args) < 1 {
			return bad("scan DESK [SYMBOLOGY] DATA")
		}
		// The data may hold spaces: keep the rest of the line as typed.
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "scan"))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, c.target))
		c.args = []string{rest}
		if sym, data, ok := strings.Cut(rest, " "); ok && len(sym) == 3 && sym[0] == ']' {
			c.args = []string{strings.TrimSpace(data), sym}
		}
	case "fault":
		switch {
		case len(c.args) >= 2 && len(c.args) <= 3 && c.args[0] == "antenna":
			if _, err := strconv.Atoi(c.args[1]); err != nil {
				return bad("fault CAB antenna N [off]")
			}
			if len(c.args) == 3 && c.args[2] != "off" {
				return bad("fault CAB antenna N [off]")
			}
		case len(c.args) >= 1 && len(c.args) <= 2 && (c.args[0] == "silent" || c.args[0] == "controller-silent" || c.args[0] == "custom"):
			if len(c.args) == 2 && c.args[1] != "off" {
				return bad("fault CAB silent|controller-silent|custom [off]")
			}
		case len(c.args) == 1 && (c.args[0] == "drop-report" || c.args[0] == "refuse"):
		default:
			return bad("fault CAB antenna N [off] | fault CAB silent [off] | fault CAB controller-silent [off]")
		}
	case "vanish", "return":
		if len(c.args) != 0 || c.target == "" {
			return bad(c.verb + " CAB|BUS|DESK")
		}
	default:
		return command{}, fmt.Errorf("%q: unknown command %q (type help)", s, c.verb)
	}
	if c.target == "" && c.verb != "help" && c.verb != "devices" && c.verb != "quit" {
		return command{}, fmt.Errorf("%q: which cabinet or desk?", s)
	}
	return c, nil
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
		case "drop-report", "refuse", "custom":
			if d.llrpSim == nil {
				return "", fmt.Errorf("fault %s: cabinet %s's reader is not an LLRP reader", c.args[0], c.target)
			}
			switch c.args[0] {
			case "drop-report":
				d.llrpSim.DropMidReport()
				return fmt.Sprintf("cabinet %s: reader will drop its connection mid-report", c.target), nil
			case "refuse":
				d.llrpSim.Refuse(llrp.StatusPFieldError)
				return fmt.Sprintf("cabinet %s: reader will refuse the next round", c.target), nil
			}
			d.llrpSim.SetCustom(on)
			return fmt.Sprintf("cabinet %s: custom parameters %s", c.target, state), nil
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
	if d := s.readers[c.target]; d != nil && d.cab.Listen != "" {
		if c.verb == "vanish" {
			if d.tcpGone() {
				return "", fmt.Errorf("vanish: reader of cabinet %s has already vanished", c.target)
			}
			d.unplug()
			d.unplug = nil
			return fmt.Sprintf("cabinet %s: reader vanished (tcp://%s closed)", c.target, d.addr), nil
		}
		if !d.tcpGone() {
			return "", fmt.Errorf("return: reader of cabinet %s is still there", c.target)
		}
		select {
		case <-d.tcpBack: // a plug-in the server never took (vanished again at once)
		default:
		}
		d.tcpBack <- s.plugIn(d) // only commands send, under s.mu: never blocks
		return fmt.Sprintf("cabinet %s: reader returning at tcp://%s", c.target, d.addr), nil
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
