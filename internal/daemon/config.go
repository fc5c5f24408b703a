// Package daemon is custodyd: its configuration (TOML, decoded strictly, validated at start with
// errors that name the key) and the wiring of store, register, API and their lifecycles.
//
// Contract: Load never does I/O beyond reading the file; Run opens everything, serves until ctx
// ends, then shuts down in order (HTTP first, then the store) and returns.
package daemon

import (
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"

	"github.com/BurntSushi/toml"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/epcis"
	"github.com/custodyhq/custody/internal/lease"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/wire"

	"github.com/custodyhq/custody/internal/duration"
)

//go:generate sh -c "cp sample.toml ../../deploy/custodyd.toml"

// Sample is the documented default configuration.
//
//go:embed sample.toml
var Sample string

// Config is custodyd's configuration.
type Config struct {
	DataDir string `toml:"data_dir"`
	// Store chooses the register's database: empty URL is SQLite in data_dir (StoreTarget).
	Store struct {
		URL string `toml:"url"`
	} `toml:"store"`
	Site struct {
		// TimeZone is the one zone of the site: typed times are read in it, shown times are in
		// it, and working hours and the nightly schedule follow it (sitetime).
		TimeZone string `toml:"time_zone"`
	} `toml:"site"`
	HTTP struct {
		Listen   string   `toml:"listen"`
		TokenTTL Duration `toml:"token_ttl"`
		// LoginLock is how long an account stays locked after repeated wrong passwords
		// (register.SetLoginLock).
		LoginLock Duration `toml:"login_lock"`
		// HTTPS served by custodyd itself (PEM files); both or neither.
		TLSCert string `toml:"tls_cert"`
		TLSKey  string `toml:"tls_key"`
		// Reverse proxies (addresses or CIDR prefixes) whose X-Forwarded-For and
		// X-Forwarded-Proto are believed.
		TrustedProxies []string `toml:"trusted_proxies"`
		// /metrics on a listener of its own (then not on listen), or behind a bearer token.
		MetricsListen    string `toml:"metrics_listen"`
		MetricsToken     string `toml:"metrics_token"`
		MetricsTokenFile string `toml:"metrics_token_file"`
	} `toml:"http"`
	Log struct {
		Level  string `toml:"level"`
		Format string `toml:"format"`
	} `toml:"log"`
	Bootstrap struct {
		AdminUser string `toml:"admin_user"`
	} `toml:"bootstrap"`
	MQTT struct {
		Embedded bool   `toml:"embedded"`
		Listen   string `toml:"listen"`
		URL      string `toml:"url"`
		Username string `toml:"username"`
		Password string `toml:"password"`
		// PasswordFile holds the password instead (systemd LoadCredential).
		PasswordFile string `toml:"password_file"`
		Base         string `toml:"base"`
		Share        string `toml:"share"`
		ClientID     string `toml:"client_id"`
		Monitor      string `toml:"monitor_password"`
		MonitorFile  string `toml:"monitor_password_file"`
		TLSCert      string `toml:"tls_cert"`
		TLSKey       string `toml:"tls_key"`
		CAFile       string `toml:"ca_file"`
		// DisconnectGrace is how long custodyd's MQTT connection may be away from the broker before
		// /healthz says so (mqttconn.Config.DisconnectGrace).
		DisconnectGrace Duration `toml:"disconnect_grace"`
	} `toml:"mqtt"`
	// Borrowing bounds how long a copy may be out with a reader (register.BorrowLimits); 0 or
	// absent keeps the default: 机密 7 days, 秘密 30 days, 绝密 in the reading room the same day.
	Borrowing struct {
		SecretDays       int `toml:"secret_days"`
		ConfidentialDays int `toml:"confidential_days"`
		// TopSecretOutside lets 绝密 copies be borrowed like the others (not recommended).
		TopSecretOutside bool `toml:"top_secret_outside_reading_room"`
	} `toml:"borrowing"`
	Identity struct {
		CompanyPrefix string `toml:"company_prefix"`
		DocumentType  string `toml:"document_type"`
	} `toml:"identity"`
	// EPCIS places the office in EPCIS exports (docs/epcis.md): its GLN (13 digits within
	// [identity] company_prefix: cabinets and rooms become SGLNs), else URIs under base_uri
	// (default [alerts] console_url).
	EPCIS struct {
		GLN     string `toml:"gln"`
		BaseURI string `toml:"base_uri"`
	} `toml:"epcis"`
	Reconcile struct {
		RemovalGrace Duration `toml:"removal_grace"`
		MaxUnread    float64  `toml:"max_unread"`
	} `toml:"reconcile"`
	Inventory struct {
		Schedule string `toml:"schedule"`
		// TimeZone is the key the site's zone had before [site] time_zone: still read, as an
		// alias, so an existing config keeps working (parseOver moves it to Site.TimeZone).
		TimeZone      string   `toml:"time_zone"`
		Deadline      Duration `toml:"deadline"`
		WorkFrom      Clock    `toml:"work_from"`
		WorkTo        Clock    `toml:"work_to"`
		WorkDays      []string `toml:"work_days"`
		Holidays      []string `toml:"holidays"`
		Workdays      []string `toml:"workdays"`
		DoorOpenLimit Duration `toml:"door_open_limit"`
		OfflineGrace  Duration `toml:"offline_grace"`
	} `toml:"inventory"`
	Reports struct {
		Font string `toml:"font"`
	} `toml:"reports"`
	// Check is the periodic check (清查) of each unit: monthly or quarterly (register.SetCheckPeriod).
	Check struct {
		Period string `toml:"period"`
	} `toml:"check"`
	// Crypto chooses the installation's algorithms (cryptoprofile): standard or sm (国密).
	Crypto struct {
		Profile string `toml:"profile"`
	} `toml:"crypto"`
	// Audit: custodyd signing the chain head on a schedule (headSigner); off while head_key is
	// empty.
	Audit struct {
		HeadKey   string   `toml:"head_key"`
		HeadDir   string   `toml:"head_dir"`
		HeadEvery Duration `toml:"head_every"`
		// VerifyEvery is how often the leader verifies the records appended to the chain since
		// its last look (the whole chain daily).
		VerifyEvery Duration `toml:"verify_every"`
	} `toml:"audit"`
	// Cluster: several custodyd instances on one PostgreSQL database (docs/deployment.md). The
	// instance holding the lease runs the once-only duties; the others stand by.
	Cluster struct {
		// Instance names this custodyd in the lease and its audit records (default: the host and a hash of data_dir, stable across restarts).
		Instance   string   `toml:"instance"`
		LeaseTTL   Duration `toml:"lease_ttl"`
		LeaseRenew Duration `toml:"lease_renew"`
		// Poll is how often the leader looks for observations stored, and the console for alert
		// changes made, by another instance (its own wake it at once).
		Poll Duration `toml:"poll"`
	} `toml:"cluster"`
	Alerts struct {
		ConsoleURL  string   `toml:"console_url"`
		LeaderDelay Duration `toml:"leader_delay"`
		// Steps are the office's own next steps per alert kind, shown on an alert's page instead
		// of the console's defaults.
		Steps map[string][]string `toml:"steps"`
		alert.ChannelsConfig
	} `toml:"alerts"`
}

