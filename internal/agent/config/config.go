// Package config reads custody-agent's TOML configuration.
//
// Contract: decoding is strict — an unknown key is an error naming it, and every value error names
// its key the way the file spells it (reader[0].antenna[1].cabinet). Parse does no I/O; Load reads
// the file and, when key_file or password_file are set, those files too. The sample configuration
// is embedded (Sample) and copied into deploy/custody-agent.toml; a test keeps them equal.
package config

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/duration"
	"github.com/custodyhq/custody/internal/netport"
)

//go:embed sample.toml
var sample []byte

// Sample is the annotated sample configuration.
func Sample() []byte { return append([]byte(nil), sample...) }

// Duration is the one duration type of custody's TOML files.
type Duration = duration.Duration

// Config is the whole file.
type Config struct {
	Agent       Agent        `toml:"agent"`
	MQTT        MQTT         `toml:"mqtt"`
	Readers     []Reader     `toml:"reader"`
	Controllers []Controller `toml:"controller"`
	Scanners    []Scanner    `toml:"scanner"`
	Rounds      Rounds       `toml:"rounds"`
	Schedule    Schedule     `toml:"schedule"`
	Crypto      Crypto       `toml:"crypto"`
}

// Crypto is the [crypto] table: the installation's algorithms (cryptoprofile), the same word as
// custodyd's.
type Crypto struct {
	Profile string `toml:"profile"`
}

// CryptoProfile is the agent's profile (validated at load).
func (c *Config) CryptoProfile() cryptoprofile.Profile {
	p, _ := cryptoprofile.Parse(c.Crypto.Profile)
	return p
}

// Agent is the [agent] table.
type Agent struct {
	ID              string  `toml:"id"`
	Key             string  `toml:"key"`
	KeyFile         string  `toml:"key_file"`
	Outbox          string  `toml:"outbox"`
	OutboxMaxMB     int64   `toml:"outbox_max_mb"`
	OutboxHighWater float64 `toml:"outbox_high_water"`
	HealthListen    string  `toml:"health_listen"`

	// KeyBytes is the decoded key, filled by Load (or by Parse when key is inline).
	KeyBytes []byte `toml:"-"`
}

// MQTT is the [mqtt] table.
type MQTT struct {
	Brokers              []string `toml:"brokers"`
	BaseTopic            string   `toml:"base_topic"`
	Username             string   `toml:"username"`
	Password             string   `toml:"password"`
	PasswordFile         string   `toml:"password_file"`
	CAFile               string   `toml:"ca_file"`
	CertFile             string   `toml:"cert_file"`
	KeyFile              string   `toml:"key_file"`
	Keepalive            Duration `toml:"keepalive"`
	MaxReconnectInterval Duration `toml:"max_reconnect_interval"`
}

// Reader is one [[reader]].
type Reader struct {
	ID         string    `toml:"id"`
	Driver     string    `toml:"driver"`
	Port       string    `toml:"port"`
	USBVID     string    `toml:"usb_vid"`
	USBPID     string    `toml:"usb_pid"`
	USBSerial  string    `toml:"usb_serial"`
	Baud       int       `toml:"baud"`
	Session    int       `toml:"session"`
	Target     string    `toml:"target"`
	FlipTarget *bool     `toml:"flip_target"` // nil means true: see defaults
	Antennas   []Antenna `toml:"antenna"`
	// RoundTime (LLRP readers only) makes each round a fixed time; unset, the reader ends a round
	// once no new tag has been seen for 300 ms (at most 3 s).
	RoundTime Duration `toml:"round_time"`

	// Station makes the reader the tag-encoding station of that desk (encode_tag commands); such
	// a reader serves no cabinet. StationAntenna is the pad's port (default 1), StationPowerDBm
	// its power (0 keeps the reader's setting; keep it low so only the copy on the pad answers).
	Station         string  `toml:"station"`
	StationAntenna  int     `toml:"station_antenna"`
	StationPowerDBm float64 `toml:"station_power_dbm"`
}

// Antenna maps one reader port to a cabinet zone.
type Antenna struct {
	Port     int     `toml:"port"`
	Cabinet  string  `toml:"cabinet"`
	Zone     string  `toml:"zone"`
	PowerDBm float64 `toml:"power_dbm"`
}

// Controller is one [[controller]]: a bus of cabinet controllers.
type Controller struct {
	ID       string           `toml:"id"`
	Port     string           `toml:"port"`
	Baud     int              `toml:"baud"`
	Cabinets []ControllerSlot `toml:"cabinet"`
}

