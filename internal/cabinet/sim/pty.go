package sim

import (
	"errors"
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal for a simulated device: the simulator reads and writes Master, the
// program under test opens Path (e.g. /dev/pts/3) with go.bug.st/serial as it would /dev/ttyUSB0.
type PTY struct {
	Master *os.File
	Path   string
	slave  *os.File // held open so the master does not see a hang-up before the client opens Path
}

// OpenPTY opens a pseudo-terminal whose master is in Go's poller, so closing it unblocks a
// pending Read (creack/pty hands out a blocking descriptor, where Close would not).
func OpenPTY() (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open pty: dup master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		return nil, fmt.Errorf("open pty: non-blocking master: %w", err)
	}
	// Raw mode on the slave from the start, so nothing written before the client configures the
	// port is echoed back or translated.
	if t, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS); err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		_ = unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, t)
	}
	return &PTY{Master: os.NewFile(uintptr(fd), "ptmx:"+s.Name()), Path: s.Name(), slave: s}, nil
}

// Close closes both ends. Closing the master makes the slave's reader see the device vanish.
// It is safe to call more than once.
func (p *PTY) Close() error {
	err := p.Master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
