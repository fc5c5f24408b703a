package e2e

import (
	"encoding/json"
	"errors"
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

// A site bridged to a centre (deploy/mosquitto/site-bridge.conf, centre-bridge.acl): two
// Mosquitto processes with the shipped ACL, the site's broker bridged to the centre's through a
// line the test can cut; the room's agent and cabinet-sim at the site, custodyd at the centre.
// While the line is down a copy is taken out of C-01 without a checkout and the custodian asks
// every cabinet for an inventory (a 清查); when the line comes back the observations made during
// the cut reach custodyd, the commands it sent during the cut reach the agent, and the removal's
// confirmed alert arrives.
func TestBridgedSiteSurvivesACutLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two brokers, custodyd, the agent and cabinet-sim: about half a minute")
	}
	buildRoom(t)
	mosq, mosqPasswd := testenv.Mosquitto(t)
	dir := t.TempDir()
	agent := "room-301-" + randHex(3)
	site := "site-" + randHex(3)
	pw := map[string]string{"custodyd": randHex(12), site: randHex(12), "e2e-watch": randHex(12)}

	// The centre: the shipped ACL, this site's block, and a test account that reads everything.
	centreAddr := freeAddr(t)
	centre := startMosquitto(t, mosq, mosqPasswd, dir, "centre", centreAddr, pw,
		string(readDeploy(t, "custody.acl"))+"\n"+
			strings.NewReplacer("SITE", site, "AGENT", agent).Replace(string(readDeploy(t, "centre-bridge.acl")))+
			"\nuser e2e-watch\ntopic read custody/#\n", "")
	line := newLine(t, centreAddr)

	r := &room{tb: t, dir: dir, base: "custody", agent: agent, more: make(chan struct{}),
		watchOpt: watchOptions(centreAddr, pw["e2e-watch"])}
	r.watch()
	r.d = startDaemonWith(t, filepath.Join(dir, "data"), fmt.Sprintf(`[mqtt]
url = "tcp://%s"
username = "custodyd"
password = %q
base = "custody"
client_id = "custodyd"
[identity]
company_prefix = "0614141"
document_type = "12345"
[reconcile]
removal_grace = "1ms"
[inventory]
work_from = "00:00"
work_to = "23:59"
`, centreAddr, pw["custodyd"]))
	r.ctl = ctl{t: t, server: r.d.addr, home: t.TempDir()}
	r.register()

	// The site: the agent's account (its enrolled key), the shipped ACL and the shipped bridge.
	key, err := os.ReadFile(filepath.Join(dir, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	sitePw := map[string]string{agent: strings.TrimSpace(string(key)), "e2e-watch": pw["e2e-watch"]}
	siteAddr := freeAddr(t)
	startMosquitto(t, mosq, mosqPasswd, dir, "site", siteAddr, sitePw,
		string(readDeploy(t, "custody.acl"))+"\nuser e2e-watch\ntopic read custody/#\n",
		bridgeConfig(t, line.addr, site, pw[site]))
	r.agentBroker = siteAddr
	local := &room{tb: t, dir: dir, base: "custody", agent: agent, more: make(chan struct{}),
		watchOpt: watchOptions(siteAddr, pw["e2e-watch"])}
	local.watch()

	r.startSim()
	r.startAgent()
	for _, cab := range []string{"C-01", "C-02", "C-03"} {
		r.wait(0, 60*time.Second, "the agent's start-up round of "+cab+" at the centre", r.inventoryOf(cab))
	}

	// The line goes down.
	line.cut()
	cutAt := r.mark()
	out := r.ctl.ok("", "--json", "check", "open", "--unit", "BGS")
	var check struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &check); err != nil || check.ID == 0 {
		t.Fatalf("check open printed %q (%v)", out, err)
	}
	r.ctl.ok("", "check", "inventory", fmt.Sprint(check.ID))
	var commands []string
	for i := cutAt; len(commands) < 3; i++ {
		m, at := r.wait(i, 30*time.Second, "custodyd's three inventory commands at the centre", func(m busMsg) bool {
			_, ok := r.obsOf("inventory", m)
			return ok && strings.HasSuffix(m.topic, "/cmd")
		})
		var c struct{ ID string }
		json.Unmarshal(m.payload, &c)
		commands = append(commands, c.ID)
		i = at
	}

	mark := local.mark()
	r.simDo("door C-01 open")
	local.wait(mark, 10*time.Second, "door open of C-01 at the site", local.doorOf("C-01", "open"))
	r.simDo("remove C-01 " + tagEPC(5))
	r.simDo("door C-01 close")
	_, at := local.wait(mark, 10*time.Second, "door close of C-01 at the site", local.doorOf("C-01", "closed"))
	local.wait(at, 30*time.Second, "the round of C-01 after the close, at the site", local.inventoryOf("C-01"))
	for _, m := range r.since(cutAt) {
		if strings.HasSuffix(m.topic, "/obs") {
			t.Fatalf("the centre saw an observation while the line was down: the cut is not real\n%s", r.timeline(time.Time{}))
		}
	}
	if got := readAgentLog(dir); strings.Contains(got, commands[0]) {
		t.Fatalf("the agent got custodyd's command while the line was down:\n%s", got)
	}

	// The line comes back: what was queued on either side is delivered.
	line.restore()
	r.wait(cutAt, 60*time.Second, "the door close made during the cut, at the centre", r.doorOf("C-01", "closed"))
	r.wait(cutAt, alertWithin, "the confirmed alert of the copy taken out during the cut", r.confirmedRemoval)
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range commands {
		for !strings.Contains(readAgentLog(dir), "id="+id+" kind=inventory") {
			if time.Now().After(deadline) {
				t.Fatalf("the agent never ran command %s sent during the cut:\n%s", id, readAgentLog(dir))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The 清查 the custodian opened during the cut has every cabinet's report.
	for time.Now().Before(deadline) {
		var c struct {
			Cabinets []struct{ Cabinet, Round string }
		}
		json.Unmarshal([]byte(r.ctl.ok("", "--json", "check", "show", fmt.Sprint(check.ID))), &c)
		reported := 0
		for _, cab := range c.Cabinets {
			if cab.Round != "" {
				reported++
			}
		}
		if reported == 3 {
			break
		}
		if time.Now().After(deadline.Add(-time.Second)) {
			t.Fatalf("the check opened during the cut has %d of 3 cabinets' reports: %+v", reported, c.Cabinets)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The observations made during the cut are applied once: the copy taken out is one finding
	// of one alert, whatever the brokers redelivered.
	for _, a := range r.alerts(cutAt) {
		removal := a.Kind == "unrecorded_removal" || a.Kind == "missing"
		if removal && (len(a.Items) != 1 || a.Items[0] != 5 || a.Count != 1) {
			t.Errorf("alert %s (%s) names items %v, count %d; want item 5 once", a.ID, a.Kind, a.Items, a.Count)
		}
	}
	if b, _ := os.ReadFile(centre.log); strings.Contains(string(b), "denied") {
		t.Errorf("the centre's ACL denied something the bridge carried:\n%s", b)
	}
}

func readAgentLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
	return string(b)
}

// since are the messages seen from index from on.
func (r *room) since(from int) []busMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]busMsg(nil), r.bus[from:]...)
}

func watchOptions(addr, password string) *paho.ClientOptions {
	return paho.NewClientOptions().AddBroker("tcp://" + addr).SetUsername("e2e-watch").SetPassword(password)
}

func readDeploy(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mosquitto", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// bridgeConfig is the shipped site-bridge.conf for a line at addr: the lines marked TEST-REPLACES
// get the test's values, those marked TEST-DROPS (TLS) go. A marked key missing from the file
// fails the test, so the file cannot lose a line unnoticed.
func bridgeConfig(tb testing.TB, addr, site, password string) string {
	tb.Helper()
	values := map[string]string{"address": addr, "remote_username": site, "remote_password": password, "remote_clientid": site}
	lines := strings.Split(string(readDeploy(tb, "site-bridge.conf")), "\n")
	marked := regexp.MustCompile(`^# TEST-(REPLACES|DROPS) (\S+)$`)
	for i, l := range lines {
		m := marked.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], m[2]+" ") {
			tb.Fatalf("site-bridge.conf: %q does not follow a %s line", l, m[2])
		}
		if m[1] == "DROPS" {
			lines[i-1] = ""
			continue
		}
		v, ok := values[m[2]]
		if !ok {
			tb.Fatalf("site-bridge.conf marks %s, which the test has no value for", m[2])
		}
		lines[i-1] = m[2] + " " + v
		delete(values, m[2])
	}
	if len(values) != 0 {
		tb.Fatalf("site-bridge.conf no longer marks %v", values)
	}
	return strings.Join(lines, "\n")
}

