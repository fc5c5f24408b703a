package serialport_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/r2000"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/serialport"
)

// device is a simulated R2000 reader on a fresh pty.
type device struct {
	pty  *sim.PTY
	done chan error
	stop context.CancelFunc
}

func newDevice(t *testing.T, firmware string) *device {
	t.Helper()
	s, err := sim.NewR2000(sim.Scenario{Firmware: firmware, Tags: []sim.Tag{{EPC: "E2801160600002AA00000001", Antenna: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &device{pty: p, done: make(chan error, 1), stop: cancel}
	go func() { d.done <- s.Serve(ctx, p.Master) }()
	t.Cleanup(d.unplug)
	return d
}

// unplug makes the device vanish, as pulling the USB cable does.
func (d *device) unplug() {
	d.stop()
	d.pty.Close()
	<-d.done
	d.done <- nil // keep unplug idempotent
}

func TestOpenNotFound(t *testing.T) {
	_, err := serialport.Open(serialport.Config{Role: "reader cab-07", Path: "/dev/ttyUSB-does-not-exist"})
	if !errors.Is(err, serialport.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	want := "reader cab-07 on /dev/ttyUSB-does-not-exist: device not found"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start with %q", err, want)
	}
}

// Root may open nearly anything, but sysfs refuses a read-write open of a read-only attribute
// even to root: a real EACCES through go.bug.st/serial's PermissionDenied code.
func TestOpenPermissionDenied(t *testing.T) {
	path := "/sys/kernel/uevent_seqnum"
	_, err := serialport.Open(serialport.Config{Role: "reader cab-07", Path: path})
	if !errors.Is(err, serialport.ErrPermission) {
		t.Fatalf("got %v, want ErrPermission", err)
	}
	want := "reader cab-07 on " + path + ": permission denied — add the service user to group dialout"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	var se *serialport.Error
	if !errors.As(err, &se) || !strings.Contains(se.HintZH(), "dialout") {
		t.Errorf("got zh-CN hint %q, want one naming dialout", se.HintZH())
	}
}

func TestOpenNotSerial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := serialport.Open(serialport.Config{Role: "scanner desk-1", Path: path})
	if !errors.Is(err, serialport.ErrNotSerial) {
		t.Fatalf("got %v, want ErrNotSerial", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []serialport.Config{
		{},
		{Path: "/dev/ttyUSB0", Parity: "mark-ish"},
		{Path: "/dev/ttyUSB0", StopBits: 3},
		{Path: "/dev/ttyUSB0", DataBits: 9},
		{USB: &serialport.USB{VID: "1a86"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v): got nil, want an error", c)
		}
	}
	if err := (serialport.Config{Path: "/dev/ttyUSB0", Parity: "even", StopBits: 2, Baud: 9600}).Validate(); err != nil {
		t.Errorf("valid config: got %v", err)
	}
}

func TestLineSettings(t *testing.T) {
	d := newDevice(t, "1.9")
	p, err := serialport.Open(serialport.Config{Path: d.pty.Path, Baud: 57600, Parity: "even", StopBits: 2, DataBits: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	drv := r2000.New(p, reader.Config{})
	defer drv.Close()
	if _, err := drv.Info(context.Background()); err != nil {
		t.Errorf("reader on an even-parity, two-stop-bit line: %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	d := newDevice(t, "1.9")
	p, err := serialport.Open(serialport.Config{Role: "reader cab-01", Path: d.pty.Path})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 64))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, serialport.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
}

func TestReadAfterUnplug(t *testing.T) {
	d := newDevice(t, "1.9")
	p, err := serialport.Open(serialport.Config{Role: "reader cab-01", Path: d.pty.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 64))
		errc <- err
	}()
	d.unplug()
	select {
	case err := <-errc:
		if !errors.Is(err, serialport.ErrGone) || !strings.Contains(err.Error(), "reader cab-01 on "+d.pty.Path) {
			t.Errorf("got %v, want ErrGone naming the reader and its path", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not notice the device vanish")
	}
}

func TestResolveUSB(t *testing.T) {
	list := []*enumerator.PortDetails{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1A86", PID: "7523", SerialNumber: "A1"},
		{Name: "/dev/ttyUSB1", IsUSB: true, VID: "1a86", PID: "7523", SerialNumber: "B2"},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "0403", PID: "6001", SerialNumber: "FT1"},
	}
	enum := func() ([]*enumerator.PortDetails, error) { return list, nil }
	for _, c := range []struct {
		usb  serialport.USB
		want string
		err  error
	}{
		{serialport.USB{VID: "1a86", PID: "7523", Serial: "B2"}, "/dev/ttyUSB1", nil},
		{serialport.USB{VID: "0403", PID: "6001"}, "/dev/ttyACM0", nil},
		{serialport.USB{VID: "1a86", PID: "7523"}, "", serialport.ErrAmbiguous},
		{serialport.USB{VID: "1a86", PID: "7523", Serial: "C3"}, "", serialport.ErrNotFound},
	} {
		got, err := serialport.Resolve(serialport.Config{Role: "reader cab-07", USB: &c.usb, Enumerate: enum})
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("Resolve(%v): got %q, %v; want %q, %v", c.usb, got, err, c.want, c.err)
		}
	}
	// The real enumerator must at least run on this machine.
	if _, err := serialport.Resolve(serialport.Config{USB: &serialport.USB{VID: "ffff", PID: "ffff"}}); !errors.Is(err, serialport.ErrNotFound) {
		t.Errorf("real enumerator: got %v, want ErrNotFound", err)
	}
}

// session runs an r2000 driver on the port and reports each firmware it sees, until the device
// is lost.
func session(seen chan<- string) func(ctx context.Context, p *serialport.Port) error {
	return func(ctx context.Context, p *serialport.Port) error {
		drv := r2000.New(p, reader.Config{ID: "cab-07", Timeout: 500 * time.Millisecond})
		defer drv.Close()
		for {
			info, err := drv.Info(ctx)
			if err != nil {
				return err
			}
			select {
			case seen <- info.Firmware:
			default:
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func waitFor(t *testing.T, seen <-chan string, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-seen:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("never saw firmware %s", want)
		}
	}
}

// A udev symlink (/dev/custody/cab-07) that points at a pty: the device vanishes, stays away for a
// while (the link dangles), and comes back on another node; Serve reopens it by the same name.
func TestServeReopensAfterUnplug(t *testing.T) {
	link := filepath.Join(t.TempDir(), "cab-07")
	first := newDevice(t, "1.9")
	if err := os.Symlink(first.pty.Path, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 16)
	served := make(chan error, 1)
	cfg := serialport.Config{Role: "reader cab-07", Path: link, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	go func() { served <- serialport.Serve(ctx, cfg, session(seen)) }()
	waitFor(t, seen, "1.9")

	first.unplug()
	if err := os.Remove(link); err != nil { // udev removes the link with the device
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // several failed reopen attempts
	second := newDevice(t, "2.0")
	if err := os.Symlink(second.pty.Path, link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, seen, "2.0")

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: got %v, want nil after cancel", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not end with its context")
	}
}

// A reader found by its USB identity keeps its role when plugged into another socket: the
// enumerator reports the same serial number on a new node and Serve follows it.
func TestServeFollowsUSBIdentity(t *testing.T) {
	var mu sync.Mutex
	var list []*enumerator.PortDetails
	plug := func(path string) {
		mu.Lock()
		defer mu.Unlock()
		list = []*enumerator.PortDetails{{Name: path, IsUSB: true, VID: "1a86", PID: "7523", SerialNumber: "CAB07"}}
	}
	enum := func() ([]*enumerator.PortDetails, error) {
		mu.Lock()
		defer mu.Unlock()
		return list, nil
	}
	first := newDevice(t, "1.9")
	plug(first.pty.Path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 16)
	served := make(chan error, 1)
	cfg := serialport.Config{Role: "reader cab-07", USB: &serialport.USB{VID: "1A86", PID: "7523", Serial: "CAB07"},
		Enumerate: enum, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	go func() { served <- serialport.Serve(ctx, cfg, session(seen)) }()
	waitFor(t, seen, "1.9")
	first.unplug()
	plug("")
	second := newDevice(t, "3.1")
	plug(second.pty.Path)
	waitFor(t, seen, "3.1")
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: got %v, want nil after cancel", err)
	}
}

func TestServeGivesUpOnBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := serialport.Serve(context.Background(), serialport.Config{Path: path}, func(context.Context, *serialport.Port) error {
		t.Error("session ran on a file that is no serial port")
		return nil
	})
	if !errors.Is(err, serialport.ErrNotSerial) {
		t.Errorf("got %v, want ErrNotSerial", err)
	}
}