// Clock is a time of day written "08:30", kept as the duration since midnight.
type Clock struct{ time.Duration }

// UnmarshalText parses HH:MM.
func (c *Clock) UnmarshalText(b []byte) error {
	t, err := time.Parse("15:04", string(b))
	if err != nil {
		return fmt.Errorf("%q is not a time of day like \"08:30\"", b)
	}
	c.Duration = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	return nil
}

// Duration is the one duration type of custody's TOML files.
type Duration = duration.Duration

// Default is the configuration with no file: the sample's values.
func Default() Config {
	c, err := Parse(Sample)
	if err != nil {
		panic("embedded sample config: " + err.Error())
	}
	return c
}

// Load reads path over the defaults; an empty path means defaults only.
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := parseOver(Default(), string(b))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration text strictly.
func Parse(text string) (Config, error) { return parseOver(Config{}, text) }

func parseOver(c Config, text string) (Config, error) {
	md, err := toml.Decode(text, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return Config{}, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("unknown key %s (misspelled? see deploy/custodyd.toml for the keys)", strings.Join(keys, ", "))
	}
	// [inventory] time_zone is the old name of [site] time_zone: alone it sets the site's zone;
	// with both set they must agree, or which one counts would be a guess.
	if md.IsDefined("inventory", "time_zone") {
		if md.IsDefined("site", "time_zone") && c.Site.TimeZone != c.Inventory.TimeZone {
			return Config{}, fmt.Errorf("inventory.time_zone: %q disagrees with site.time_zone %q; the site has one zone — keep only [site] time_zone", c.Inventory.TimeZone, c.Site.TimeZone)
		}
		c.Site.TimeZone = c.Inventory.TimeZone
	}
	c.Inventory.TimeZone = ""
	return c, c.Validate()
}

