package cabinetsim

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/custodyhq/custody/internal/cabinet"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/m6e"
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/scanner"
)

const (
	epcA = "2C14257BF4607200000003E9"
	epcB = "2C14257BF4607200000003EA"
	epcC = "2C14257BF4607200000003EB"
	epcD = "2C14257BF4607200000003EC" // in C-02, heard by C-01 through the wall
	epcE = "2C14257BF4607200000003ED"
	epcN = "2C14257BF4607200000003FF" // added during the test
)

// room is a scenario whose reads are certain (probability 1), so what a driver sees can be
// stated exactly.
const room = `
seed = 1
[[cabinet]]
id = "C-01"
link = "cab-01"
reader = "r2000"
bus = "bus1"
address = 1
  [[cabinet.tag]]
  epc = "` + epcA + `"
  antenna = 1
  rssi_dbm = -50
  [[cabinet.tag]]
  epc = "` + epcB + `"
  antenna = 1
  [[cabinet.tag]]
  epc = "` + epcC + `"
  antenna = 2
  rssi_dbm = -60
  [[cabinet.cross_read]]
  from = "C-02"
  epc = "` + epcD + `"
  antenna = 4
  read_probability = 1.0
  rssi_dbm = -80
[[cabinet]]
id = "C-02"
link = "cab-02"
reader = "m6e"
antennas = 2
bus = "bus1"
address = 2
  [[cabinet.tag]]
  epc = "` + epcD + `"
  antenna = 1
  [[cabinet.tag]]
  epc = "` + epcE + `"
  antenna = 2
  rssi_dbm = -65
[[scanner]]
id = "D-01"
link = "desk-01"
`

func startRoom(t *testing.T) (*Sim, string) {
	t.Helper()
	sc, err := ParseScenario([]byte(room))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(sc, Options{LinkDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("got %d links left after Close, want none", len(left))
		}
	})
	return s, dir
}

