package alert

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/custodyhq/custody/internal/alert/notify"
	"github.com/custodyhq/custody/internal/sitetime"
)

// ChannelsConfig is the [alerts] part of custodyd's configuration that says who hears of alerts
// outside the console (TOML tags; the daemon decodes it strictly). Everything is off until it is
// configured: an empty ChannelsConfig builds no channel at all, and alerts then reach people only
// through the console and the internal MQTT topic.
//
//	[alerts.mail]
//	addr = "smtp.unit.example:587"
//	tls = "starttls"                 # implicit (465), starttls (587), none (a relay on this host)
//	from = "custody@unit.example"
//	username = "custody"
//	password = "…"
//
//	[alerts.audience.custodian]
//	mail = ["jiyao@unit.example"]
//	[[alerts.audience.leaders.webhook]]
//	format = "dingtalk"              # json, dingtalk, wecom, feishu
//	url = "https://oapi.dingtalk.com/robot/send?access_token=…"
//	secret = "SEC…"
//
//	[alerts.unit.BGS.custodian]       # a unit's own people, where they differ
//	mail = ["bgs-jiyao@unit.example"]
type ChannelsConfig struct {
	Mail struct {
		Addr         string `toml:"addr"`
		From         string `toml:"from"`
		Username     string `toml:"username"`
		Password     string `toml:"password"`
		PasswordFile string `toml:"password_file"` // the password in a file (systemd LoadCredential)
		// TLS is "implicit" (port 465), "starttls" (587) or "none" (a relay on this host only);
		// empty: implicit on port 465, STARTTLS on any other.
		TLS string `toml:"tls"`
		// InsecureNoTLS is the older spelling of tls = "none", kept so existing configs load.
		InsecureNoTLS bool `toml:"insecure_no_tls"`
	} `toml:"mail"`
	Audience map[string]AudienceConfig            `toml:"audience"` // custodian, leaders, secrecy_office
	Unit     map[string]map[string]AudienceConfig `toml:"unit"`     // unit code → audience → channels
	// Zone is the site's time zone ([site] time_zone) in which notices state the time; not read
	// from [alerts] but set by custodyd before Build. Zero: Asia/Shanghai.
	Zone sitetime.Zone `toml:"-"`
}

// AudienceConfig is where one audience is told.
type AudienceConfig struct {
	Mail    []string        `toml:"mail"`
	Webhook []WebhookConfig `toml:"webhook"`
}

// WebhookConfig is one robot or endpoint.
type WebhookConfig struct {
	Name    string `toml:"name"`
	URL     string `toml:"url"`
	URLFile string `toml:"url_file"` // a robot's URL carries its access token: keep it in a file
	Format  string `toml:"format"`
	Secret  string `toml:"secret"`
	// SecretFile holds the signing secret instead of secret (systemd LoadCredential).
	SecretFile string `toml:"secret_file"`
}

// fromFile is a secret given inline or in a file (key_file); the file's trailing newline is
// dropped, and giving both is an error, since which one counts would be a guess.
func fromFile(key, inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	if inline != "" {
		return "", fmt.Errorf("%s, %s_file: set one, not both", key, key)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_file: %w", key, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Build checks the configuration (no I/O) and returns the default routes and the per-unit ones,
// for NewEscalator and Escalator.UnitRoutes. Errors name the key.
func (c ChannelsConfig) Build() (map[Audience][]notify.Channel, map[string]map[Audience][]notify.Channel, error) {
	if _, err := c.mailMode(); err != nil {
		return nil, nil, err
	}
	def, err := c.routes("alerts.audience", c.Audience)
	if err != nil {
		return nil, nil, err
	}
	units := map[string]map[Audience][]notify.Channel{}
	codes := make([]string, 0, len(c.Unit))
	for u := range c.Unit {
		codes = append(codes, u)
	}
	sort.Strings(codes)
	for _, u := range codes {
		r, err := c.routes("alerts.unit."+u, c.Unit[u])
		if err != nil {
			return nil, nil, err
		}
		units[u] = r
	}
	return def, units, nil
}

func (c ChannelsConfig) routes(key string, auds map[string]AudienceConfig) (map[Audience][]notify.Channel, error) {
	out := map[Audience][]notify.Channel{}
	names := make([]string, 0, len(auds))
	for a := range auds {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, name := range names {
		aud := Audience(name)
		if aud != Custodians && aud != Leaders && aud != SecrecyOffice {
			return nil, fmt.Errorf("%s.%s: unknown audience (want custodian, leaders or secrecy_office)", key, name)
		}
		ac := auds[name]
		if len(ac.Mail) > 0 {
			if c.Mail.Addr == "" || c.Mail.From == "" {
				return nil, fmt.Errorf("%s.%s.mail: needs alerts.mail.addr and alerts.mail.from", key, name)
			}
			for _, to := range ac.Mail {
				if _, err := mail.ParseAddress(to); err != nil {
					return nil, fmt.Errorf("%s.%s.mail: %q: %w", key, name, to, err)
				}
			}
			pass, err := fromFile("alerts.mail.password", c.Mail.Password, c.Mail.PasswordFile)
			if err != nil {
				return nil, err
			}
			mode, _ := c.mailMode() // checked in Build
			out[aud] = append(out[aud], &notify.Mail{Addr: c.Mail.Addr, From: c.Mail.From, To: ac.Mail, Username: c.Mail.Username, Password: pass, Mode: mode, Location: c.Zone.Location()})
		}
		for i, w := range ac.Webhook {
			k := fmt.Sprintf("%s.%s.webhook[%d]", key, name, i)
			var err error
			if w.URL, err = fromFile(k+".url", w.URL, w.URLFile); err != nil {
				return nil, err
			}
			if w.Secret, err = fromFile(k+".secret", w.Secret, w.SecretFile); err != nil {
				return nil, err
			}
			u, err := url.Parse(w.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("%s.url: %q is not an http(s) URL", k, w.URL)
			}
			hook := &notify.Webhook{Label: w.Name, URL: w.URL, Format: notify.Format(w.Format), Secret: w.Secret, Location: c.Zone.Location()}
			if _, _, err := hook.Request(notify.Notice{}); err != nil {
				return nil, fmt.Errorf("%s.format: %w", k, err)
			}
			out[aud] = append(out[aud], hook)
		}
	}
	return out, nil
}

// mailMode is [alerts.mail] tls, checked at start so that a misspelt mode or a password set to
// cross the network in clear is a config error naming the key, not a failed notice at night.
func (c ChannelsConfig) mailMode() (notify.TLSMode, error) {
	mode, err := notify.ParseTLSMode(c.Mail.TLS, c.Mail.Addr)
	if err != nil {
		return "", fmt.Errorf("alerts.mail.tls: %w", err)
	}
	if c.Mail.InsecureNoTLS {
		if c.Mail.TLS != "" && mode != notify.TLSNone {
			return "", fmt.Errorf("alerts.mail.tls, alerts.mail.insecure_no_tls: they disagree; set tls alone")
		}
		mode = notify.TLSNone
	}
	if mode == notify.TLSNone && (c.Mail.Username != "" || c.Mail.Password != "" || c.Mail.PasswordFile != "") {
		host, _, _ := net.SplitHostPort(c.Mail.Addr)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("alerts.mail.tls: \"none\" would send the password to %s in clear; use \"starttls\" or \"implicit\", or a relay on this host", c.Mail.Addr)
		}
	}
	return mode, nil
}