// Validate checks values; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if c.Store.URL != "" {
		if err := store.CheckURL(c.Store.URL); err != nil {
			errs = append(errs, fmt.Errorf("store.url: %v", err))
		}
	}
	for key, days := range map[string]int{"borrowing.secret_days": c.Borrowing.SecretDays, "borrowing.confidential_days": c.Borrowing.ConfidentialDays} {
		if days < 0 || days > 365 {
			errs = append(errs, fmt.Errorf("%s: %d is outside 0..365 (0 keeps the default)", key, days))
		}
	}
	if !register.ValidCheckPeriod(c.Check.Period) {
		errs = append(errs, fmt.Errorf("check.period: %q is not monthly or quarterly (每月或每季度清查)", c.Check.Period))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen: %q is not host:port", c.HTTP.Listen))
	}
	if d := c.HTTP.LoginLock.Duration; d < time.Minute || d > 24*time.Hour {
		errs = append(errs, fmt.Errorf("http.login_lock: %v is outside 1m..24h", d))
	}
	if c.HTTP.TokenTTL.Duration < time.Minute || c.HTTP.TokenTTL.Duration > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("http.token_ttl: %v is outside 1m..720h", c.HTTP.TokenTTL.Duration))
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		errs = append(errs, errors.New("http.tls_cert, http.tls_key: set both or neither"))
	} else if c.HTTP.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.HTTP.TLSCert, c.HTTP.TLSKey); err != nil {
			errs = append(errs, fmt.Errorf("http.tls_cert, http.tls_key: %v", err))
		}
	}
	if _, err := parseProxies(c.HTTP.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("http.trusted_proxies: %v", err))
	}
	if c.HTTP.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("http.metrics_listen: %q is not host:port", c.HTTP.MetricsListen))
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	if err := c.LeaseConfig("x").Validate(); err != nil {
		errs = append(errs, fmt.Errorf("cluster.lease_ttl, cluster.lease_renew: %v", err))
	}
	if p := c.Cluster.Poll.Duration; p < 10*time.Millisecond || p > 10*time.Second {
		errs = append(errs, fmt.Errorf("cluster.poll: %v is outside 10ms..10s", p))
	}
	if c.Cluster.Instance != "" && !wire.ValidID(c.Cluster.Instance) {
		errs = append(errs, fmt.Errorf("cluster.instance: %q is not a valid id (printable, no space, '/', '#', '+' or '$')", c.Cluster.Instance))
	}
	if c.MQTT.URL == "" && !c.MQTT.Embedded {
		errs = append(errs, errors.New("mqtt: embedded = false needs mqtt.url (an external broker)"))
	}
	if c.MQTT.URL != "" && !strings.HasPrefix(c.MQTT.URL, "tcp://") && !strings.HasPrefix(c.MQTT.URL, "ssl://") {
		errs = append(errs, fmt.Errorf("mqtt.url: %q must start with tcp:// or ssl://", c.MQTT.URL))
	}
	if c.MQTT.Embedded && c.MQTT.URL == "" {
		if _, _, err := net.SplitHostPort(c.MQTT.Listen); err != nil {
			errs = append(errs, fmt.Errorf("mqtt.listen: %q is not host:port", c.MQTT.Listen))
		}
	}
	if c.MQTT.ClientID != "" && !wire.ValidID(c.MQTT.ClientID) {
		errs = append(errs, fmt.Errorf("mqtt.client_id: %q is not a valid client id (printable, no space, '/', '#', '+' or '$')", c.MQTT.ClientID))
	}
	for _, f := range []struct{ key, inline, file string }{
		{"mqtt.password", c.MQTT.Password, c.MQTT.PasswordFile},
		{"mqtt.monitor_password", c.MQTT.Monitor, c.MQTT.MonitorFile},
		{"http.metrics_token", c.HTTP.MetricsToken, c.HTTP.MetricsTokenFile},
	} {
		if f.file == "" {
			continue
		}
		if f.inline != "" {
			errs = append(errs, fmt.Errorf("%s, %s_file: set one, not both", f.key, f.key))
		} else if _, err := os.Stat(f.file); err != nil {
			errs = append(errs, fmt.Errorf("%s_file: %v", f.key, err))
		}
	}
	if (c.MQTT.Monitor != "" || c.MQTT.MonitorFile != "") && c.MQTT.URL != "" {
		errs = append(errs, errors.New("mqtt.monitor_password: is for the embedded broker; on an external broker give the monitor an account there"))
	}
	if (c.MQTT.TLSCert == "") != (c.MQTT.TLSKey == "") {
		errs = append(errs, errors.New("mqtt.tls_cert, mqtt.tls_key: set both or neither"))
	}
	if c.MQTT.TLSCert != "" && c.MQTT.URL != "" {
		errs = append(errs, errors.New("mqtt.tls_cert: is for the embedded broker; with mqtt.url set the external broker holds the certificate (use mqtt.ca_file to trust it)"))
	}
	if c.MQTT.CAFile != "" && !strings.HasPrefix(c.MQTT.URL, "ssl://") {
		errs = append(errs, errors.New("mqtt.ca_file: only used with an ssl:// mqtt.url"))
	}
	if g := c.MQTT.DisconnectGrace.Duration; g < time.Second || g > 10*time.Minute {
		errs = append(errs, fmt.Errorf("mqtt.disconnect_grace: %v must be between 1s and 10m (a reconnect takes a few seconds; longer hides a lost broker)", g))
	}
	if c.MQTT.Base == "" || strings.ContainsAny(c.MQTT.Base, "#+") {
		errs = append(errs, fmt.Errorf("mqtt.base: %q must be a topic without wildcards", c.MQTT.Base))
	}
	if c.Identity.CompanyPrefix != "" {
		if err := c.Issuer().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("identity: %v", err))
		}
	}
	if g := c.EPCIS.GLN; g != "" {
		if !epcis.ValidGLN(g) {
			errs = append(errs, fmt.Errorf("epcis.gln: %q is not a GLN (13 digits with a correct check digit)", g))
		} else if c.Identity.CompanyPrefix == "" || !strings.HasPrefix(g, c.Identity.CompanyPrefix) {
			errs = append(errs, fmt.Errorf("epcis.gln: %q must begin with [identity] company_prefix %q (the SGLN splits it there)", g, c.Identity.CompanyPrefix))
		}
	}
	if u := c.EPCIS.BaseURI; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("epcis.base_uri: %q must be an http(s) URL such as https://custody.example.gov.cn", u))
		}
	}
	if c.Reconcile.MaxUnread <= 0 || c.Reconcile.MaxUnread >= 1 {
		errs = append(errs, fmt.Errorf("reconcile.max_unread: %v must be between 0 and 1", c.Reconcile.MaxUnread))
	}
	if c.Reconcile.RemovalGrace.Duration <= 0 {
		errs = append(errs, errors.New("reconcile.removal_grace: must be positive"))
	}
	if _, err := sitetime.Load(c.Site.TimeZone); err != nil || c.Site.TimeZone == "" {
		errs = append(errs, fmt.Errorf("site.time_zone: %q is not a known time zone (an IANA name such as \"Asia/Shanghai\")", c.Site.TimeZone))
	}
	if c.Inventory.WorkFrom.Duration >= c.Inventory.WorkTo.Duration {
		errs = append(errs, errors.New("inventory.work_from: must be before inventory.work_to"))
	}
	if _, err := c.WorkWeek(); err != nil {
		errs = append(errs, err)
	}
	for key, dates := range map[string][]string{"inventory.holidays": c.Inventory.Holidays, "inventory.workdays": c.Inventory.Workdays} {
		for _, d := range dates {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a date like 2026-10-01", key, d))
			}
		}
	}
	if _, _, err := c.Alerts.ChannelsConfig.Build(); err != nil {
		errs = append(errs, fmt.Errorf("alerts: %v", err))
	}
	errs = append(errs, checkSteps(c.Alerts.Steps)...)
	if c.Reports.Font != "" {
		if _, err := os.Stat(c.Reports.Font); err != nil {
			errs = append(errs, fmt.Errorf("reports.font: %v", err))
		}
	}
	if c.Bootstrap.AdminUser == "" {
		errs = append(errs, errors.New("bootstrap.admin_user: must not be empty"))
	}
	if _, err := cryptoprofile.Parse(c.Crypto.Profile); err != nil {
		errs = append(errs, fmt.Errorf("crypto.profile: %v", err))
	} else if c.Audit.HeadKey != "" {
		if _, err := loadHeadKey(c.Audit.HeadKey, c.CryptoProfile()); err != nil {
			errs = append(errs, fmt.Errorf("audit.head_key: %v", err))
		}
	}
	if (c.Audit.HeadKey == "") != (c.Audit.HeadDir == "") {
		errs = append(errs, errors.New("audit.head_key, audit.head_dir: set both or neither"))
	} else if c.Audit.HeadDir != "" {
		if fi, err := os.Stat(c.Audit.HeadDir); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("audit.head_dir: %q is not a directory", c.Audit.HeadDir))
		}
	}
	if e := c.Audit.HeadEvery.Duration; e < time.Minute || e > 24*time.Hour {
		errs = append(errs, fmt.Errorf("audit.head_every: %v is outside 1m..24h", e))
	}
	if e := c.Audit.VerifyEvery.Duration; e < time.Second || e > time.Hour {
		errs = append(errs, fmt.Errorf("audit.verify_every: %v is outside 1s..1h", e))
	}
	return errors.Join(errs...)
}

