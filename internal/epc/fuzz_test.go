package epc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds adds every vector string to the corpus, so the fuzzer starts from real tags.
func fuzzSeeds(f *testing.F, pick func(vectorFile) []string) {
	b, err := os.ReadFile(filepath.Join("..", "..", "firmware-protocol", "vectors", "epc.json"))
	if err != nil {
		f.Fatalf("read vectors: %v", err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatalf("parse vectors: %v", err)
	}
	for _, s := range pick(v) {
		f.Add(s)
	}
}

// FuzzDecodeHex: the decoder never panics, and whatever it accepts re-encodes to the same hex
// and survives the tag-URI round trip.
func FuzzDecodeHex(f *testing.F) {
	fuzzSeeds(f, func(v vectorFile) []string {
		var out []string
		for _, x := range v.Valid {
			out = append(out, x.Hex)
		}
		for _, x := range v.InvalidHex {
			out = append(out, x.Hex)
		}
		return out
	})
	f.Fuzz(func(t *testing.T, s string) {
		e, err := DecodeHex(s)
		if err != nil {
			if !e.IsZero() {
				t.Fatalf("DecodeHex(%q): got %v with error %v, want the zero EPC", s, e, err)
			}
			return
		}
		if got, want := e.Hex(), strings.ToUpper(s); got != want {
			t.Fatalf("DecodeHex(%q).Hex(): got %s, want %s", s, got, want)
		}
		back, err := ParseTagURI(e.TagURI())
		if err != nil {
			t.Fatalf("ParseTagURI(%q) of a decoded tag: %v", e.TagURI(), err)
		}
		if back != e {
			t.Fatalf("tag URI round trip: got %v, want %v", back, e)
		}
		if _, err := ParsePureIdentityURI(e.PureIdentityURI(), e.Filter()); err != nil {
			t.Fatalf("ParsePureIdentityURI(%q): %v", e.PureIdentityURI(), err)
		}
		if e.Scheme() == GDTI96 {
			g, err := ParseGDTIElementString(e.ElementString(), len(e.CompanyPrefix()), e.Filter())
			if err != nil || g != e {
				t.Fatalf("element string %q round trip: got %v, %v; want %v", e.ElementString(), g, err, e)
			}
		}
	})
}

// FuzzParseTagURI: the parser never panics, accepts only canonical URIs (so the accepted text is
// reproduced exactly), and what it accepts encodes and decodes back to itself.
func FuzzParseTagURI(f *testing.F) {
	fuzzSeeds(f, func(v vectorFile) []string {
		var out []string
		for _, x := range v.Valid {
			out = append(out, x.TagURI)
		}
		for _, x := range v.InvalidTagURI {
			out = append(out, x.URI)
		}
		return out
	})
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseTagURI(s)
		if err != nil {
			return
		}
		if got := e.TagURI(); got != s {
			t.Fatalf("ParseTagURI(%q).TagURI(): got %q, want the input back", s, got)
		}
		d, err := DecodeHex(e.Hex())
		if err != nil {
			t.Fatalf("DecodeHex(%s) of an encoded URI: %v", e.Hex(), err)
		}
		if d != e {
			t.Fatalf("hex round trip: got %v, want %v", d, e)
		}
	})
}

// FuzzParseGDTIElementString: scanner input never panics the parser, and what it accepts
// reproduces the same element string.
func FuzzParseGDTIElementString(f *testing.F) {
	fuzzSeeds(f, func(v vectorFile) []string {
		var out []string
		for _, x := range v.Valid {
			if strings.HasPrefix(x.ElementString, "(253)") {
				out = append(out, x.ElementString, strings.NewReplacer("(", "", ")", "").Replace(x.ElementString))
			}
		}
		return out
	})
	f.Fuzz(func(t *testing.T, s string) {
		for cp := 6; cp <= 12; cp++ {
			e, err := ParseGDTIElementString(s, cp, 0)
			if err != nil {
				continue
			}
			if got := e.ElementString(); got != s && e.BarcodeData() != s {
				t.Fatalf("ParseGDTIElementString(%q, %d): element string %q, want the input back", s, cp, got)
			}
		}
	})
}
