package wire_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// schema is the subset of JSON Schema 2020-12 the files in firmware-protocol/mqtt use: type,
// properties, required, additionalProperties (boolean), items, enum, pattern, minLength,
// maxLength, minimum, maximum, maxItems and format date-time. A keyword outside that subset makes
// the test fail, so the files cannot drift into something this checker silently ignores.
type schema map[string]any

var schemaKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "type": true, "properties": true,
	"required": true, "additionalProperties": true, "items": true, "enum": true, "pattern": true,
	"minLength": true, "maxLength": true, "minimum": true, "maximum": true, "maxItems": true, "format": true,
}

func loadSchema(t *testing.T, name string) schema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "firmware-protocol", "mqtt", name))
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	var s schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	checkKeywords(t, name, s)
	return s
}

func checkKeywords(t *testing.T, where string, s map[string]any) {
	t.Helper()
	for k, v := range s {
		if !schemaKeywords[k] {
			t.Fatalf("schema %s uses keyword %q outside the tested subset", where, k)
		}
		switch k {
		case "properties":
			for name, sub := range v.(map[string]any) {
				checkKeywords(t, where+"."+name, sub.(map[string]any))
			}
		case "items":
			checkKeywords(t, where+"[]", v.(map[string]any))
		}
	}
}

var uEscape = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`)

// validate returns the first violation of value (decoded with UseNumber) against s, or nil.
func validate(s map[string]any, v any, path string) error {
	if typ, ok := s["type"].(string); ok {
		if !hasType(v, typ) {
			return fmt.Errorf("%s: got %T, want %s", path, v, typ)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v not in enum %v", path, v, enum)
		}
	}
	switch x := v.(type) {
	case string:
		n := len([]rune(x))
		if m, ok := s["minLength"].(float64); ok && float64(n) < m {
			return fmt.Errorf("%s: length %d below minLength %v", path, n, m)
		}
		if m, ok := s["maxLength"].(float64); ok && float64(n) > m {
			return fmt.Errorf("%s: length %d above maxLength %v", path, n, m)
		}
		if p, ok := s["pattern"].(string); ok {
			re := regexp.MustCompile(uEscape.ReplaceAllString(p, `\x{$1}`))
			if !re.MatchString(x) {
				return fmt.Errorf("%s: %q does not match %s", path, x, p)
			}
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", path, x)
			}
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := s["minimum"].(float64); ok && f < m {
			return fmt.Errorf("%s: %v below minimum %v", path, x, m)
		}
		if m, ok := s["maximum"].(float64); ok && f > m {
			return fmt.Errorf("%s: %v above maximum %v", path, x, m)
		}
	case []any:
		if m, ok := s["maxItems"].(float64); ok && float64(len(x)) > m {
			return fmt.Errorf("%s: %d items above maxItems %v", path, len(x), m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				if err := validate(items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					return fmt.Errorf("%s: required member %q missing", path, r)
				}
			}
		}
		for k, e := range x {
			sub, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: member %q not allowed", path, k)
				}
				continue
			}
			if err := validate(sub, e, path+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasType(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if strings.ContainsAny(string(n), ".eE") {
			f, err := n.Float64()
			return err == nil && f == math.Trunc(f)
		}
		return true
	case "null":
		return v == nil
	}
	return false
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestSchemaCheckerCatchesViolations(t *testing.T) {
	// The checker itself must fail on bad input, or the agreement tests prove nothing.
	s := loadSchema(t, "obs-door.schema.json")
	for _, bad := range []string{
		`{"cabinet":"C1"}`,
		`{"cabinet":"C1","state":"ajar"}`,
		`{"cabinet":"C 1","state":"open"}`,
		`{"cabinet":"C1","state":"open","extra":1}`,
		`{"cabinet":7,"state":"open"}`,
	} {
		if err := validate(s, decodeAny(t, []byte(bad)), "body"); err == nil {
			t.Errorf("schema accepted %s, want a violation", bad)
		}
	}
	if err := validate(s, decodeAny(t, []byte(`{"cabinet":"C1","state":"open","badge":"E-17"}`)), "body"); err != nil {
		t.Errorf("schema refused a good door body: %v", err)
	}
}