// CryptoProfile is the installation's algorithms ([crypto] profile; validated at load).
// StoreTarget is what store.Open opens: [store] url, or custody.db in data_dir.
func (c Config) StoreTarget() string {
	if c.Store.URL != "" {
		return c.Store.URL
	}
	return filepath.Join(c.DataDir, "custody.db")
}

func (c Config) CryptoProfile() cryptoprofile.Profile {
	p, _ := cryptoprofile.Parse(c.Crypto.Profile)
	return p
}

// Zone is the site's time zone ([site] time_zone; validated at load).
func (c Config) Zone() sitetime.Zone {
	z, err := sitetime.Load(c.Site.TimeZone)
	if err != nil {
		return sitetime.Default()
	}
	return z
}

// WorkWeek is [inventory] work_days as weekdays.
func (c Config) WorkWeek() ([]time.Weekday, error) {
	names := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	var days []time.Weekday
	for _, n := range c.Inventory.WorkDays {
		d, ok := names[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("inventory.work_days: %q is not one of mon, tue, wed, thu, fri, sat, sun", n)
		}
		days = append(days, d)
	}
	if len(days) == 0 {
		return nil, errors.New("inventory.work_days: name at least one day")
	}
	return days, nil
}

// Issuer is the installation's EPC issuer. An empty document type is 1, zero-padded to the
// width the company prefix leaves (GDTI: prefix + document type = 12 digits).
func (c Config) Issuer() epc.Issuer {
	dt := c.Identity.DocumentType
	if dt == "" && len(c.Identity.CompanyPrefix) < 12 {
		dt = strings.Repeat("0", 11-len(c.Identity.CompanyPrefix)) + "1"
	}
	return epc.Issuer{CompanyPrefix: c.Identity.CompanyPrefix, DocumentType: dt}
}