// ControllerSlot is one address on a controller bus.
type ControllerSlot struct {
	Address int    `toml:"address"`
	Cabinet string `toml:"cabinet"`
}

// Scanner is one [[scanner]].
type Scanner struct {
	ID     string `toml:"id"`
	Desk   string `toml:"desk"`
	Port   string `toml:"port"`
	Device string `toml:"device"`
	Baud   int    `toml:"baud"`
}

// Rounds is the [rounds] table.
type Rounds struct {
	QuietPasses        int      `toml:"quiet_passes"`
	MaxPasses          int      `toml:"max_passes"`
	TimeLimit          Duration `toml:"time_limit"`
	ConfirmQuietPasses int      `toml:"confirm_quiet_passes"`
	ConfirmMaxPasses   int      `toml:"confirm_max_passes"`
	ConfirmTimeLimit   Duration `toml:"confirm_time_limit"`
	LeftAfterRounds    int      `toml:"left_after_rounds"`
}

// Schedule is the [schedule] table.
type Schedule struct {
	Every            Duration   `toml:"every"`
	AfterDoorClose   []Duration `toml:"after_door_close"`
	AfterPowerReturn bool       `toml:"after_power_return"`
}

// Drivers the agent knows; a config naming another is refused at start.
var Drivers = []string{"r2000", "m6e", "llrp"}

// defaults fills what the file left out.
func (c *Config) defaults() {
	if c.Agent.OutboxMaxMB == 0 {
		c.Agent.OutboxMaxMB = 64
	}
	if c.Agent.OutboxHighWater == 0 {
		c.Agent.OutboxHighWater = 0.5
	}
	if c.MQTT.BaseTopic == "" {
		c.MQTT.BaseTopic = "custody"
	}
	if c.MQTT.Keepalive.Duration == 0 {
		c.MQTT.Keepalive.Duration = 30 * time.Second
	}
	if c.MQTT.MaxReconnectInterval.Duration == 0 {
		c.MQTT.MaxReconnectInterval.Duration = 30 * time.Second
	}
	for i := range c.Readers {
		r := &c.Readers[i]
		if r.Baud == 0 {
			r.Baud = 115200
		}
		if r.Target == "" {
			r.Target = "A"
		}
		if r.Station != "" && r.StationAntenna == 0 {
			r.StationAntenna = 1
		}
		if r.FlipTarget == nil {
			// With session 1–3 a tag read under target A turns to B and stays silent to A for a
			// while; passes that never flip would see fewer tags each time.
			t := true
			r.FlipTarget = &t
		}
	}
	for i := range c.Controllers {
		if c.Controllers[i].Baud == 0 {
			c.Controllers[i].Baud = 9600
		}
	}
	for i := range c.Scanners {
		if c.Scanners[i].Baud == 0 {
			c.Scanners[i].Baud = 9600
		}
	}
	r := &c.Rounds
	if r.QuietPasses == 0 {
		r.QuietPasses = 3
	}
	if r.MaxPasses == 0 {
		r.MaxPasses = 20
	}
	if r.TimeLimit.Duration == 0 {
		r.TimeLimit.Duration = 30 * time.Second
	}
	if r.ConfirmQuietPasses == 0 {
		r.ConfirmQuietPasses = 2 * r.QuietPasses
	}
	if r.ConfirmMaxPasses == 0 {
		r.ConfirmMaxPasses = 3 * r.MaxPasses
	}
	if r.ConfirmTimeLimit.Duration == 0 {
		r.ConfirmTimeLimit.Duration = 3 * r.TimeLimit.Duration
	}
	if r.LeftAfterRounds == 0 {
		r.LeftAfterRounds = 2
	}
}

// Parse decodes and checks a configuration. name is used in messages (the file's path).
// key_file and password_file are not read here; Load reads them.
func Parse(data []byte, name string) (Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return Config{}, fmt.Errorf("%s: line %d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return Config{}, fmt.Errorf("%s: line %d: %s", name, pe.Position.Line, pe.Message)
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("%s: unknown key %s (misspelt? deploy/custody-agent.toml lists every key)", name, strings.Join(keys, ", "))
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if c.Agent.Key != "" {
		k, err := decodeKey(c.Agent.Key)
		if err != nil {
			return Config{}, fmt.Errorf("%s: agent.key: %w", name, err)
		}
		c.Agent.KeyBytes = k
	}
	return c, nil
}

// Load reads the file at path, then the key file and password file it names.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return Config{}, err
	}
	if c.Agent.KeyFile != "" {
		b, err := os.ReadFile(c.Agent.KeyFile)
		if err != nil {
			return Config{}, fmt.Errorf("%s: agent.key_file: %w", path, err)
		}
		k, err := decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return Config{}, fmt.Errorf("%s: agent.key_file %s: %w", path, c.Agent.KeyFile, err)
		}
		c.Agent.KeyBytes = k
	}
	if c.MQTT.PasswordFile != "" {
		b, err := os.ReadFile(c.MQTT.PasswordFile)
		if err != nil {
			return Config{}, fmt.Errorf("%s: mqtt.password_file: %w", path, err)
		}
		c.MQTT.Password = strings.TrimRight(string(b), "\r\n")
	}
	return c, nil
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64 (paste the key exactly as `custodyctl agent enroll` printed it)")
	}
	if len(k) < 16 {
		return nil, fmt.Errorf("key of %d bytes is too short (at least 16)", len(k))
	}
	return k, nil
}

