package netport_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/netport"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/reader/sim"
)

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   string
		def  int
		want string
	}{
		{"tcp://192.168.1.20:4001", 0, "192.168.1.20:4001"},
		{"tcp://reader-7", 5084, "reader-7:5084"},
		{"tcp://[fe80::1]:4001", 0, "[fe80::1]:4001"},
		{"tcp://10.0.0.5", 0, ""},
		{"tcp://10.0.0.5:0", 0, ""},
		{"tcp://10.0.0.5:70000", 0, ""},
		{"tcp://10.0.0.5:4001/x", 0, ""},
		{"/dev/ttyUSB0", 0, ""},
		{"tcp://", 0, ""},
	} {
		got, err := netport.ParseAddress(c.in, c.def)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("ParseAddress(%q, %d) = %q, %v; want %q", c.in, c.def, got, err, c.want)
		}
		if err != nil && !errors.Is(err, netport.ErrBadAddress) {
			t.Errorf("ParseAddress(%q): %v does not wrap ErrBadAddress", c.in, err)
		}
	}
}

func TestRefusedIsAnOperatorError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = netport.Open(netport.Config{Role: "reader cab-09", Address: "tcp://" + addr})
	var ne *netport.Error
	if !errors.As(err, &ne) || !errors.Is(err, netport.ErrRefused) {
		t.Fatalf("got %v, want a refused *Error", err)
	}
	if !strings.Contains(err.Error(), "reader cab-09 on tcp://"+addr) || !strings.Contains(ne.HintZH(), "串口服务器") {
		t.Fatalf("got %q / %q, want the role, the address and a hint", err, ne.HintZH())
	}
}

// serveR2000 serves an R2000 simulator on addr ("127.0.0.1:0" for any port) as a serial device
// server would, and returns the address and a stop that makes the device go away.
func serveR2000(t *testing.T, s *sim.R2000, addr string) (string, func()) {
	t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port may linger a moment after the last close
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sim.ServeListener(ctx, ln, s.Serve) }()
	return ln.Addr().String(), func() { cancel(); <-done }
}

// TestSerialReaderSurvivesTheServerGoingAwayAndComingBack drives an R2000 through a TCP "device
// server" with the real driver: rounds work, the server vanishes (the driver sees the link lost
// and opening fails with an operator error), the server returns on the same address and a new
// open works again — what the agent's supervisor does with backoff.
func TestSerialReaderSurvivesTheServerGoingAwayAndComingBack(t *testing.T) {
	s, err := sim.NewR2000(sim.Scenario{Tags: []sim.Tag{{EPC: "E28011700000020A1B2C3D01", Antenna: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveR2000(t, s, "127.0.0.1:0")
	open := func() (*r2000.Driver, error) {
		c, err := netport.Open(netport.Config{Role: "reader cab-T", Address: "tcp://" + addr})
		if err != nil {
			return nil, err
		}
		return r2000.New(c, reader.Config{ID: "cab-T", Timeout: 5 * time.Second}), nil
	}
	round := func(d *r2000.Driver) error {
		n := 0
		err := d.Inventory(context.Background(), reader.Plan{Antennas: []int{1}, Rounds: 1}, func(e reader.Event) {
			if _, ok := e.(reader.TagRead); ok {
				n++
			}
		})
		if err == nil && n != 1 {
			err = errors.New("tag not read")
		}
		return err
	}
	d, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if err := round(d); err != nil {
		t.Fatalf("first round: %v", err)
	}
	stop() // the device server goes away: its connections close
	if err := round(d); err == nil {
		t.Fatal("a round over a vanished server succeeded")
	}
	d.Close()
	if _, err := open(); !errors.Is(err, netport.ErrRefused) {
		t.Fatalf("open while away: got %v, want ErrRefused", err)
	}
	_, stop = serveR2000(t, s, addr)
	defer stop()
	d, err = open()
	if err != nil {
		t.Fatalf("open after return: %v", err)
	}
	defer d.Close()
	if err := round(d); err != nil {
		t.Fatalf("round after return: %v", err)
	}
}

func TestReadTimeoutReturnsEmpty(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(300 * time.Millisecond)
			c.Write([]byte{1})
			c.Close()
		}
	}()
	c, err := netport.Open(netport.Config{Address: "tcp://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadTimeout(20 * time.Millisecond)
	buf := make([]byte, 8)
	empties := 0
	for {
		n, err := c.Read(buf)
		if err != nil {
			if !errors.Is(err, netport.ErrGone) {
				t.Fatalf("got %v, want ErrGone at the end", err)
			}
			break
		}
		if n == 0 {
			empties++
		}
	}
	if empties == 0 {
		t.Fatal("no empty read while the device was silent")
	}
}