// open opens a device the way the agent does: by its stable link, with go.bug.st/serial.
func open(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s with go.bug.st/serial: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func exec(t *testing.T, s *Sim, cmd string) {
	t.Helper()
	if _, err := s.Exec(cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
}

// seen is one round as a driver reported it: EPCs per antenna, and the antennas found missing.
type seen struct {
	tags    map[int][]string
	missing []int
	faults  int
	rssi    map[string]int
}

func (r seen) String() string {
	var ants []int
	for a := range r.tags {
		ants = append(ants, a)
	}
	sort.Ints(ants)
	var b strings.Builder
	for _, a := range ants {
		fmt.Fprintf(&b, "ant%d=%v ", a, r.tags[a])
	}
	fmt.Fprintf(&b, "missing=%v", r.missing)
	return b.String()
}

func round(t *testing.T, d reader.Driver, antennas ...int) (seen, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := seen{tags: map[int][]string{}, rssi: map[string]int{}}
	err := d.Inventory(ctx, reader.Plan{Antennas: antennas, Session: 1, Rounds: 1}, func(e reader.Event) {
		switch v := e.(type) {
		case reader.TagRead:
			epc := reader.HexUpper(v.EPC)
			if !slices.Contains(r.tags[v.Antenna], epc) {
				r.tags[v.Antenna] = append(r.tags[v.Antenna], epc)
				slices.Sort(r.tags[v.Antenna])
			}
			r.rssi[epc] = v.RSSIDBm
		case reader.RoundEnd:
			r.missing = v.Missing
		case reader.Fault:
			r.faults++
		}
	})
	return r, err
}

// until runs rounds until want holds: a changed tag set reaches the driver at the next quiet
// moment on the line, not at once.
func until(t *testing.T, d reader.Driver, what string, want func(seen) bool, antennas ...int) seen {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last seen
	for time.Now().Before(deadline) {
		r, err := round(t, d, antennas...)
		if err != nil {
			t.Fatalf("inventory: %v", err)
		}
		if want(r) {
			return r
		}
		last = r
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: got %v, never what was wanted", what, last)
	return seen{}
}

func TestR2000ReaderSeesTheScenario(t *testing.T) {
	s, dir := startRoom(t)
	port := open(t, filepath.Join(dir, "cab-01-reader"))
	d := r2000.New(port, reader.Config{ID: "cab-01", Timeout: time.Second})
	defer d.Close()

	info, err := d.Info(context.Background())
	if err != nil || info.Firmware == "" {
		t.Fatalf("Info: got %+v, %v; want the simulated firmware", info, err)
	}
	r, err := round(t, d, 1, 2, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := "ant1=[" + epcA + " " + epcB + "] ant2=[" + epcC + "] ant4=[" + epcD + "] missing=[]"
	if r.String() != want {
		t.Fatalf("got %v, want %s (the tags per antenna, and C-02's tag cross-read at antenna 4)", r, want)
	}
	if got := r.rssi[epcD]; got > -75 {
		t.Errorf("got cross-read RSSI %d dBm, want about -80 (weak)", got)
	}

	// A tag taken out of C-01 and one put in.
	exec(t, s, "remove C-01 "+epcB)
	exec(t, s, "add C-01 "+epcN+" 3")
	until(t, d, "after remove and add", func(r seen) bool {
		return r.String() == "ant1=["+epcA+"] ant2=["+epcC+"] ant3=["+epcN+"] ant4=["+epcD+"] missing=[]"
	}, 1, 2, 3, 4)

	// The cross-read ends when its tag leaves C-02.
	exec(t, s, "remove C-02 "+epcD)
	until(t, d, "after the neighbour's tag left", func(r seen) bool { return len(r.tags[4]) == 0 }, 1, 2, 3, 4)

	// Antenna 2 drops out: the driver reports it missing, and comes back.
	exec(t, s, "fault C-01 antenna 2")
	r, err = round(t, d, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.missing, []int{2}) || len(r.tags[2]) != 0 {
		t.Fatalf("with antenna 2 out: got %v, want antenna 2 missing and no reads there", r)
	}
	exec(t, s, "fault C-01 antenna 2 off")
	r, err = round(t, d, 1, 2)
	if err != nil || len(r.missing) != 0 || len(r.tags[2]) != 1 {
		t.Fatalf("with antenna 2 back: got %v, %v; want its tag read again", r, err)
	}
}

func TestM6eReaderSeesTheScenario(t *testing.T) {
	s, dir := startRoom(t)
	port := open(t, filepath.Join(dir, "cab-02-reader"))
	d := m6e.New(port, reader.Config{ID: "cab-02", Timeout: time.Second})
	d.Cycle = 100 * time.Millisecond
	defer d.Close()
	r, err := round(t, d, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ant1=[" + epcD + "] ant2=[" + epcE + "] missing=[]"; r.String() != want {
		t.Fatalf("got %v, want %s", r, want)
	}
	exec(t, s, "remove C-02 "+epcE)
	until(t, d, "after remove", func(r seen) bool { return len(r.tags[2]) == 0 && len(r.tags[1]) == 1 }, 1, 2)
}

func TestControllerDoorEvents(t *testing.T) {
	s, dir := startRoom(t)
	port := open(t, filepath.Join(dir, "bus1-controller"))
	c, err := cabinet.NewClient(port, cabinet.Config{Cabinets: map[uint8]string{1: "C-01", 2: "C-02"}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		c.Close()
	}()
	next := func(kind cabinet.EventKind) cabinet.Event {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case e := <-c.Events():
				if e.Kind == kind {
					return e
				}
			case <-timeout:
				t.Fatalf("got no %v event within 5 s", kind)
			}
		}
	}
	exec(t, s, "door C-02 open")
	if e := next(cabinet.EventDoorOpened); e.Cabinet != "C-02" || e.Addr != 2 {
		t.Fatalf("got door opened at %s (address %d), want C-02 (2)", e.Cabinet, e.Addr)
	}
	exec(t, s, "door C-02 close")
	if e := next(cabinet.EventDoorClosed); e.Cabinet != "C-02" {
		t.Fatalf("got door closed at %s, want C-02", e.Cabinet)
	}
	exec(t, s, "tamper C-01 on")
	if e := next(cabinet.EventTamper); e.Cabinet != "C-01" {
		t.Fatalf("got tamper at %s, want C-01", e.Cabinet)
	}
}

func TestScannerScans(t *testing.T) {
	s, dir := startRoom(t)
	port := open(t, filepath.Join(dir, "desk-01-scanner"))
	lr := scanner.NewLineReader(port)
	exec(t, s, "scan D-01 25306141411234525678")
	exec(t, s, "scan D-01 ]C0 DOC 0001")
	got, err := lr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.AI("253"); got.Symbology != "]C1" || v != "06141411234525678" {
		t.Fatalf("got %s %q gs1 %v, want ]C1 with AI 253 = 06141411234525678", got.Symbology, got.Data, got.GS1)
	}
	got, err = lr.Next()
	if err != nil || got.Symbology != "]C0" || got.Data != "DOC 0001" {
		t.Fatalf("got %s %q (%v), want ]C0 \"DOC 0001\"", got.Symbology, got.Data, err)
	}
}

func TestReaderVanishesAndReturns(t *testing.T) {
	s, dir := startRoom(t)
	link := filepath.Join(dir, "cab-01-reader")
	port := open(t, link)
	d := r2000.New(port, reader.Config{ID: "cab-01", Timeout: 300 * time.Millisecond})
	defer d.Close()
	if _, err := round(t, d, 1); err != nil {
		t.Fatal(err)
	}
	exec(t, s, "vanish C-01")
	if _, err := round(t, d, 1); err == nil {
		t.Fatal("inventory on a vanished reader: got no error, want one")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link of a vanished reader: got %v, want it gone", err)
	}
	if devs := s.Devices(); devs[0].Path != "" {
		t.Errorf("got path %q for a vanished reader, want none", devs[0].Path)
	}
	exec(t, s, "return C-01")
	var port2 serial.Port
	deadline := time.Now().Add(5 * time.Second)
	for port2 == nil && time.Now().Before(deadline) {
		if p, err := serial.Open(link, &serial.Mode{BaudRate: 115200}); err == nil {
			port2 = p
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if port2 == nil {
		t.Fatal("the reader did not return at its link within 5 s")
	}
	defer port2.Close()
	d2 := r2000.New(port2, reader.Config{ID: "cab-01", Timeout: time.Second})
	defer d2.Close()
	r, err := round(t, d2, 1)
	if err != nil || len(r.tags[1]) != 2 {
		t.Fatalf("after return: got %v, %v; want the two tags at antenna 1", r, err)
	}
}

func TestRunPrintsDevicesAndReadsCommands(t *testing.T) {
	sc, err := ParseScenario([]byte(room))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), inR, outW, true); outW.Close() }()
	lines := make(chan string, 32)
	go func() {
		defer close(lines)
		buf := newLineScanner(outR)
		for buf.Scan() {
			lines <- buf.Text()
		}
	}()
	var got []string
	for range 4 {
		got = append(got, <-lines)
	}
	for i, want := range []string{`{"kind":"reader","id":"C-01","protocol":"r2000","path":"/dev/pts/`, `{"kind":"reader","id":"C-02","protocol":"m6e"`, `{"kind":"controller","id":"bus1","protocol":"cabinet"`, `{"kind":"scanner","id":"D-01","protocol":"scanner"`} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("device line %d: got %s, want it to start with %s", i, got[i], want)
		}
	}
	if !strings.Contains(got[2], `"cabinets":[{"address":1,"cabinet":"C-01"},{"address":2,"cabinet":"C-02"}]`) {
		t.Errorf("got %s, want the bus's cabinets by address", got[2])
	}
	fmt.Fprintln(inW, "door C-09 open")
	if l := <-lines; l != `{"error":"door: no cabinet \"C-09\""}` {
		t.Errorf("got %s, want the unknown cabinet named", l)
	}
	// The printed path is the device: open it, type a scan, and the scanner's line reader gets it.
	var dev Device
	if err := json.Unmarshal([]byte(got[3]), &dev); err != nil {
		t.Fatal(err)
	}
	lr := scanner.NewLineReader(open(t, dev.Path))
	fmt.Fprintln(inW, "scan D-01 ]Q1 机密-0001")
	if l := <-lines; l != `{"reply":"scanner D-01: ]Q1机密-0001"}` {
		t.Errorf("got %s, want the scan acknowledged", l)
	}
	sc1, err := lr.Next()
	if err != nil || sc1.Symbology != "]Q1" || sc1.Data != "机密-0001" {
		t.Errorf("got %s %q (%v) at %s, want ]Q1 \"机密-0001\"", sc1.Symbology, sc1.Data, err, dev.Path)
	}
	fmt.Fprintln(inW, "quit")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after quit")
	}
	inW.Close()
}

