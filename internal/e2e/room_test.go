package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/custodyhq/custody/internal/testenv"
)

// The demo's room (scripts/demo) as processes: custodyd, cabinet-sim speaking the real protocols
// on pseudo-terminals with deploy/cabinet-sim/three-cabinets.toml, and custody-agent with
// deploy/cabinet-sim/agent-three-cabinets.toml — the shipped timings, untouched. Only the paths,
// the broker and the ids are changed.
//
// The broker is Mosquitto on 127.0.0.1:1883 (make setup starts it), not custodyd's embedded one:
// the embedded broker lets nobody but custodyd itself read custody/alerts, and these tests must
// watch that topic as a subscriber would. Everything runs under a base topic of its own, since
// other tests share that broker.

const mosquittoAddr = "127.0.0.1:1883"

var roomBuild struct {
	once sync.Once
	err  error
	out  []byte
}

// buildRoom builds custody-agent and cabinet-sim next to custodyd, or skips saying why.
func buildRoom(tb testing.TB) {
	tb.Helper()
	roomBuild.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", bin+"/", "../../cmd/custody-agent", "../../cmd/cabinet-sim")
		roomBuild.out, roomBuild.err = cmd.CombinedOutput()
	})
	if roomBuild.err != nil {
		testenv.Unavailable(tb, fmt.Sprintf("custody-agent and cabinet-sim do not build (%v), so the room cannot run:\n%s", roomBuild.err, roomBuild.out))
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// busMsg is one message seen on the broker under the room's base topic.
type busMsg struct {
	at      time.Time
	topic   string
	payload []byte
}

// envelope is the part of an observation or command envelope (firmware-protocol/mqtt) the
// timeline shows.
type envelope struct {
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// alertMsg is an alert on {base}/alerts (firmware-protocol/mqtt/alert.schema.json).
type alertMsg struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	Severity string  `json:"severity"`
	Cabinet  string  `json:"cabinet"`
	Items    []int64 `json:"items"` // register item ids
	State    string  `json:"state"`
	Count    int     `json:"count"`
}

type room struct {
	tb    testing.TB
	dir   string
	base  string
	agent string
	// agentBroker is the broker the agent publishes to; watchOpt connects the test's watcher to
	// the broker custodyd uses. Both are Mosquitto on 127.0.0.1:1883 but in the bridged site.
	agentBroker string
	watchOpt    *paho.ClientOptions
	ctl         ctl
	d           *daemon
	tables      string // custodyd's configuration but for data_dir and [http] listen
	sim         io.WriteCloser
	reply       chan string // cabinet-sim's replies to commands, one per line

	mu   sync.Mutex
	bus  []busMsg
	more chan struct{} // closed and replaced at every message

	// editScenario and editAgent, when set, change the shipped scenario and agent configuration
	// before they are used (a room with other reader families or transports).
	editScenario func(tb testing.TB, scenario []byte) []byte
	editAgent    func(tb testing.TB, config string) string
}

// startRoom runs the room with [reconcile] removal_grace = grace and a register whose items
// 1–31 carry the scenario's 31 tags (items 1–12 in C-01, 13–22 in C-02, 23–31 in C-03), and waits
// until the agent's start-up round of every cabinet has been published.
func startRoom(tb testing.TB, grace string) *room {
	tb.Helper()
	return startRoomWith(tb, grace, "")
}

// startRoomWith is startRoom with more of custodyd's configuration appended (TOML tables).
func startRoomWith(tb testing.TB, grace, extra string) *room {
	tb.Helper()
	return startRoomEdited(tb, grace, extra, nil, nil)
}

// startRoomEdited is startRoomWith on a scenario and an agent configuration changed by the edits
// (nil: as shipped).
func startRoomEdited(tb testing.TB, grace, extra string, editScenario func(testing.TB, []byte) []byte, editAgent func(testing.TB, string) string) *room {
	tb.Helper()
	return startRoomMQTT(tb, grace, "", extra, editScenario, editAgent)
}

// startRoomMQTT is startRoomEdited with more keys of [mqtt] (mqttExtra: TOML lines).
func startRoomMQTT(tb testing.TB, grace, mqttExtra, extra string, editScenario func(testing.TB, []byte) []byte, editAgent func(testing.TB, string) string) *room {
	tb.Helper()
	buildRoom(tb)
	c, err := net.DialTimeout("tcp", mosquittoAddr, time.Second)
	if err != nil {
		testenv.Unavailable(tb, fmt.Sprintf("Mosquitto is not listening on %s (make setup starts it): %v", mosquittoAddr, err))
	}
	c.Close()
	r := &room{tb: tb, dir: tb.TempDir(), base: "custody-e2e-" + randHex(4), agent: "room-301-" + randHex(3), more: make(chan struct{}),
		agentBroker: mosquittoAddr, watchOpt: paho.NewClientOptions().AddBroker("tcp://" + mosquittoAddr)}
	r.editScenario, r.editAgent = editScenario, editAgent
	r.watch()

	// A client id of the room's own: Mosquitto is shared with other tests (and other rooms), and a
	// second custodyd under the default id "custodyd" would take this one's session over.
	r.tables = fmt.Sprintf(`[mqtt]
url = "tcp://%s"
base = %q
client_id = "custodyd-%s"
%s[identity]
company_prefix = "0614141"
document_type = "12345"
[reconcile]
removal_grace = %q
[inventory]
# Working days only: on a weekend the door cycle is door_after_hours whatever these say.
work_from = "00:00"
work_to = "23:59"
`, mosquittoAddr, r.base, r.base, mqttExtra, grace) + extra
	d := startDaemonWith(tb, filepath.Join(r.dir, "data"), r.tables)
	r.ctl = ctl{t: tb, server: d.addr, home: tb.TempDir()}
	r.d = d
	r.register()

	r.startSim()
	r.startAgent()
	for _, cab := range []string{"C-01", "C-02", "C-03"} {
		r.wait(0, 60*time.Second, "the agent's start-up round of "+cab, r.inventoryOf(cab))
	}
	return r
}

// register fills the register as scripts/demo does.
func (r *room) register() {
	c := r.ctl
	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	c.ok("", "unit", "add", "BGS", "办公室")
	c.custodian("wang.fang", "王芳", "BGS")
	out := c.ok("", "--json", "agent", "enroll", r.agent)
	m := regexp.MustCompile(`"key":\s*"([^"]+)"`).FindStringSubmatch(out)
	if m == nil {
		r.tb.Fatalf("agent enroll printed no key:\n%s", out)
	}
	os.WriteFile(filepath.Join(r.dir, "agent.key"), []byte(m[1]+"\n"), 0o600)
	c.ok("wang.fang-secret\n", "login", "--user", "wang.fang", "--password-stdin")
	for i := 1; i <= 3; i++ {
		c.ok("", "cabinet", "add", fmt.Sprintf("C-0%d", i), fmt.Sprintf("%d号柜", i), "--room", "R301", "--agent", r.agent)
	}
	c.ok("", "desk", "add", "D-01", "一号工作台", "--room", "R301", "--agent", r.agent)
	n := 0
	for _, d := range []struct {
		number, level, cabinet string
		copies                 int
	}{{"国保〔2026〕1号", "机密", "C-01", 12}, {"国保〔2026〕2号", "秘密", "C-02", 10}, {"国保〔2026〕3号", "绝密", "C-03", 9}} {
		c.ok("", "document", "register", "--number", d.number, "--title", "演示文件 "+d.number, "--unit", "BGS",
			"--level", d.level, "--date", "2026-11-01", "--term", "10年", "--copies", fmt.Sprint(d.copies))
		args := []string{"item", "store"}
		for i := n + 1; i <= n+d.copies; i++ {
			args = append(args, fmt.Sprint(i))
		}
		c.ok("", append(args, "--cabinet", d.cabinet)...)
		n += d.copies
	}
}

// tagEPC is the EPC the register issued item id (GDTI-96, company prefix 0614141, document type
// 12345, serial = id): the shipped scenario's serial 1000+id.
func tagEPC(id int) string { return fmt.Sprintf("2C14257BF4607200000%05X", id) }

// startSim runs cabinet-sim on the shipped scenario, its tags renumbered to the register's serials
// as scripts/demo does.
func (r *room) startSim() {
	src, err := os.ReadFile("../../deploy/cabinet-sim/three-cabinets.toml")
	if err != nil {
		r.tb.Fatal(err)
	}
	epc := regexp.MustCompile(`"2C14257BF46072000000([0-9A-F]{4})"`)
	scenario := epc.ReplaceAllFunc(src, func(m []byte) []byte {
		var serial int
		fmt.Sscanf(string(m[21:25]), "%X", &serial)
		return []byte(`"` + tagEPC(serial-1000) + `"`)
	})
	if r.editScenario != nil {
		scenario = r.editScenario(r.tb, scenario)
	}
	file := filepath.Join(r.dir, "scenario.toml")
	os.WriteFile(file, scenario, 0o600)
	os.Mkdir(filepath.Join(r.dir, "dev"), 0o700)

	cmd := exec.Command(filepath.Join(bin, "cabinet-sim"), "--json", "--link-dir", filepath.Join(r.dir, "dev"), file)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	logf, _ := os.Create(filepath.Join(r.dir, "cabinet-sim.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		r.tb.Fatal(err)
	}
	r.tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	r.sim, r.reply = in, make(chan string, 64)
	devices := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, `{"kind"`) {
				if n++; n == 5 { // three readers, one controller bus, one scanner
					close(devices)
				}
				continue
			}
			r.reply <- line
		}
		close(r.reply)
	}()
	select {
	case <-devices:
	case <-time.After(10 * time.Second):
		b, _ := os.ReadFile(logf.Name())
		r.tb.Fatalf("cabinet-sim did not create its five devices within 10 s:\n%s", b)
	}
}

