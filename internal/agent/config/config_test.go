package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSampleParsesAndIsDeployed(t *testing.T) {
	c, err := Parse(Sample(), "sample.toml")
	if err != nil {
		t.Fatalf("the embedded sample must be valid: %v", err)
	}
	if c.Agent.ID != "room-301" || len(c.Readers) != 2 || len(c.Readers[0].Antennas) != 3 {
		t.Fatalf("sample decoded: got agent %q with %d readers, want room-301 with 2 readers, the first of 3 antennas", c.Agent.ID, len(c.Readers))
	}
	if st := c.Stations()["D-1"]; st.ID != "desk-r" || st.StationAntenna != 1 || st.StationPowerDBm != 10 {
		t.Fatalf("station of desk D-1: got %+v, want reader desk-r on antenna 1 at 10 dBm", st)
	}
	if got := c.Cabinets(); strings.Join(got, ",") != "C-07,C-08" {
		t.Fatalf("cabinets: got %v, want [C-07 C-08]", got)
	}
	if got := c.Schedule.AfterDoorClose; len(got) != 3 || got[1].Duration != 12*time.Second {
		t.Fatalf("after_door_close: got %v, want [2s 12s 60s]", got)
	}
	deployed, err := os.ReadFile("../../../deploy/custody-agent.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deployed, Sample()) {
		t.Fatal("deploy/custody-agent.toml differs from internal/agent/config/sample.toml; copy the sample over it")
	}
}

const minimal = `
[agent]
id = "a1"
key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
outbox = "/tmp/o.db"
[mqtt]
brokers = ["tcp://127.0.0.1:1883"]
[[reader]]
id = "r1"
driver = "r2000"
port = "/dev/ttyUSB0"
  [[reader.antenna]]
  port = 1
  cabinet = "C1"
`

func TestMinimalTakesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), "m.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Readers[0].Flip() {
		t.Fatal("flip_target left out: got no flipping, want flipping by default")
	}
	if c.CryptoProfile() != "standard" {
		t.Fatalf("profile: got %q, want standard by default", c.CryptoProfile())
	}
	if c.Readers[0].Baud != 115200 || c.Rounds.QuietPasses != 3 || c.MQTT.BaseTopic != "custody" || len(c.Agent.KeyBytes) != 32 {
		t.Fatalf("defaults: got baud %d quiet %d base %q key %d bytes, want 115200 3 custody 32",
			c.Readers[0].Baud, c.Rounds.QuietPasses, c.MQTT.BaseTopic, len(c.Agent.KeyBytes))
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"unknown key", "[[reader]]\nid = \"r1\"\n", "unknown key"},
		{"misspelt", "", ""},
		{"bad driver", `driver = "r2000"`, `reader[0].driver: "r9000" is not one of r2000, m6e`},
		{"antenna cabinet", `cabinet = "C1"`, `reader[0].antenna[0].cabinet`},
		{"session", `driver = "r2000"`, `reader[0].session: 7 is not a Gen2 session`},
		{"broker", `brokers = ["tcp://127.0.0.1:1883"]`, `mqtt.brokers[0]: scheme "http"`},
		{"key", `key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="`, `agent.key: not base64`},
		{"port and usb", `port = "/dev/ttyUSB0"`, `reader[0].port: set either port or the usb_* identity`},
		{"duration", `[mqtt]`, `mqtt.keepalive`},
		{"syntax", `[agent]`, `line 3`},
		{"profile", `[mqtt]`, `crypto.profile: "SM3" is not standard or sm`},
	}
	replace := map[string]string{
		"bad driver":      `driver = "r9000"`,
		"antenna cabinet": `cabinet = "C 1/x"`,
		"session":         "driver = \"r2000\"\nsession = 7",
		"broker":          `brokers = ["http://127.0.0.1:1883"]`,
		"key":             `key = "not*base64"`,
		"port and usb":    "port = \"/dev/ttyUSB0\"\nusb_vid = \"10c4\"\nusb_pid = \"ea60\"",
		"duration":        "[mqtt]\nkeepalive = \"soon\"",
		"syntax":          "[agent",
		"profile":         "[crypto]\nprofile = \"SM3\"\n[mqtt]",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := minimal
			switch tc.name {
			case "unknown key":
				src = strings.Replace(minimal, `port = "/dev/ttyUSB0"`, "port = \"/dev/ttyUSB0\"\nbaudrate = 9600", 1)
				tc.want = "unknown key reader.baudrate"
			case "misspelt":
				src = strings.Replace(minimal, "[mqtt]", "[mqt]", 1)
				tc.want = "unknown key mqt"
			default:
				src = strings.Replace(minimal, tc.edit, replace[tc.name], 1)
			}
			_, err := Parse([]byte(src), "m.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A station reader serves one desk and no cabinet; each mistake is named by its key.
func TestStationErrorsNameTheKey(t *testing.T) {
	station := strings.Replace(minimal, "  [[reader.antenna]]\n  port = 1\n  cabinet = \"C1\"\n", "station = \"D-1\"\n", 1)
	c, err := Parse([]byte(station), "s.toml")
	if err != nil {
		t.Fatalf("a station reader without antennas: %v", err)
	}
	if got := c.Readers[0].StationAntenna; got != 1 {
		t.Fatalf("station_antenna left out: got %d, want 1", got)
	}
	second := "\n[[reader]]\nid = \"r2\"\ndriver = \"m6e\"\nport = \"/dev/ttyUSB1\"\nstation = \"D-1\"\n"
	for _, tc := range []struct{ name, src, want string }{
		{"with antennas", strings.Replace(minimal, `port = "/dev/ttyUSB0"`, "port = \"/dev/ttyUSB0\"\nstation = \"D-1\"", 1), `reader[0].antenna: a station reader (station = "D-1") serves no cabinet`},
		{"bad desk", strings.Replace(station, `station = "D-1"`, `station = "D 1"`, 1), `reader[0].station: "D 1" must be a desk code`},
		{"two stations", station + second, `reader[1].station: desk "D-1" already has its station on reader "r1"`},
		{"antenna", strings.Replace(station, `station = "D-1"`, "station = \"D-1\"\nstation_antenna = 99", 1), `reader[0].station_antenna: 99`},
		{"power", strings.Replace(station, `station = "D-1"`, "station = \"D-1\"\nstation_power_dbm = 40", 1), `reader[0].station_power_dbm: 40`},
		{"power without station", strings.Replace(minimal, `port = "/dev/ttyUSB0"`, "port = \"/dev/ttyUSB0\"\nstation_power_dbm = 10", 1), `reader[0].station: missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "s.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestManyErrorsAtOnce(t *testing.T) {
	_, err := Parse([]byte("[agent]\n[mqtt]\n"), "e.toml")
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, k := range []string{"agent.id", "agent.key", "agent.outbox", "mqtt.brokers"} {
		if !strings.Contains(err.Error(), k+":") {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
}

func TestLoadReadsKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "agent.key")
	os.WriteFile(keyPath, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600)
	src := strings.Replace(minimal, `key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="`, `key_file = "`+keyPath+`"`, 1)
	path := filepath.Join(dir, "a.toml")
	os.WriteFile(path, []byte(src), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Agent.KeyBytes) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("key: got %q, want the decoded key file", c.Agent.KeyBytes)
	}
	os.Remove(keyPath)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "agent.key_file") {
		t.Fatalf("missing key file: got %v, want an error naming agent.key_file", err)
	}
}

// A reader's port may be tcp://host:port (a serial device server, a TCP-native board, an LLRP
// reader, whose port defaults to 5084); an LLRP reader must be on the network.
func TestNetworkReaderPorts(t *testing.T) {
	for _, c := range []struct{ driver, port, want string }{
		{"r2000", "tcp://192.168.1.20:4001", ""},
		{"m6e", "tcp://[fe80::1]:4001", ""},
		{"llrp", "tcp://speedway-7", ""},
		{"llrp", "tcp://10.0.0.5:5084", ""},
		{"r2000", "tcp://192.168.1.20", `reader[0].port: "tcp://192.168.1.20" is not tcp://host:port (no port number)`},
		{"llrp", "tcp://10.0.0.5:99999", `reader[0].port: "tcp://10.0.0.5:99999" is not tcp://host:port`},
		{"llrp", "/dev/ttyUSB0", `reader[0].port: an LLRP reader is reached over the network`},
	} {
		src := strings.Replace(minimal, "driver = \"r2000\"\nport = \"/dev/ttyUSB0\"", fmt.Sprintf("driver = %q\nport = %q", c.driver, c.port), 1)
		_, err := Parse([]byte(src), "m.toml")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s on %s: got %v, want it accepted", c.driver, c.port, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s on %s: got %v, want an error containing %q", c.driver, c.port, err, c.want)
		}
	}
}

func TestRoundTimeOnlyForLLRP(t *testing.T) {
	llrpReader := strings.Replace(minimal, "driver = \"r2000\"\nport = \"/dev/ttyUSB0\"", "driver = \"llrp\"\nport = \"tcp://10.0.0.5\"\nround_time = \"1500ms\"", 1)
	c, err := Parse([]byte(llrpReader), "m.toml")
	if err != nil || c.Readers[0].RoundTime.Duration != 1500*time.Millisecond {
		t.Fatalf("got %v, %v; want an LLRP reader with 1.5 s rounds", c, err)
	}
	serial := strings.Replace(minimal, "port = \"/dev/ttyUSB0\"", "port = \"/dev/ttyUSB0\"\nround_time = \"1s\"", 1)
	if _, err := Parse([]byte(serial), "m.toml"); err == nil || !strings.Contains(err.Error(), "reader[0].round_time: only an LLRP reader times its rounds") {
		t.Fatalf("got %v, want round_time refused for an r2000", err)
	}
}
