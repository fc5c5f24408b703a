package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	cabsim "github.com/custodyhq/custody/internal/cabinet/sim"
	"github.com/custodyhq/custody/internal/wire"
)

// site adds to the rig a cabinet controller bus (the cabinet simulator: C-07 at address 1, C-08 at
// 2) and a serial desk scanner, each on its own pseudo-terminal.
type site struct {
	c07, c08 *cabsim.Controller
	scanner  *cabsim.PTY
}

func withSite(t *testing.T, cfg *config.Config) *site {
	t.Helper()
	s := &site{c07: cabsim.New(1, cabsim.Options{}), c08: cabsim.New(2, cabsim.Options{})}
	bus, err := cabsim.NewBus(nil, s.c07, s.c08)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cabsim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Serve(ctx, p.Master) }()
	t.Cleanup(func() { cancel(); p.Close(); <-done })
	sp, err := cabsim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	s.scanner = sp
	cfg.Controllers = []config.Controller{{ID: "bus1", Port: p.Path, Baud: 9600, Cabinets: []config.ControllerSlot{{Address: 1, Cabinet: "C-07"}, {Address: 2, Cabinet: "C-08"}}}}
	cfg.Scanners = []config.Scanner{{ID: "desk1", Desk: "D-1", Port: sp.Path, Baud: 9600}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSiteWithControllersAndScanner(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	r := newSimReader(t, scenario())
	cfg := testConfig(t, b.URL(), key)
	s := withSite(t, &cfg)
	a, _ := runAgent(t, cfg, r, Options{})

	// With the doors reported closed by the controllers, the start-up rounds are complete.
	g, _ := o.wait(0, 20*time.Second, "inventory of C-07", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); !*inv.Complete || len(inv.Tags) != 6 {
		t.Fatalf("C-07 with its door watched and closed: got complete=%v tags=%d, want complete with 6", *inv.Complete, len(inv.Tags))
	}

	// The door opens and closes at the cabinet: both published, then the after-close scan.
	n := o.count()
	s.c07.OpenDoor()
	o.wait(n, 10*time.Second, "door open", func(g obs) bool { d, ok := g.body.(*wire.Door); return ok && d.State == "open" && d.Cabinet == "C-07" })
	s.c07.CloseDoor()
	_, j := o.wait(n, 10*time.Second, "door closed", func(g obs) bool { d, ok := g.body.(*wire.Door); return ok && d.State == "closed" })
	g, _ = o.wait(j+1, 20*time.Second, "inventory after the close", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); !*inv.Complete {
		t.Fatalf("after-close inventory incomplete: %+v", inv.Antennas)
	}

	// Tamper raised at the controller.
	s.c08.SetTamper(true)
	o.wait(n, 10*time.Second, "tamper fault", func(g obs) bool { f, ok := g.body.(*wire.Fault); return ok && f.Code == "tamper" && !*f.Cleared })

	// custodyd unlocks C-08 through the agent; the simulated controller executes it.
	id := o.command(wire.KindUnlock, wire.Unlock{Cabinet: "C-07", Seconds: 20}, time.Now())
	g, _ = o.wait(n, 10*time.Second, "unlock result", resultOf(id))
	if res := g.body.(*wire.CmdResult); !*res.OK {
		t.Fatalf("unlock through the controller: got error %q", res.Error)
	}
	if st := s.c07.Status(); st.UnlockLeft == 0 {
		t.Fatalf("controller status after unlock: got %+v, want unlocked for a while", st)
	}

	// A desk scan arrives on the serial scanner.
	if _, err := s.scanner.Master.Write([]byte("]C0CUS-2026-000123-01\r\n")); err != nil {
		t.Fatal(err)
	}
	g, _ = o.wait(n, 10*time.Second, "scan", isKind(wire.KindScan))
	if sc := g.body.(*wire.Scan); sc.Data != "CUS-2026-000123-01" || sc.Symbology != "]C0" || sc.Scanner != "desk1" || sc.Desk != "D-1" {
		t.Fatalf("scan: got %+v", sc)
	}
	// A garbled read (a control character inside) is not swallowed: it goes to the desk as
	// unreadable, with its cause, so the custodian hears "scan again" (issue 21 point 7).
	m0 := o.count()
	if _, err := s.scanner.Master.Write([]byte("CUS-20\x0726-000123-01\r\n")); err != nil {
		t.Fatal(err)
	}
	g, _ = o.wait(m0, 10*time.Second, "unreadable scan", isKind(wire.KindScan))
	if sc := g.body.(*wire.Scan); sc.Symbology != wire.SymbologyUnreadable || sc.Data != "control" || sc.Desk != "D-1" {
		t.Fatalf("garbled scan: got %+v, want symbology %q with cause control", sc, wire.SymbologyUnreadable)
	}

	// The controller falls silent: its doors are unknown, and a round is not complete.
	s.c07.SetSilent(true)
	o.wait(n, 20*time.Second, "controller silent fault", func(g obs) bool { f, ok := g.body.(*wire.Fault); return ok && f.Code == "controller_silent" })
	m := o.count()
	a.Trigger("C-07", "now", "test")
	g, _ = o.wait(m, 20*time.Second, "inventory with the controller silent", inventoryOf("C-07"))
	if inv := g.body.(*wire.Inventory); *inv.Complete {
		t.Fatal("inventory complete although the door could not be vouched for")
	}
	if rounds := get(t, "http://"+a.healthAddr+"/rounds"); !strings.Contains(rounds, "controller is not answering") {
		t.Fatalf("/rounds does not say why: %s", rounds)
	}
	inOrder(t, o.all())
}
