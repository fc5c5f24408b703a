package cabinetsim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/custodyhq/custody/internal/duration"
)

// Scenario is a scenario file: the cabinets (each with its reader, and its controller on a bus),
// the desk scanners, and a script of commands to run at given times.
type Scenario struct {
	Seed     uint64    `toml:"seed"` // read dice; the same seed and commands give the same reads
	Cabinets []Cabinet `toml:"cabinet"`
	Scanners []Scanner `toml:"scanner"`
	Script   []Step    `toml:"script"`
}

// Cabinet is one steel cabinet: a reader of one family with its antennas, the tags inside, the
// neighbours' tags its reader also hears, and optionally a controller (door, lock) on a bus.
type Cabinet struct {
	ID     string `toml:"id"`     // as in the register and the agent config, e.g. "C-01"
	Link   string `toml:"link"`   // name for --link-dir: DIR/<link>-reader; default: the id in lower case
	Reader string `toml:"reader"` // r2000, m6e or llrp
	// Listen serves the reader over TCP at host:port instead of a pseudo-terminal: an R2000 or
	// M6e behind a serial device server (the agent's port is tcp://host:port), or an LLRP reader,
	// which is always on TCP (default 127.0.0.1:0, any free port). Port 0 picks a free port once;
	// the reader keeps it when it vanishes and returns.
	Listen          string      `toml:"listen"`
	Antennas        int         `toml:"antennas"` // 1–4; default 4
	Firmware        string      `toml:"firmware"` // "major.minor" the reader reports
	Bus             string      `toml:"bus"`      // controller bus (one device per bus); empty: no controller
	Address         int         `toml:"address"`  // controller address on the bus, 1–247
	MissingAntennas []int       `toml:"missing_antennas"`
	Tags            []Tag       `toml:"tag"`
	CrossReads      []CrossRead `toml:"cross_read"`
}

// Tag is a tagged item at one antenna.
type Tag struct {
	EPC             string  `toml:"epc"`              // hex
	Antenna         int     `toml:"antenna"`          // from 1
	ReadProbability float64 `toml:"read_probability"` // per pass (one inventory command), 0–1; 0 means always
	RSSIDBm         int     `toml:"rssi_dbm"`         // typical RSSI; 0 means −55 dBm
}

// CrossRead is a tag of a neighbouring cabinet that this cabinet's reader hears, weakly and
// rarely, at one of its antennas. It is heard only while the tag is in that cabinet.
type CrossRead struct {
	From            string  `toml:"from"` // the neighbouring cabinet's id
	EPC             string  `toml:"epc"`
	Antenna         int     `toml:"antenna"`
	ReadProbability float64 `toml:"read_probability"`
	RSSIDBm         int     `toml:"rssi_dbm"`
}

// Scanner is a desk barcode scanner in serial (CDC-ACM) mode.
type Scanner struct {
	ID        string `toml:"id"`        // desk id, e.g. "D-01"
	Link      string `toml:"link"`      // DIR/<link>-scanner; default: the id in lower case
	Suffix    string `toml:"suffix"`    // CR, LF or CRLF; default CRLF
	AIM       *bool  `toml:"aim"`       // send AIM symbology identifiers; default true
	Symbology string `toml:"symbology"` // for scans that name none; default "]C1" (GS1-128)
}

// Step is one scripted command: Do (a command as typed on stdin) After a delay from the start.
type Step struct {
	After Duration `toml:"after"`
	Do    string   `toml:"do"`
}

// Duration is the one duration type of custody's TOML files.
type Duration = duration.Duration

// LoadScenario reads a scenario file.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes a scenario strictly: a key it does not know is an error naming the key, so
// a typo does not silently leave a cabinet without its door or a tag without its antenna.
func ParseScenario(b []byte) (Scenario, error) {
	var sc Scenario
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&sc)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Scenario{}, fmt.Errorf("scenario: unknown key %s", strings.Join(keys, ", "))
	}
	if err := sc.normalise(); err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	return sc, nil
}