// simDo types a command into cabinet-sim and returns when it has replied.
func (r *room) simDo(command string) {
	r.tb.Helper()
	if _, err := io.WriteString(r.sim, command+"\n"); err != nil {
		r.tb.Fatalf("cabinet-sim: %s: %v", command, err)
	}
	select {
	case line, ok := <-r.reply:
		if !ok || strings.Contains(line, `"error"`) {
			r.tb.Fatalf("cabinet-sim: %s: %q", command, line)
		}
	case <-time.After(5 * time.Second):
		r.tb.Fatalf("cabinet-sim: %s: no reply within 5 s", command)
	}
}

// startAgent runs custody-agent with the shipped configuration for the room.
func (r *room) startAgent() {
	src, err := os.ReadFile("../../deploy/cabinet-sim/agent-three-cabinets.toml")
	if err != nil {
		r.tb.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(src), "/tmp/custody-dev/", r.dir+"/dev/")
	for old, repl := range map[string]string{
		`id = "room-301"`:                          fmt.Sprintf("id = %q", r.agent),
		"key_file = \"" + r.dir + "/dev/agent.key": "key_file = \"" + r.dir + "/agent.key",
		`brokers = ["tcp://127.0.0.1:18830"]`:      fmt.Sprintf("brokers = [\"tcp://%s\"]", r.agentBroker),
		`base_topic = "custody"`:                   fmt.Sprintf("base_topic = %q", r.base),
		`health_listen = "127.0.0.1:9464"`:         fmt.Sprintf("health_listen = %q", freeAddr(r.tb)),
	} {
		if !strings.Contains(cfg, old) {
			r.tb.Fatalf("agent-three-cabinets.toml no longer says %s", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	if r.editAgent != nil {
		cfg = r.editAgent(r.tb, cfg)
	}
	file := filepath.Join(r.dir, "agent.toml")
	os.WriteFile(file, []byte(cfg), 0o600)
	cmd := exec.Command(filepath.Join(bin, "custody-agent"), "-config", file)
	logf, _ := os.Create(filepath.Join(r.dir, "agent.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		r.tb.Fatal(err)
	}
	r.tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
}

// watch subscribes to everything under the room's base topic.
func (r *room) watch() {
	o := r.watchOpt.SetClientID("e2e-watch-" + randHex(4)).
		SetCleanSession(true).SetOrderMatters(true).SetConnectTimeout(5 * time.Second)
	cl := paho.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.tb.Fatalf("connect to Mosquitto: %v", tok.Error())
	}
	r.tb.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(r.base+"/#", 1, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		r.bus = append(r.bus, busMsg{at: time.Now(), topic: m.Topic(), payload: m.Payload()})
		close(r.more)
		r.more = make(chan struct{})
		r.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.tb.Fatalf("subscribe: %v", tok.Error())
	}
}

// mark is the number of messages seen so far: wait(mark(), …) looks only at what comes after.
func (r *room) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bus)
}

// wait returns the first message from index from on that matches, and its index; it fails the
// test with the timeline when none comes within d.
func (r *room) wait(from int, d time.Duration, what string, match func(busMsg) bool) (busMsg, int) {
	r.tb.Helper()
	deadline := time.After(d)
	for i := from; ; {
		r.mu.Lock()
		more := r.more
		for ; i < len(r.bus); i++ {
			if match(r.bus[i]) {
				m := r.bus[i]
				r.mu.Unlock()
				return m, i
			}
		}
		r.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			agentLog, _ := os.ReadFile(filepath.Join(r.dir, "agent.log"))
			var custodyd string
			if r.d != nil {
				custodyd = r.d.out.String() // read after the fact: the process may still write, so a tail
				custodyd = custodyd[max(0, len(custodyd)-6000):]
			}
			r.tb.Fatalf("no %s within %s. On the broker:\n%s\nagent log:\n%s\ncustodyd log (tail):\n%s", what, d, r.timeline(time.Time{}), agentLog, custodyd)
		}
	}
}

