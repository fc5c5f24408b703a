// Package epcistest validates documents against GS1's EPCIS 2.0 JSON Schema, vendored in
// firmware-protocol/epcis/ (see its README for the source), for the tests of every package that
// exports EPCIS. It is a test helper (floor 0).
package epcistest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the vendored EPCIS-JSON-Schema.json.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "firmware-protocol", "epcis", "EPCIS-JSON-Schema.json")
}

var (
	once   sync.Once
	schema *jsonschema.Schema
	err    error
)

// ecma is an ECMAScript regular expression: GS1's schema uses lookahead (^(?!urn:epcglobal:cbv…)),
// which Go's RE2 cannot express, and JSON Schema patterns are ECMA-262 by definition.
type ecma struct{ re *regexp2.Regexp }

func (e ecma) MatchString(s string) bool {
	ok, err := e.re.MatchString(s)
	return err == nil && ok
}
func (e ecma) String() string { return e.re.String() }

func compileECMA(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecma{re}, nil
}

func load() (*jsonschema.Schema, error) {
	once.Do(func() {
		var b []byte
		if b, err = os.ReadFile(SchemaPath()); err != nil {
			return
		}
		var doc any
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(b)); err != nil {
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		c.UseRegexpEngine(compileECMA)
		if err = c.AddResource("EPCIS-JSON-Schema.json", doc); err != nil {
			return
		}
		schema, err = c.Compile("EPCIS-JSON-Schema.json")
	})
	return schema, err
}

// Validate checks doc against the schema and fails tb with the validator's full report.
func Validate(tb testing.TB, doc []byte) {
	tb.Helper()
	if err := Check(doc); err != nil {
		tb.Fatalf("EPCIS document does not pass GS1's EPCIS 2.0 JSON Schema: %v\n%s", err, clip(doc))
	}
}

// Check returns the schema's verdict on doc.
func Check(doc []byte) error {
	sch, err := load()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func clip(b []byte) []byte {
	if len(b) > 4000 {
		return append(b[:4000:4000], "…"...)
	}
	return b
}
