// Package epcistest validates EPCIS documents for the tests of every package that exports them:
// always against custody's own schema (firmware-protocol/epcis/custody-epcis.schema.json, written
// from the EPCIS 2.0 standard), and also against GS1's official EPCIS-JSON-Schema.json when
// CUSTODY_GS1_EPCIS_SCHEMA names a copy of it (not kept in the repository; see that folder's
// README). It is a test helper (floor 0).
package epcistest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// GS1SchemaEnv names the environment variable that points at GS1's EPCIS-JSON-Schema.json.
const GS1SchemaEnv = "CUSTODY_GS1_EPCIS_SCHEMA"

// SchemaPath is custody's EPCIS schema.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "firmware-protocol", "epcis", "custody-epcis.schema.json")
}

type compiled struct {
	once   sync.Once
	schema *jsonschema.Schema
	err    error
}

var custodySchema, gs1Schema compiled

// ecma is an ECMAScript regular expression: JSON Schema patterns are ECMA-262 by definition, and
// GS1's schema uses lookahead (^(?!urn:epcglobal:cbv…)), which Go's RE2 cannot express.
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

func (c *compiled) load(path string) (*jsonschema.Schema, error) {
	c.once.Do(func() {
		var b []byte
		if b, c.err = os.ReadFile(path); c.err != nil {
			return
		}
		var doc any
		if doc, c.err = jsonschema.UnmarshalJSON(bytes.NewReader(b)); c.err != nil {
			return
		}
		comp := jsonschema.NewCompiler()
		comp.AssertFormat()
		comp.UseRegexpEngine(compileECMA)
		name := filepath.Base(path)
		if c.err = comp.AddResource(name, doc); c.err != nil {
			return
		}
		c.schema, c.err = comp.Compile(name)
	})
	return c.schema, c.err
}

// Validate checks doc against the schemas and fails tb with the validator's full report.
func Validate(tb testing.TB, doc []byte) {
	tb.Helper()
	if err := Check(doc); err != nil {
		tb.Fatalf("EPCIS document does not pass: %v\n%s", err, clip(doc))
	}
}

// Check returns the schemas' verdict on doc: custody's, then GS1's when it is available.
func Check(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	sch, err := custodySchema.load(SchemaPath())
	if err != nil {
		return fmt.Errorf("custody's EPCIS schema: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("custody's EPCIS 2.0 schema: %w", err)
	}
	if path := os.Getenv(GS1SchemaEnv); path != "" {
		sch, err := gs1Schema.load(path)
		if err != nil {
			return fmt.Errorf("GS1's EPCIS schema (%s=%s): %w", GS1SchemaEnv, path, err)
		}
		if err := sch.Validate(v); err != nil {
			return fmt.Errorf("GS1's EPCIS 2.0 JSON Schema: %w", err)
		}
	}
	return nil
}

func clip(b []byte) []byte {
	if len(b) > 4000 {
		return append(b[:4000:4000], "…"...)
	}
	return b
}
