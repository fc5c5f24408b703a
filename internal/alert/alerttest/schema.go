package alerttest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Repo is the repository's root directory (found from this file), for tests that read
// firmware-protocol/.
func Repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Schema compiles firmware-protocol/mqtt/<name> with a JSON Schema 2020-12 validator (format
// assertions on) and returns a function that validates one payload against it.
func Schema(t testing.TB, name string) func(payload []byte) error {
	t.Helper()
	path := filepath.Join(Repo(), "firmware-protocol", "mqtt", name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	sch, err := c.Compile(name)
	if err != nil {
		t.Fatalf("compile schema %s: %v", name, err)
	}
	return func(payload []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
		if err != nil {
			return err
		}
		return sch.Validate(v)
	}
}

// PublishedVectors are firmware-protocol/vectors/mqtt_published.json: good and bad payloads of
// the alerts and summary topics.
type PublishedVectors struct {
	Description string       `json:"description"`
	Alert       TopicVectors `json:"alert"`
	Summary     TopicVectors `json:"summary"`
}

// TopicVectors are one topic's good and bad payloads.
type TopicVectors struct {
	Good []struct {
		Name    string          `json:"name"`
		Payload json.RawMessage `json:"payload"`
	} `json:"good"`
	Bad []struct {
		Name    string          `json:"name"`
		Reason  string          `json:"reason"`
		Payload json.RawMessage `json:"payload"`
	} `json:"bad"`
}

// LoadPublishedVectors reads the vectors of what custodyd publishes.
func LoadPublishedVectors(t testing.TB) PublishedVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Repo(), "firmware-protocol", "vectors", "mqtt_published.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v PublishedVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("vectors: %v", err)
	}
	return v
}