// Logger builds the structured logger the config asks for.
func (c Config) Logger(w *os.File) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// BorrowLimits are the register's borrowing limits from [borrowing].
func (c Config) BorrowLimits() register.BorrowLimits {
	l := register.DefaultBorrowLimits()
	if c.Borrowing.SecretDays > 0 {
		l.SecretDays = c.Borrowing.SecretDays
	}
	if c.Borrowing.ConfidentialDays > 0 {
		l.ConfidentialDays = c.Borrowing.ConfidentialDays
	}
	l.TopSecretReadingRoomOnly = !c.Borrowing.TopSecretOutside
	return l
}

// EPCISOptions places the office in EPCIS exports.
func (c *Config) EPCISOptions() epcis.Options {
	base := c.EPCIS.BaseURI
	if base == "" {
		base = c.Alerts.ConsoleURL
	}
	return epcis.Options{GLN: c.EPCIS.GLN, CompanyPrefix: c.Identity.CompanyPrefix, BaseURI: base}
}

// LeaseConfig is the duties' lease for this instance (holder: [cluster] instance, else defaultInstance).
func (c Config) LeaseConfig(holder string) lease.Config {
	if c.Cluster.Instance != "" {
		holder = c.Cluster.Instance
	}
	return lease.Config{Name: "duties", Holder: holder, TTL: c.Cluster.LeaseTTL.Duration, Renew: c.Cluster.LeaseRenew.Duration}
}