func TestScenarioErrors(t *testing.T) {
	tests := []struct{ name, toml, want string }{
		{"unknown key", "[[cabinet]]\nid = \"C-01\"\nreader = \"r2000\"\nantenas = 4\n", "unknown key cabinet.antenas"},
		{"unknown tag key", "[[cabinet]]\nid = \"C-01\"\nreader = \"r2000\"\n[[cabinet.tag]]\nepc = \"" + epcA + "\"\nantenna = 1\nrssi = -50\n", "unknown key cabinet.tag.rssi"},
		{"family", "[[cabinet]]\nid = \"C-01\"\nreader = \"r3000\"\n", `cabinet C-01: reader "r3000": want r2000, m6e or llrp`},
		{"antenna", "[[cabinet]]\nid = \"C-01\"\nreader = \"m6e\"\nantennas = 2\n[[cabinet.tag]]\nepc = \"" + epcA + "\"\nantenna = 3\n", "cabinet C-01: tag[0]: tag " + epcA + ": antenna 3 out of range 1–2"},
		{"tag twice", "[[cabinet]]\nid = \"C-01\"\nreader = \"m6e\"\n[[cabinet.tag]]\nepc = \"" + epcA + "\"\nantenna = 1\n[[cabinet]]\nid = \"C-02\"\nreader = \"m6e\"\n[[cabinet.tag]]\nepc = \"" + epcA + "\"\nantenna = 1\n", "cabinet C-02: tag " + epcA + " is already in cabinet C-01"},
		{"cross-read source", "[[cabinet]]\nid = \"C-01\"\nreader = \"m6e\"\n[[cabinet.cross_read]]\nfrom = \"C-07\"\nepc = \"" + epcA + "\"\nantenna = 1\n", `cabinet C-01: cross_read[0]: from "C-07": want another cabinet of this scenario`},
		{"address clash", "[[cabinet]]\nid = \"C-01\"\nreader = \"m6e\"\nbus = \"b\"\naddress = 1\n[[cabinet]]\nid = \"C-02\"\nreader = \"m6e\"\nbus = \"b\"\naddress = 1\n", "cabinet C-02: address 1 on bus b is already cabinet C-01"},
		{"script", "[[scanner]]\nid = \"D-01\"\n[[script]]\nafter = \"1s\"\ndo = \"dance D-01\"\n", `script[0]: "dance D-01": unknown command "dance" (type help)`},
		{"empty", "seed = 1\n", "nothing to simulate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.toml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestShippedScenario keeps deploy/cabinet-sim/three-cabinets.toml valid and as the demo needs
// it: three cabinets, tens of tags, one cross-read, one desk scanner.
func TestShippedScenario(t *testing.T) {
	sc, err := LoadScenario("../../deploy/cabinet-sim/three-cabinets.toml")
	if err != nil {
		t.Fatal(err)
	}
	tags, cross := 0, 0
	for _, c := range sc.Cabinets {
		tags += len(c.Tags)
		cross += len(c.CrossReads)
	}
	if len(sc.Cabinets) != 3 || tags < 20 || cross != 1 || len(sc.Scanners) != 1 {
		t.Fatalf("got %d cabinets, %d tags, %d cross-reads, %d scanners; want 3, at least 20, 1, 1", len(sc.Cabinets), tags, cross, len(sc.Scanners))
	}
	s, err := New(sc, Options{LinkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var links []string
	for _, d := range s.Devices() {
		if _, err := os.Stat(d.Link); err != nil {
			t.Errorf("device %s %s: link: %v", d.Kind, d.ID, err)
		}
		links = append(links, filepath.Base(d.Link))
	}
	want := "cab-01-reader cab-02-reader cab-03-reader bus1-controller desk-01-scanner"
	if strings.Join(links, " ") != want {
		t.Errorf("got links %v, want %s", links, want)
	}
}

// TestScriptRunsTimedCommands: a [[script]] step reaches the controller's client as an event.
func TestScriptRunsTimedCommands(t *testing.T) {
	sc, err := ParseScenario([]byte(room + "[[script]]\nafter = \"100ms\"\ndo = \"door C-01 open\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := New(sc, Options{LinkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil, io.Discard, false) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	link := filepath.Join(dir, "bus1-controller")
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(link); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	port := open(t, link)
	c, err := cabinet.NewClient(port, cabinet.Config{Cabinets: map[uint8]string{1: "C-01", 2: "C-02"}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan error, 1)
	go func() { cdone <- c.Run(cctx) }()
	defer func() {
		ccancel()
		<-cdone
		c.Close()
	}()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.Events():
			if e.Kind == cabinet.EventDoorOpened {
				if e.Cabinet != "C-01" {
					t.Fatalf("got door opened at %s, want C-01", e.Cabinet)
				}
				return
			}
		case <-timeout:
			t.Fatal("got no door_opened event from the script within 5 s")
		}
	}
}

// TestControllerBusVanishesAndReturns: the bus device disappears (its link too) and comes back on
// a new pty where a client sees the cabinets' events again.
func TestControllerBusVanishesAndReturns(t *testing.T) {
	s, dir := startRoom(t)
	link := filepath.Join(dir, "bus1-controller")
	exec(t, s, "vanish bus1")
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link of a vanished bus: got %v, want it gone", err)
	}
	if _, err := s.Exec("vanish bus1"); err == nil {
		t.Fatal("vanish twice: got no error, want one")
	}
	exec(t, s, "door C-01 open") // happens while the bus is away: queued in the controller
	exec(t, s, "return bus1")
	c, err := cabinet.NewClient(open(t, link), cabinet.Config{Cabinets: map[uint8]string{1: "C-01", 2: "C-02"}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		c.Close()
	}()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.Events():
			if e.Kind == cabinet.EventDoorOpened && e.Cabinet == "C-01" {
				return
			}
		case <-timeout:
			t.Fatal("got no door_opened from C-01 after the bus returned, want the queued event")
		}
	}
}

// A tag written by a station (the agent's encode_tag) keeps its new EPC when it is taken off the
// pad and put into a cabinet: the room remembers writes across the rebuilds that add and remove
// cause. Antenna 3 of C-01's R2000 stands for the desk's pad here.
func TestWrittenTagKeepsItsEPC(t *testing.T) {
	s, dir := startRoom(t)
	port := open(t, filepath.Join(dir, "cab-01-reader"))
	d := r2000.New(port, reader.Config{ID: "cab-01", Timeout: time.Second})
	defer d.Close()
	const blank = "E2801160600002AA00000001"
	exec(t, s, "add C-01 "+blank+" 3")
	until(t, d, "the blank tag on the pad", func(r seen) bool { return slices.Equal(r.tags[3], []string{blank}) }, 3)
	newEPC, _ := hex.DecodeString(epcN)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.WriteEPC(ctx, 3, 0, newEPC); err != nil {
		t.Fatalf("write at the pad: %v", err)
	}
	exec(t, s, "add C-01 "+epcE+"0000 3") // another tag laid down: the simulator is rebuilt
	until(t, d, "the written tag after a rebuild", func(r seen) bool { return slices.Contains(r.tags[3], epcN) }, 3)
	exec(t, s, "remove C-01 "+epcN)
	exec(t, s, "add C-02 "+epcN+" 2")
	if _, err := s.Exec("remove C-01 " + blank); err == nil {
		t.Fatal("the blank EPC is still in C-01 after it was written over, want it gone")
	}
}
