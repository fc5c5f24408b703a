package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/custodyhq/custody/internal/testenv"
)

// TestMakeDemoAtATerminal runs `make demo` as a newcomer does — at a terminal (a real
// pseudo-terminal, so make, the script and the programs get Ctrl-C exactly as from a keyboard) —
// tries the commands its hints print, and stops it with Ctrl-C: exit status 0, no error line, and
// no error in any program's log. The demo's state and ports are its own (DEMO_DIR, DEMO_*), so a
// developer's demo on the usual ports is left alone.
func TestMakeDemoAtATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole demo")
	}
	if _, err := exec.LookPath("make"); err != nil {
		testenv.Unavailable(t, "make is not installed")
	}
	port := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	dir := filepath.Join(t.TempDir(), "demo")
	httpAddr, mqttAddr, health := port(), port(), port()
	cmd := exec.Command("make", "demo")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "DEMO_DIR="+dir, "DEMO_HTTP="+httpAddr, "DEMO_MQTT="+mqttAddr, "DEMO_AGENT_HEALTH="+health)
	ptmx, err := pty.Start(cmd) // make's controlling terminal, make in the foreground
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			screen.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			ptmx.Write([]byte{3})
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
		}
	}()

	ready := time.After(10 * time.Minute) // the first run builds four programs
	for !strings.Contains(shown(), "Ctrl-C stops it") {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("make demo ended before it was ready (%v):\n%s", err, shown())
		case <-ready:
			t.Fatalf("make demo not ready after 10 min:\n%s", shown())
		case <-time.After(200 * time.Millisecond):
		}
	}
	hints := shown()

	// The hints say whether it is working hours now, as custodyd will judge a door opening.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(loc)
	hm := now.Format("15:04")
	within := now.Weekday() >= time.Monday && now.Weekday() <= time.Friday && hm >= "08:30" && hm < "18:00"
	if want := map[bool]string{true: "within them", false: "outside them"}[within]; !strings.Contains(hints, "Working hours are 08:30–18:00 Beijing time") || (!strings.Contains(hints, want) && hm != "08:30" && hm != "18:00") {
		t.Errorf("make demo at %s Beijing time: the hints say\n%s\nwant the working hours and %q", now.Format("Monday 15:04"), hints, want)
	}
	// The commands the hints give show what they say they show.
	ctl := exec.Command("bin/custodyctl", "inventory", "runs")
	ctl.Dir = cmd.Dir
	ctl.Env = append(os.Environ(), "CUSTODY_SERVER=http://"+httpAddr, "XDG_CONFIG_HOME="+filepath.Join(dir, "ctl"))
	// Between 02:00 and 03:00 Beijing time the night's run may already be there (CI ran this at
	// 02:00 once, and custodyd had started tonight's inventory as it should).
	out, err := ctl.CombinedOutput()
	tonight := hm >= "02:00" && hm < "03:00" && strings.Contains(string(out), now.Format("2006-01-02")+" 02:00")
	if err != nil || strings.TrimSpace(string(out)) != "无" && !tonight || !strings.Contains(hints, "custodyctl inventory runs           # the nightly inventory (02:00 Beijing time) only: 无 until the first night") {
		t.Errorf("custodyctl inventory runs at %s Beijing time: %v\n%s\nwant 无, as the hints say", hm, err, out)
	}
	metrics := func(addr string) string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(metrics(health), `custody_agent_rounds_total{cabinet="C-03",complete="true"}`) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent's metrics show no round of C-03 after 30 s:\n%s", metrics(health))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if m := metrics(httpAddr); !strings.Contains(m, "\ncustody_ingest_stored_total ") || !strings.Contains(hints, "grep ^custody_agent_rounds_total") {
		t.Errorf("custodyd's metrics or the hints lack the rounds' counters; hints:\n%s", hints)
	}

	// Ctrl-C: everything stops, make exits 0, nobody says error.
	ptmx.Write([]byte{3})
	stopped = true
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("make demo after Ctrl-C: %v, want exit status 0\n%s", err, shown())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("make demo still running 60 s after Ctrl-C:\n%s", shown())
	}
	time.Sleep(100 * time.Millisecond) // the last bytes on the terminal
	after := strings.TrimPrefix(shown(), hints)
	if !strings.Contains(after, "demo: stopping") || strings.Contains(after, "make: ***") || strings.Contains(after, "component stopped") {
		t.Errorf("the terminal after Ctrl-C:\n%s\nwant \"demo: stopping\" and no error line", after)
	}
	for _, log := range []string{"custodyd.log", "agent.log", "cabinet-sim.log"} {
		b, _ := os.ReadFile(filepath.Join(dir, log))
		if bytes.Contains(b, []byte("level=ERROR")) {
			t.Errorf("%s after Ctrl-C:\n%s", log, b)
		}
	}
}