var linkName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func slug(id string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9._-]+`).ReplaceAllString(strings.ToLower(id), "-"), "-")
}

func checkEPC(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 || len(b)%2 != 0 || len(b) > 62 {
		return "", fmt.Errorf("EPC %q: want 2–62 bytes (a whole number of words) of hex", s)
	}
	return strings.ToUpper(s), nil
}

func checkTag(epc string, antenna, antennas int, p float64, rssi int) (string, error) {
	e, err := checkEPC(epc)
	if err != nil {
		return "", err
	}
	if antenna < 1 || antenna > antennas {
		return "", fmt.Errorf("tag %s: antenna %d out of range 1–%d", e, antenna, antennas)
	}
	if p < 0 || p > 1 {
		return "", fmt.Errorf("tag %s: read_probability %v out of range 0–1", e, p)
	}
	if rssi > 0 || rssi < -99 {
		return "", fmt.Errorf("tag %s: rssi_dbm %d out of range -99–0", e, rssi)
	}
	return e, nil
}

// normalise fills defaults and checks the scenario, naming the place of every mistake.
func (sc *Scenario) normalise() error {
	ids := map[string]bool{}
	links := map[string]bool{}
	addrs := map[string]string{}
	where := map[string]string{} // EPC → cabinet holding it
	useLink := func(l, owner string) error {
		if !linkName.MatchString(l) {
			return fmt.Errorf("%s: link %q: want lower-case letters, digits, '.', '_' or '-'", owner, l)
		}
		if links[l] {
			return fmt.Errorf("%s: link %q used twice", owner, l)
		}
		links[l] = true
		return nil
	}
	if len(sc.Cabinets) == 0 && len(sc.Scanners) == 0 {
		return fmt.Errorf("no [[cabinet]] and no [[scanner]]: nothing to simulate")
	}
	for i := range sc.Cabinets {
		c := &sc.Cabinets[i]
		at := fmt.Sprintf("cabinet[%d]", i)
		if c.ID == "" {
			return fmt.Errorf("%s: id is required", at)
		}
		at = fmt.Sprintf("cabinet %s", c.ID)
		if ids[c.ID] {
			return fmt.Errorf("%s: id used twice", at)
		}
		ids[c.ID] = true
		if c.Link == "" {
			c.Link = slug(c.ID)
		}
		if err := useLink(c.Link+"-reader", at); err != nil {
			return err
		}
		switch c.Reader {
		case "r2000", "m6e":
		case "llrp":
			if c.Listen == "" {
				c.Listen = "127.0.0.1:0"
			}
		default:
			return fmt.Errorf("%s: reader %q: want r2000, m6e or llrp", at, c.Reader)
		}
		if c.Listen != "" {
			if _, p, err := net.SplitHostPort(c.Listen); err != nil || p == "" {
				return fmt.Errorf("%s: listen %q: want host:port, e.g. 127.0.0.1:4001", at, c.Listen)
			}
		}
		if c.Antennas == 0 {
			c.Antennas = 4
		}
		if c.Antennas < 1 || c.Antennas > 4 {
			return fmt.Errorf("%s: antennas %d out of range 1–4", at, c.Antennas)
		}
		if c.Firmware != "" {
			var a, b int
			if _, err := fmt.Sscanf(c.Firmware, "%d.%d", &a, &b); err != nil {
				return fmt.Errorf("%s: firmware %q: want major.minor", at, c.Firmware)
			}
		}
		if c.Bus != "" {
			if c.Address < 1 || c.Address > 0xF7 {
				return fmt.Errorf("%s: address %d out of range 1–247", at, c.Address)
			}
			key := fmt.Sprintf("%s/%d", c.Bus, c.Address)
			if other, dup := addrs[key]; dup {
				return fmt.Errorf("%s: address %d on bus %s is already cabinet %s", at, c.Address, c.Bus, other)
			}
			addrs[key] = c.ID
		} else if c.Address != 0 {
			return fmt.Errorf("%s: address without a bus", at)
		}
		for _, a := range c.MissingAntennas {
			if a < 1 || a > c.Antennas {
				return fmt.Errorf("%s: missing_antennas: %d out of range 1–%d", at, a, c.Antennas)
			}
		}
		for j := range c.Tags {
			t := &c.Tags[j]
			e, err := checkTag(t.EPC, t.Antenna, c.Antennas, t.ReadProbability, t.RSSIDBm)
			if err != nil {
				return fmt.Errorf("%s: tag[%d]: %w", at, j, err)
			}
			if other, dup := where[e]; dup {
				return fmt.Errorf("%s: tag %s is already in cabinet %s", at, e, other)
			}
			t.EPC, where[e] = e, c.ID
		}
	}
	for _, l := range sortedBuses(sc.Cabinets) {
		if err := useLink(slug(l)+"-controller", "bus "+l); err != nil {
			return err
		}
	}
	for i := range sc.Cabinets {
		c := &sc.Cabinets[i]
		for j := range c.CrossReads {
			x := &c.CrossReads[j]
			at := fmt.Sprintf("cabinet %s: cross_read[%d]", c.ID, j)
			e, err := checkTag(x.EPC, x.Antenna, c.Antennas, x.ReadProbability, x.RSSIDBm)
			if err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
			x.EPC = e
			if x.From == c.ID || !ids[x.From] {
				return fmt.Errorf("%s: from %q: want another cabinet of this scenario", at, x.From)
			}
		}
	}
	for i := range sc.Scanners {
		s := &sc.Scanners[i]
		at := fmt.Sprintf("scanner[%d]", i)
		if s.ID == "" {
			return fmt.Errorf("%s: id is required", at)
		}
		at = "scanner " + s.ID
		if ids[s.ID] {
			return fmt.Errorf("%s: id used twice", at)
		}
		ids[s.ID] = true
		if s.Link == "" {
			s.Link = slug(s.ID)
		}
		if err := useLink(s.Link+"-scanner", at); err != nil {
			return err
		}
		switch s.Suffix {
		case "":
			s.Suffix = "CRLF"
		case "CR", "LF", "CRLF":
		default:
			return fmt.Errorf("%s: suffix %q: want CR, LF or CRLF", at, s.Suffix)
		}
		if s.AIM == nil {
			yes := true
			s.AIM = &yes
		}
		if s.Symbology == "" {
			s.Symbology = "]C1"
		}
		if len(s.Symbology) != 3 || s.Symbology[0] != ']' {
			return fmt.Errorf("%s: symbology %q: want an AIM identifier like ]C1", at, s.Symbology)
		}
	}
	for i, st := range sc.Script {
		if st.After.Duration < 0 {
			return fmt.Errorf("script[%d]: after %v is negative", i, st.After.Duration)
		}
		if _, err := parseCommand(st.Do); err != nil {
			return fmt.Errorf("script[%d]: %w", i, err)
		}
	}
	return nil
}

// sortedBuses lists the bus names in order of first appearance.
func sortedBuses(cs []Cabinet) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cs {
		if c.Bus != "" && !seen[c.Bus] {
			seen[c.Bus] = true
			out = append(out, c.Bus)
		}
	}
	return out
}