// Bounds of [alerts.steps]: a step is a sentence, a kind's steps fit a card.
const (
	maxSteps    = 12
	maxStepRune = 300
)

// checkSteps refuses steps for a kind custodyd does not raise, and steps that are empty, too
// many or too long, naming the key.
func checkSteps(steps map[string][]string) []error {
	var errs []error
	for _, kind := range slices.Sorted(maps.Keys(steps)) {
		key := "alerts.steps." + kind
		switch list := steps[kind]; {
		case !slices.Contains(reconcile.Kinds, reconcile.Kind(kind)):
			errs = append(errs, fmt.Errorf("%s: no alert is of kind %q; the kinds are %s", key, kind, kindList()))
		case len(list) == 0 || len(list) > maxSteps:
			errs = append(errs, fmt.Errorf("%s: give 1 to %d steps, not %d", key, maxSteps, len(list)))
		default:
			for i, step := range list {
				if n := utf8.RuneCountInString(strings.TrimSpace(step)); n == 0 || n > maxStepRune || !utf8.ValidString(step) {
					errs = append(errs, fmt.Errorf("%s[%d]: a step is 1 to %d characters of text", key, i, maxStepRune))
				}
			}
		}
	}
	return errs
}

// kindList names every alert kind, for an error about one.
func kindList() string {
	var names []string
	for _, k := range reconcile.Kinds {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}
