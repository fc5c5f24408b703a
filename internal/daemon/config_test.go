package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultsNeedNoFile(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./var" || c.HTTP.Listen != "127.0.0.1:8080" || c.HTTP.TokenTTL.Hours() != 12 {
		t.Errorf("got %+v, want ./var, 127.0.0.1:8080, 12h", c)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for text, want := range map[string]string{
		"[http]\nlisten = \"127.0.0.1:9090\"\nlsiten = \"x\"\n":               "unknown key http.lsiten",
		"data_dri = \"/tmp\"\n":                                               "unknown key data_dri",
		"[htp]\nlisten = \"x\"\n":                                             "unknown key htp",
		"[http]\nlisten = \"8080\"\n":                                         "http.listen: \"8080\" is not host:port",
		"[http]\ntoken_ttl = \"forever\"\n":                                   "\"forever\" is not a duration",
		"[http]\ntoken_ttl = \"10s\"\n":                                       "http.token_ttl",
		"[http]\nlogin_lock = \"0s\"\n":                                       "http.login_lock: 0s is outside 1m..24h",
		"[log]\nlevel = \"loud\"\n":                                           "log.level",
		"[log]\nformat = \"xml\"\n":                                           "log.format",
		"data_dir = \n":                                                       "line 1",
		"[http]\nlisten = 8080\n":                                             "listen",
		"[inventory]\nwork_days = [\"mon\", \"fri\", \"caturday\"]\n":         "inventory.work_days: \"caturday\"",
		"[inventory]\nholidays = [\"2026-13-01\"]\n":                          "inventory.holidays: \"2026-13-01\" is not a date",
		"[inventory]\nworkdays = [\"27/9\"]\n":                                "inventory.workdays",
		"[reports]\nfont = \"/no/such/font.ttf\"\n":                           "reports.font: stat /no/such/font.ttf",
		"[mqtt]\ntls_cert = \"b.crt\"\n":                                      "mqtt.tls_cert, mqtt.tls_key: set both or neither",
		"[mqtt]\nca_file = \"ca.crt\"\n":                                      "mqtt.ca_file: only used with an ssl:// mqtt.url",
		"[mqtt]\nurl = \"ssl://h:8883\"\ntls_cert = \"c\"\ntls_key = \"k\"\n": "mqtt.tls_cert: is for the embedded broker",
		"[mqtt]\ndisconnect_grace = \"0s\"\n":                                 "mqtt.disconnect_grace: 0s must be between 1s and 10m",
		"[mqtt]\ndisconnect_grace = \"1h\"\n":                                 "mqtt.disconnect_grace: 1h0m0s must be between 1s and 10m",
		"[crypto]\nprofile = \"gm\"\n":                                        "crypto.profile: \"gm\" is not standard or sm",
		"[crypto]\nprofil = \"sm\"\n":                                         "unknown key crypto.profil",
		"[audit]\nhead_key = \"/no/such.key\"\nhead_dir = \"/tmp\"\n":         "audit.head_key: stat /no/such.key",
		"[audit]\nhead_dir = \"/tmp\"\n":                                      "audit.head_key, audit.head_dir: set both or neither",
		"[audit]\nhead_every = \"10s\"\n":                                     "audit.head_every: 10s is outside 1m..24h",
		"[epcis]\ngln = \"0614141000013\"\n":                                  "epcis.gln: \"0614141000013\" is not a GLN",
		"[epcis]\ngln = \"0614141000012\"\n":                                  "epcis.gln: \"0614141000012\" must begin with [identity] company_prefix",
		"[epcis]\nbase_uri = \"custody.local\"\n":                             "epcis.base_uri: \"custody.local\" must be an http(s) URL",
		"[store]\nurl = \"mysql://db/custody\"\n":                             "store.url: \"mysql://db/custody\" does not start with postgres://",
		"[store]\nurl = \"postgres://u@db:notaport/custody\"\n":               "store.url: ",
		"[store]\nulr = \"postgres://db/custody\"\n":                          "unknown key store.ulr",
		"[audit]\nverify_every = \"2h\"\n":                                    "audit.verify_every: 2h0m0s is outside 1s..1h",
		"[alerts.steps]\nforced_dor = [\"报告领导\"]\n":                           "alerts.steps.forced_dor: no alert is of kind \"forced_dor\"",
		"[alerts.steps]\nmissing = []\n":                                      "alerts.steps.missing: give 1 to 12 steps, not 0",
		"[alerts.steps]\nmissing = [\"清点\", \"  \"]\n":                        "alerts.steps.missing[1]: a step is 1 to 300 characters",
	} {
		path := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(path, []byte(text), 0o600)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", text, err, want)
		}
	}
}

// [crypto] profile is standard unless the file says sm.
func TestCryptoProfile(t *testing.T) {
	c, err := Load("")
	if err != nil || c.CryptoProfile() != "standard" {
		t.Fatalf("no file: got %q, %v; want standard", c.CryptoProfile(), err)
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("[crypto]\nprofile = \"sm\"\n"), 0o600)
	if c, err = Load(path); err != nil || c.CryptoProfile() != "sm" {
		t.Fatalf("profile = sm: got %q, %v; want sm", c.CryptoProfile(), err)
	}
}

func TestFileOverridesDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("[http]\nlisten = \"127.0.0.1:9999\"\n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != "127.0.0.1:9999" || c.DataDir != "./var" || c.Log.Level != "info" {
		t.Errorf("got %+v, want listen overridden and the rest defaulted", c)
	}
}

// deploy/custodyd.toml is a copy of the embedded sample (go generate keeps it so).
func TestDeployCopyIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../../deploy/custodyd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != Sample {
		t.Error("deploy/custodyd.toml differs from internal/daemon/sample.toml: run go generate ./internal/daemon")
	}
}

// [store] url picks PostgreSQL; empty keeps SQLite in data_dir. A password in the URL never
// reaches an error message.
func TestStoreTarget(t *testing.T) {
	c, err := parseOver(Default(), "data_dir = \"/srv/custody\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.StoreTarget(); got != "/srv/custody/custody.db" {
		t.Errorf("no [store] url: got %q, want /srv/custody/custody.db", got)
	}
	c, err = parseOver(Default(), "data_dir = \"/srv/custody\"\n[store]\nurl = \"postgres://custody@db:5432/custody\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.StoreTarget(); got != "postgres://custody@db:5432/custody" {
		t.Errorf("[store] url: got %q, want the URL", got)
	}
	_, err = parseOver(Default(), "data_dir = \"/srv\"\n[store]\nurl = \"postgres://custody:s3cret@db:port/custody\"\n")
	if err == nil || !strings.Contains(err.Error(), "store.url") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL with a password: got %v, want a store.url error without the password", err)
	}
}
