package console

import (
	"io/fs"
	"os"
	"testing/fstest"
)

// osDir reads the package's own source files.
type osDir struct{}

func (osDir) Open(name string) (fs.File, error) { return os.Open(name) }

// overlay is the embedded files with some replaced.
type overlay map[string]string

func (o overlay) Open(name string) (fs.File, error) {
	if s, ok := o[name]; ok {
		m := fstest.MapFS{name: {Data: []byte(s)}}
		return m.Open(name)
	}
	return files.Open(name)
}