func (r *room) obsOf(kind string, m busMsg) (envelope, bool) {
	var e envelope
	if m.topic != r.base+"/agents/"+r.agent+"/obs" && m.topic != r.base+"/agents/"+r.agent+"/cmd" || json.Unmarshal(m.payload, &e) != nil {
		return e, false
	}
	return e, e.Kind == kind
}

// inventoryOf matches an inventory report of cabinet.
func (r *room) inventoryOf(cabinet string) func(busMsg) bool {
	return func(m busMsg) bool {
		e, ok := r.obsOf("inventory", m)
		if !ok || !strings.HasSuffix(m.topic, "/obs") {
			return false
		}
		var b struct{ Cabinet string }
		json.Unmarshal(e.Body, &b)
		return b.Cabinet == cabinet
	}
}

// alerts are the alerts published on {base}/alerts from index from on.
func (r *room) alerts(from int) []alertMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alertMsg
	for _, m := range r.bus[from:] {
		var a alertMsg
		if m.topic == r.base+"/alerts" && json.Unmarshal(m.payload, &a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// timeline lists what crossed the broker, in seconds since t0 (or clock times when t0 is zero):
// where the time between a door closing and its alert goes.
func (r *room) timeline(t0 time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, m := range r.bus {
		when := m.at.Format("15:04:05.000")
		if !t0.IsZero() {
			if m.at.Before(t0.Add(-30 * time.Second)) {
				continue
			}
			when = fmt.Sprintf("%+7.2fs", m.at.Sub(t0).Seconds())
		}
		topic := strings.TrimPrefix(m.topic, r.base+"/")
		var e envelope
		switch {
		case strings.HasSuffix(m.topic, "/obs") || strings.HasSuffix(m.topic, "/cmd"):
			json.Unmarshal(m.payload, &e)
			body := string(e.Body)
			if e.Kind == "inventory" { // the tags are many; the rest says what the round was
				var inv struct {
					Cabinet   string            `json:"cabinet"`
					Round     string            `json:"round"`
					Started   time.Time         `json:"started_at"`
					Ended     time.Time         `json:"ended_at"`
					Rounds    int               `json:"rounds"`
					Complete  bool              `json:"complete"`
					Tags      []json.RawMessage `json:"tags"`
					Requested string            `json:"requested_by"`
				}
				json.Unmarshal(e.Body, &inv)
				body = fmt.Sprintf("cabinet=%s passes=%d complete=%v tags=%d took=%.2fs", inv.Cabinet, inv.Rounds, inv.Complete, len(inv.Tags), inv.Ended.Sub(inv.Started).Seconds())
			}
			fmt.Fprintf(&b, "%s %-34s %-10s %s\n", when, topic, e.Kind, body)
		default:
			fmt.Fprintf(&b, "%s %-34s %s\n", when, topic, m.payload)
		}
	}
	return b.String()
}

// doorCycleWithoutCheckout opens C-01, takes item 5 out, closes the door and returns when the
// close was typed, and the index of the broker's messages at that moment.
func (r *room) doorCycleWithoutCheckout() (closed time.Time, from int) {
	r.tb.Helper()
	start := r.mark()
	r.simDo("door C-01 open")
	r.wait(start, 10*time.Second, "door open of C-01", r.doorOf("C-01", "open"))
	r.simDo("remove C-01 " + tagEPC(5))
	from = r.mark()
	closed = time.Now()
	r.simDo("door C-01 close")
	return closed, from
}

func (r *room) doorOf(cabinet, state string) func(busMsg) bool {
	return func(m busMsg) bool {
		e, ok := r.obsOf("door", m)
		var b struct{ Cabinet, State string }
		json.Unmarshal(e.Body, &b)
		return ok && b.Cabinet == cabinet && b.State == state
	}
}

// confirmedRemoval matches the alert of item 5 missing from C-01: only confirmed findings make
// alerts, and a confirmed loss is critical.
func (r *room) confirmedRemoval(m busMsg) bool {
	var a alertMsg
	if m.topic != r.base+"/alerts" || json.Unmarshal(m.payload, &a) != nil {
		return false
	}
	return (a.Kind == "unrecorded_removal" || a.Kind == "missing") && a.Cabinet == "C-01" && a.Severity == "critical"
}

// phases says where the time after a door close went, in seconds since closed: the agent
// publishing the close, the door-triggered round of C-01, custodyd's confirming command, the
// confirming round and the alert.
func (r *room) phases(closed time.Time, from int) string {
	r.mu.Lock()
	msgs := r.bus[from:]
	r.mu.Unlock()
	var out []string
	at := func(what string, m busMsg) {
		out = append(out, fmt.Sprintf("%s %+.2f", what, m.at.Sub(closed).Seconds()))
	}
	step := 0
	for _, m := range msgs {
		e, _ := r.obsOf("", m)
		switch {
		case step == 0 && r.doorOf("C-01", "closed")(m):
			at("close published", m)
			step++
		case step == 1 && r.inventoryOf("C-01")(m):
			at("round", m)
			step++
		case step == 2 && strings.HasSuffix(m.topic, "/cmd") && json.Unmarshal(m.payload, &e) == nil && e.Kind == "inventory":
			at("confirm commanded", m)
			step++
		case step == 3 && r.inventoryOf("C-01")(m):
			at("confirming round", m)
			step++
		case step == 4 && r.confirmedRemoval(m):
			at("alert", m)
			step++
		}
	}
	return strings.Join(out, ", ")
}