type mosquittoProc struct{ log string }

// startMosquitto runs a broker on addr with password authentication, the ACL acl and more
// configuration, and waits until it listens.
func startMosquitto(tb testing.TB, mosq, mosqPasswd, dir, name, addr string, passwords map[string]string, acl, more string) mosquittoProc {
	tb.Helper()
	base := filepath.Join(dir, name)
	passwd := base + ".passwd"
	testenv.MosquittoPasswords(tb, mosqPasswd, passwd, passwords)
	os.WriteFile(base+".acl", []byte(acl), 0o600)
	host, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf(`per_listener_settings false
allow_anonymous false
password_file %s
acl_file %s
listener %s %s
use_username_as_clientid true
persistence false
max_inflight_messages 1000
max_queued_messages 200000
log_dest file %s.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
`, passwd, base+".acl", port, host, base)
	if os.Geteuid() == 0 {
		conf += "user root\n" // keep the files in t.TempDir readable
	}
	conf += more + "\n"
	os.WriteFile(base+".conf", []byte(conf), 0o600)
	cmd := exec.Command(mosq, "-c", base+".conf")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return mosquittoProc{log: base + ".log"}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(base + ".log")
			tb.Fatalf("mosquitto %s does not listen on %s: %v\n%s", name, addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// line is the network between a site and the centre: a TCP relay to the centre's broker that the
// test can cut (every connection reset, new ones refused) and restore. It stands in for the WAN;
// both brokers are the real ones.
type line struct {
	tb   testing.TB
	addr string
	to   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

func newLine(tb testing.TB, to string) *line {
	l := &line{tb: tb, addr: freeAddr(tb), to: to}
	l.restore()
	tb.Cleanup(l.cut)
	return l
}

func (l *line) restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		l.tb.Fatalf("line: %v", err)
	}
	l.ln = ln
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			up, err := net.Dial("tcp", l.to)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, up)
			l.mu.Unlock()
			l.wg.Add(2)
			go func() { defer l.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer l.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through the line, and waits for the relays.
func (l *line) cut() {
	l.mu.Lock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
	l.mu.Unlock()
	l.wg.Wait()
}
