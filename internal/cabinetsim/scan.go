package cabinetsim

import (
	"bufio"
	"io"
)

func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	return sc
}
