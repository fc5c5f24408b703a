package cabinetsim

import (
	"fmt"
	"strconv"
	"strings"
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
		case len(c.args) >= 1 && len(c.args) <= 2 && (c.args[0] == "silent" || c.args[0] == "controller-silent"):
			if len(c.args) == 2 && c.args[1] != "off" {
				return bad("fault CAB silent|controller-silent [off]")
			}
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
