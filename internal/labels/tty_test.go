package labels

import (
	"os"

	"golang.org/x/sys/unix"
)

// rawTTY turns off output post-processing (LF → CR LF) so the bytes arrive unchanged, as on a
// USB printer class device.
func rawTTY(f *os.File) error {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ICANON
	return unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
}
