// Package readertest runs the conformance vectors in firmware-protocol/vectors against a reader
// codec, so the r2000 and m6e tests (and later the decode tool's) check the same files the same
// way. It is imported by tests only.
package readertest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/reader"
)

// Vector is one entry of a vectors file.
type Vector struct {
	Name      string           `json:"name"`
	Source    string           `json:"source"`
	Direction string           `json:"direction"`
	Hex       string           `json:"hex"`
	Expect    []map[string]any `json:"expect"`
}

// File is a vectors file.
type File struct {
	Protocol string   `json:"protocol"`
	About    string   `json:"about"`
	Vectors  []Vector `json:"vectors"`
}

// Bytes decodes the vector's hex, ignoring whitespace.
func (v Vector) Bytes() ([]byte, error) {
	return hex.DecodeString(strings.Join(strings.Fields(v.Hex), ""))
}

// Load reads and checks a vectors file: every vector needs a name, a source and valid hex.
func Load(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	for i, v := range f.Vectors {
		if v.Name == "" || v.Source == "" {
			return File{}, fmt.Errorf("%s: vector %d has no name or source", path, i)
		}
		if _, err := v.Bytes(); err != nil {
			return File{}, fmt.Errorf("%s: vector %s: %w", path, v.Name, err)
		}
	}
	return f, nil
}

// NextFunc yields the next record of a stream, or an error (*reader.DecodeError, io.EOF).
type NextFunc func() (reader.Record, error)

// Causes maps the cause names used in vectors files to the codec sentinels.
var Causes = map[string]error{
	"garbage":   reader.ErrGarbage,
	"checksum":  reader.ErrChecksum,
	"length":    reader.ErrLength,
	"truncated": reader.ErrTruncated,
	"malformed": reader.ErrMalformed,
}

// Run checks every vector: open builds a decoder over the stream for the vector's direction.
func Run(t *testing.T, path string, open func(r io.Reader, direction string) NextFunc) {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatalf("%s holds no vectors", path)
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			b, _ := v.Bytes()
			next := open(bytes.NewReader(b), v.Direction)
			for i, want := range v.Expect {
				got, err := next()
				if err := match(want, got, err); err != nil {
					t.Fatalf("item %d: %v", i, err)
				}
			}
			if got, err := next(); !errors.Is(err, io.EOF) {
				t.Fatalf("after %d items: got %+v, %v; want io.EOF", len(v.Expect), got, err)
			}
		})
	}
}

func match(want map[string]any, got reader.Record, err error) error {
	if want["kind"] == "error" {
		var de *reader.DecodeError
		if !errors.As(err, &de) {
			return fmt.Errorf("got record %+v, err %v; want decode error %v", got, err, want)
		}
		if off, ok := want["offset"].(float64); ok && int64(off) != de.Offset {
			return fmt.Errorf("got error offset %d, want %v (%v)", de.Offset, off, de)
		}
		if sk, ok := want["skipped"].(float64); ok && int64(sk) != de.Skipped {
			return fmt.Errorf("got %d bytes skipped, want %v (%v)", de.Skipped, sk, de)
		}
		if c, ok := want["cause"].(string); ok {
			sentinel, known := Causes[c]
			if !known {
				return fmt.Errorf("vector names unknown cause %q", c)
			}
			if !errors.Is(de, sentinel) {
				return fmt.Errorf("got cause %v, want %s", de.Err, c)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("got error %v, want %v", err, want)
	}
	b, _ := json.Marshal(got)
	var gotMap map[string]any
	_ = json.Unmarshal(b, &gotMap)
	for k, w := range want {
		g, ok := gotMap[k]
		if k == "detail" {
			wd, _ := w.(map[string]any)
			gd, _ := g.(map[string]any)
			for dk, dv := range wd {
				if !reflect.DeepEqual(gd[dk], dv) {
					return fmt.Errorf("detail %s: got %v, want %v (record %s)", dk, gd[dk], dv, b)
				}
			}
			continue
		}
		if !ok || !reflect.DeepEqual(g, w) {
			return fmt.Errorf("%s: got %v, want %v (record %s)", k, g, w, b)
		}
	}
	return nil
}