// code is the grammar of ids and cabinet, desk and zone codes: they end up in MQTT topics and
// wire bodies, so the same rule as wire.ValidID, kept short.
var code = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

var hex4 = regexp.MustCompile(`^[0-9a-fA-F]{4}$`)

// Validate checks values; every error names its key. All problems are reported at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, err := cryptoprofile.Parse(c.Crypto.Profile); err != nil {
		bad("crypto.profile", "%v", err)
	}
	a := c.Agent
	if !code.MatchString(a.ID) {
		bad("agent.id", "%q must be 1–64 letters, digits, '.', '_', ':' or '-' (the id it was enrolled with)", a.ID)
	}
	switch {
	case a.Key == "" && a.KeyFile == "":
		bad("agent.key", "missing: set key or key_file to the key `custodyctl agent enroll` printed")
	case a.Key != "" && a.KeyFile != "":
		bad("agent.key", "set only one of key and key_file")
	}
	if a.Outbox == "" {
		bad("agent.outbox", "missing: the path of the outbox database file")
	}
	if a.OutboxMaxMB < 1 {
		bad("agent.outbox_max_mb", "%d must be at least 1", a.OutboxMaxMB)
	}
	if a.OutboxHighWater <= 0 || a.OutboxHighWater >= 1 {
		bad("agent.outbox_high_water", "%g must be between 0 and 1 (a fraction of the limit)", a.OutboxHighWater)
	}
	m := c.MQTT
	if len(m.Brokers) == 0 {
		bad("mqtt.brokers", "missing: at least one broker URL such as \"tls://host:8883\"")
	}
	for i, b := range m.Brokers {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			bad(fmt.Sprintf("mqtt.brokers[%d]", i), "%q is not a URL like tls://host:8883", b)
			continue
		}
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		default:
			bad(fmt.Sprintf("mqtt.brokers[%d]", i), "scheme %q is not one of tcp, ssl, tls, ws, wss", u.Scheme)
		}
	}
	if m.Password != "" && m.PasswordFile != "" {
		bad("mqtt.password", "set only one of password and password_file")
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		bad("mqtt.cert_file", "cert_file and key_file go together (mutual TLS)")
	}
	if strings.ContainsAny(m.BaseTopic, "#+") || strings.HasPrefix(m.BaseTopic, "/") || strings.HasSuffix(m.BaseTopic, "/") {
		bad("mqtt.base_topic", "%q must not contain wildcards or begin or end with '/'", m.BaseTopic)
	}
	if m.Keepalive.Duration < time.Second {
		bad("mqtt.keepalive", "%s is below 1s", m.Keepalive.Duration)
	}

	ids := map[string]string{}
	unique := func(key, id string) {
		if prev, dup := ids[id]; dup {
			bad(key, "id %q is already used by %s", id, prev)
			return
		}
		ids[id] = key
	}
	// A round runs on one reader: a cabinet's antennas must all hang off the same reader, or the
	// antenna numbers in its report would be ambiguous.
	cabinetReader := map[string]string{}
	stations := map[string]string{} // desk → station reader
	for i, r := range c.Readers {
		k := fmt.Sprintf("reader[%d]", i)
		if !code.MatchString(r.ID) {
			bad(k+".id", "%q must be 1–64 letters, digits, '.', '_', ':' or '-'", r.ID)
		} else {
			unique(k+".id", r.ID)
		}
		if !contains(Drivers, r.Driver) {
			bad(k+".driver", "%q is not one of %s", r.Driver, strings.Join(Drivers, ", "))
		}
		c.checkPort(k, r.Port, r.USBVID, r.USBPID, r.USBSerial, bad)
		switch {
		case netport.IsTCP(r.Port):
			def := 0
			if r.Driver == "llrp" {
				def = 5084
			}
			var ne *netport.Error
			if _, err := netport.ParseAddress(r.Port, def); errors.As(err, &ne) {
				bad(k+".port", "%q is not tcp://host:port (%v)", r.Port, ne.Cause)
			}
		case r.Driver == "llrp":
			bad(k+".port", "an LLRP reader is reached over the network: write port = \"tcp://HOST\" (port 5084 unless given)")
		}
		switch rt := r.RoundTime.Duration; {
		case rt != 0 && r.Driver != "llrp":
			bad(k+".round_time", "only an LLRP reader times its rounds; a %s round is one inventory command per antenna", r.Driver)
		case rt < 0 || rt > time.Minute:
			bad(k+".round_time", "%s out of range 0–1m", rt)
		}
		if !validBaud(r.Baud) {
			bad(k+".baud", "%d is not a serial speed (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)", r.Baud)
		}
		if r.Session < 0 || r.Session > 3 {
			bad(k+".session", "%d is not a Gen2 session 0–3", r.Session)
		}
		if r.Target != "A" && r.Target != "B" {
			bad(k+".target", "%q is neither \"A\" nor \"B\"", r.Target)
		}
		switch {
		case r.Station != "":
			if !code.MatchString(r.Station) {
				bad(k+".station", "%q must be a desk code (letters, digits, '.', '_', ':' or '-')", r.Station)
			} else if prev, dup := stations[r.Station]; dup {
				bad(k+".station", "desk %q already has its station on reader %q; one desk, one station", r.Station, prev)
			} else {
				stations[r.Station] = r.ID
			}
			if len(r.Antennas) > 0 {
				bad(k+".antenna", "a station reader (station = %q) serves no cabinet; put cabinet antennas on another reader", r.Station)
			}
			if r.StationAntenna < 1 || r.StationAntenna > 64 {
				bad(k+".station_antenna", "%d is not an antenna port 1–64", r.StationAntenna)
			}
			if r.StationPowerDBm < 0 || r.StationPowerDBm > 33 {
				bad(k+".station_power_dbm", "%g is outside 0–33 dBm (0 keeps the reader's setting)", r.StationPowerDBm)
			}
		case r.StationAntenna != 0 || r.StationPowerDBm != 0:
			bad(k+".station", "missing: station_antenna and station_power_dbm apply only to a station reader (station = \"<desk>\")")
		case len(r.Antennas) == 0:
			bad(k+".antenna", "missing: a reader needs at least one [[reader.antenna]] with port and cabinet, or station = \"<desk>\"")
		}
		ports := map[int]bool{}
		for j, an := range r.Antennas {
			ak := fmt.Sprintf("%s.antenna[%d]", k, j)
			if an.Port < 1 || an.Port > 64 {
				bad(ak+".port", "%d is not an antenna port 1–64", an.Port)
			} else if ports[an.Port] {
				bad(ak+".port", "antenna port %d is listed twice for reader %q", an.Port, r.ID)
			}
			ports[an.Port] = true
			if !code.MatchString(an.Cabinet) {
				bad(ak+".cabinet", "%q must be a cabinet code (letters, digits, '.', '_', ':' or '-')", an.Cabinet)
			} else if prev, ok := cabinetReader[an.Cabinet]; ok && prev != r.ID {
				bad(ak+".cabinet", "cabinet %q already has antennas on reader %q; one cabinet is inventoried by one reader", an.Cabinet, prev)
			} else {
				cabinetReader[an.Cabinet] = r.ID
			}
			if an.Zone != "" && !code.MatchString(an.Zone) {
				bad(ak+".zone", "%q must be a zone code", an.Zone)
			}
			if an.PowerDBm < 0 || an.PowerDBm > 33 {
				bad(ak+".power_dbm", "%g is outside 0–33 dBm (0 keeps the reader's setting)", an.PowerDBm)
			}
		}
	}
	cabinetsCtl := map[string]string{}
	for i, ct := range c.Controllers {
		k := fmt.Sprintf("controller[%d]", i)
		if !code.MatchString(ct.ID) {
			bad(k+".id", "%q must be 1–64 letters, digits, '.', '_', ':' or '-'", ct.ID)
		} else {
			unique(k+".id", ct.ID)
		}
		if ct.Port == "" {
			bad(k+".port", "missing: the serial port of the controller bus")
		}
		if !validBaud(ct.Baud) {
			bad(k+".baud", "%d is not a serial speed", ct.Baud)
		}
		if len(ct.Cabinets) == 0 {
			bad(k+".cabinet", "missing: at least one [[controller.cabinet]] with address and cabinet")
		}
		addrs := map[int]bool{}
		for j, s := range ct.Cabinets {
			sk := fmt.Sprintf("%s.cabinet[%d]", k, j)
			if s.Address < 1 || s.Address > 247 {
				bad(sk+".address", "%d is outside 1–247", s.Address)
			} else if addrs[s.Address] {
				bad(sk+".address", "address %d is listed twice on %q", s.Address, ct.ID)
			}
			addrs[s.Address] = true
			if !code.MatchString(s.Cabinet) {
				bad(sk+".cabinet", "%q must be a cabinet code", s.Cabinet)
			} else if prev, dup := cabinetsCtl[s.Cabinet]; dup {
				bad(sk+".cabinet", "cabinet %q is already controlled by %s", s.Cabinet, prev)
			} else {
				cabinetsCtl[s.Cabinet] = sk
			}
		}
	}
	for i, s := range c.Scanners {
		k := fmt.Sprintf("scanner[%d]", i)
		if !code.MatchString(s.ID) {
			bad(k+".id", "%q must be 1–64 letters, digits, '.', '_', ':' or '-'", s.ID)
		} else {
			unique(k+".id", s.ID)
		}
		if !code.MatchString(s.Desk) {
			bad(k+".desk", "%q must be a desk code", s.Desk)
		}
		switch {
		case s.Port == "" && s.Device == "":
			bad(k+".port", "missing: set port (serial scanner) or device (keyboard-wedge input device)")
		case s.Port != "" && s.Device != "":
			bad(k+".port", "set only one of port and device")
		}
		if !validBaud(s.Baud) {
			bad(k+".baud", "%d is not a serial speed", s.Baud)
		}
	}
	r := c.Rounds
	for _, p := range []struct {
		key string
		v   int
		max int
	}{
		{"rounds.quiet_passes", r.QuietPasses, 100},
		{"rounds.max_passes", r.MaxPasses, 1000},
		{"rounds.confirm_quiet_passes", r.ConfirmQuietPasses, 100},
		{"rounds.confirm_max_passes", r.ConfirmMaxPasses, 1000},
		{"rounds.left_after_rounds", r.LeftAfterRounds, 100},
	} {
		if p.v < 1 || p.v > p.max {
			bad(p.key, "%d is outside 1–%d", p.v, p.max)
		}
	}
	if r.QuietPasses > r.MaxPasses {
		bad("rounds.quiet_passes", "%d is above max_passes %d: a round would always stop at the pass limit", r.QuietPasses, r.MaxPasses)
	}
	if r.TimeLimit.Duration <= 0 {
		bad("rounds.time_limit", "must be positive")
	}
	if r.ConfirmTimeLimit.Duration <= 0 {
		bad("rounds.confirm_time_limit", "must be positive")
	}
	s := c.Schedule
	if s.Every.Duration < 0 || (s.Every.Duration > 0 && s.Every.Duration < time.Minute) {
		bad("schedule.every", "%s: use \"0s\" to disable or at least \"1m\"", s.Every.Duration)
	}
	for i, d := range s.AfterDoorClose {
		if d.Duration < 0 || d.Duration > 10*time.Minute {
			bad(fmt.Sprintf("schedule.after_door_close[%d]", i), "%s is outside 0s–10m", d.Duration)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) checkPort(k, port, vid, pid, serial string, bad func(key, format string, args ...any)) {
	usb := vid != "" || pid != "" || serial != ""
	switch {
	case port == "" && !usb:
		bad(k+".port", "missing: set port (a device path) or usb_vid and usb_pid")
	case port != "" && usb:
		bad(k+".port", "set either port or the usb_* identity, not both")
	case usb:
		if !hex4.MatchString(vid) {
			bad(k+".usb_vid", "%q must be 4 hex digits as lsusb prints them", vid)
		}
		if !hex4.MatchString(pid) {
			bad(k+".usb_pid", "%q must be 4 hex digits as lsusb prints them", pid)
		}
	}
}

func validBaud(b int) bool {
	switch b {
	case 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600:
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Flip reports whether the reader alternates the Gen2 target between passes.
func (r Reader) Flip() bool { return r.FlipTarget == nil || *r.FlipTarget }

// Stations maps each desk with a tag-encoding station to its reader.
func (c *Config) Stations() map[string]Reader {
	out := map[string]Reader{}
	for _, r := range c.Readers {
		if r.Station != "" {
			out[r.Station] = r
		}
	}
	return out
}

// Cabinets lists every cabinet the readers cover, sorted.
func (c *Config) Cabinets() []string {
	seen := map[string]bool{}
	for _, r := range c.Readers {
		for _, a := range r.Antennas {
			seen[a.Cabinet] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
