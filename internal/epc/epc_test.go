package epc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type vectorFile struct {
	About string `json:"about"`
	Valid []struct {
		Hex           string `json:"hex"`
		TagURI        string `json:"tag_uri"`
		PureURI       string `json:"pure_uri"`
		ElementString string `json:"element_string"`
		Source        string `json:"source"`
	} `json:"valid"`
	InvalidHex []struct {
		Hex    string `json:"hex"`
		Error  string `json:"error"`
		Field  string `json:"field"`
		Source string `json:"source"`
	} `json:"invalid_hex"`
	InvalidTagURI []struct {
		URI    string `json:"uri"`
		Error  string `json:"error"`
		Field  string `json:"field"`
		Source string `json:"source"`
	} `json:"invalid_tag_uri"`
}

var sentinels = map[string]error{
	"ErrSyntax":            ErrSyntax,
	"ErrLength":            ErrLength,
	"ErrUnsupportedScheme": ErrUnsupportedScheme,
	"ErrPartition":         ErrPartition,
	"ErrNotDigits":         ErrNotDigits,
	"ErrLeadingZero":       ErrLeadingZero,
	"ErrRange":             ErrRange,
	"ErrCheckDigit":        ErrCheckDigit,
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "firmware-protocol", "vectors", "epc.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v vectorFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(v.Valid) < 20 || len(v.InvalidHex) < 10 || len(v.InvalidTagURI) < 20 {
		t.Fatalf("vector file looks truncated: %d valid, %d invalid hex, %d invalid URIs",
			len(v.Valid), len(v.InvalidHex), len(v.InvalidTagURI))
	}
	return v
}

func TestVectorsDecodeHex(t *testing.T) {
	for _, v := range loadVectors(t).Valid {
		t.Run(v.Hex, func(t *testing.T) {
			for _, h := range []string{v.Hex, strings.ToLower(v.Hex)} {
				e, err := DecodeHex(h)
				if err != nil {
					t.Fatalf("DecodeHex(%q) (%s): %v", h, v.Source, err)
				}
				if got := e.TagURI(); got != v.TagURI {
					t.Errorf("TagURI: got %q, want %q (%s)", got, v.TagURI, v.Source)
				}
				if got := e.PureIdentityURI(); got != v.PureURI {
					t.Errorf("PureIdentityURI: got %q, want %q (%s)", got, v.PureURI, v.Source)
				}
				if v.ElementString != "" {
					if got := e.ElementString(); got != v.ElementString {
						t.Errorf("ElementString: got %q, want %q (%s)", got, v.ElementString, v.Source)
					}
				}
				if got := e.Hex(); got != v.Hex {
					t.Errorf("Hex: got %q, want %q", got, v.Hex)
				}
			}
		})
	}
}

func TestVectorsEncodeTagURI(t *testing.T) {
	for _, v := range loadVectors(t).Valid {
		t.Run(v.TagURI, func(t *testing.T) {
			e, err := ParseTagURI(v.TagURI)
			if err != nil {
				t.Fatalf("ParseTagURI (%s): %v", v.Source, err)
			}
			if got := e.Hex(); got != v.Hex {
				t.Errorf("Hex: got %q, want %q (%s)", got, v.Hex, v.Source)
			}
			if got := e.TagURI(); got != v.TagURI {
				t.Errorf("TagURI round trip: got %q, want %q", got, v.TagURI)
			}
			// The pure identity plus the filter gives the same tag.
			p, err := ParsePureIdentityURI(v.PureURI, e.Filter())
			if err != nil {
				t.Fatalf("ParsePureIdentityURI(%q): %v", v.PureURI, err)
			}
			if p != e {
				t.Errorf("pure identity + filter: got %v, want %v", p, e)
			}
			b := e.Bytes()
			d, err := Decode(b[:])
			if err != nil || d != e {
				t.Errorf("Decode(Bytes()): got %v, %v; want %v", d, err, e)
			}
		})
	}
}

func TestVectorsGDTIElementString(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t).Valid {
		if v.ElementString == "" || !strings.HasPrefix(v.ElementString, "(253)") {
			continue
		}
		n++
		e, err := DecodeHex(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{v.ElementString, e.BarcodeData()} {
			got, err := ParseGDTIElementString(s, len(e.CompanyPrefix()), e.Filter())
			if err != nil {
				t.Errorf("ParseGDTIElementString(%q): %v", s, err)
				continue
			}
			if got != e {
				t.Errorf("ParseGDTIElementString(%q): got %v, want %v", s, got, e)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d GDTI element strings in the vectors, want at least 5", n)
	}
}

func checkErr(t *testing.T, err error, wantErr, wantField, source string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s (%s)", wantErr, source)
	}
	want, ok := sentinels[wantErr]
	if !ok {
		t.Fatalf("vector names unknown error %q", wantErr)
	}
	if !errors.Is(err, want) {
		t.Errorf("got error %q, want one wrapping %s (%s)", err, wantErr, source)
	}
	if wantField != "" {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("got error %q without a *FieldError, want field %q", err, wantField)
		} else if fe.Field != wantField {
			t.Errorf("got field %q, want %q (error %q)", fe.Field, wantField, err)
		}
		if !strings.Contains(err.Error(), wantField) {
			t.Errorf("error %q does not name the field %q", err, wantField)
		}
	}
	if !strings.HasPrefix(err.Error(), "epc: ") {
		t.Errorf("error %q does not say where it comes from (want prefix \"epc: \")", err)
	}
}

func TestVectorsInvalidHex(t *testing.T) {
	for _, v := range loadVectors(t).InvalidHex {
		t.Run(v.Hex, func(t *testing.T) {
			e, err := DecodeHex(v.Hex)
			checkErr(t, err, v.Error, v.Field, v.Source)
			if !e.IsZero() {
				t.Errorf("got EPC %v with the error, want the zero EPC", e)
			}
		})
	}
}

func TestVectorsInvalidTagURI(t *testing.T) {
	for _, v := range loadVectors(t).InvalidTagURI {
		t.Run(v.URI, func(t *testing.T) {
			_, err := ParseTagURI(v.URI)
			checkErr(t, err, v.Error, v.Field, v.Source)
		})
	}
}

func TestForeignHeaderNamed(t *testing.T) {
	_, err := DecodeHex("3114257BF400000000000000")
	if err == nil || !strings.Contains(err.Error(), "sscc-96") {
		t.Fatalf("got %v, want an error naming sscc-96", err)
	}
}

func TestDecodeWrongByteCount(t *testing.T) {
	for _, n := range []int{0, 11, 13, 16} {
		_, err := Decode(make([]byte, n))
		if !errors.Is(err, ErrLength) {
			t.Errorf("Decode(%d bytes): got %v, want ErrLength", n, err)
		}
	}
}

func TestConstructorsValidate(t *testing.T) {
	tests := []struct {
		name  string
		make  func() (EPC, error)
		want  error
		field string
	}{
		{"filter 8", func() (EPC, error) { return NewGDTI96(8, "0614141", "12345", 1) }, ErrRange, "filter"},
		{"short prefix", func() (EPC, error) { return NewGDTI96(0, "06141", "1234567", 1) }, ErrPartition, "company prefix"},
		{"long prefix", func() (EPC, error) { return NewGDTI96(0, "0614141234567", "", 1) }, ErrPartition, "company prefix"},
		{"doc type letters", func() (EPC, error) { return NewGDTI96(0, "0614141", "1234x", 1) }, ErrNotDigits, "document type"},
		{"serial 2^41", func() (EPC, error) { return NewGDTI96(0, "0614141", "12345", 1<<41) }, ErrRange, "serial"},
		{"sgtin serial 2^38", func() (EPC, error) { return NewSGTIN96(0, "0614141", "812345", 1<<38) }, ErrRange, "serial"},
		{"giai 18 digits at P5", func() (EPC, error) { return NewGIAI96(0, "0614141", 100000000000000000) }, ErrRange, "asset reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.make()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("got error %q, want field %q named", err, tt.field)
			}
			if !e.IsZero() {
				t.Errorf("got %v with an error, want the zero EPC", e)
			}
		})
	}
	e, err := NewGDTI96(3, "0614141", "12345", 5678)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Hex(), "2C74257BF46072000000162E"; got != want {
		t.Errorf("NewGDTI96 Hex: got %s, want %s", got, want)
	}
	if got, want := e.GDTI13(), "0614141123452"; got != want {
		t.Errorf("GDTI13: got %s, want %s", got, want)
	}
	if got, want := e.BarcodeData(), "25306141411234525678"; got != want {
		t.Errorf("BarcodeData: got %s, want %s", got, want)
	}
}

func TestZeroEPC(t *testing.T) {
	var e EPC
	if e.Hex() != "" || e.TagURI() != "" || e.PureIdentityURI() != "" || e.ElementString() != "" {
		t.Errorf("zero EPC: got %q %q %q %q, want empty strings", e.Hex(), e.TagURI(), e.PureIdentityURI(), e.ElementString())
	}
	if IsOurs(e, "") {
		t.Error("IsOurs(zero EPC, \"\"): got true, want false")
	}
}

func TestIsOursAndIssuer(t *testing.T) {
	is := Issuer{CompanyPrefix: "6951234", DocumentType: "00001", Filter: FilterAllOthers}
	if err := is.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := is.ForItem(42)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.TagURI(), "urn:epc:tag:gdti-96:0.6951234.00001.42"; got != want {
		t.Errorf("ForItem(42): got %s, want %s", got, want)
	}
	if !IsOurs(e, "6951234") {
		t.Error("IsOurs(own tag): got false, want true")
	}
	if id, ok := is.ItemID(e); !ok || id != 42 {
		t.Errorf("ItemID: got %d, %v; want 42, true", id, ok)
	}
	// The filter describes the tag, not the item.
	f3, _ := NewGDTI96(3, "6951234", "00001", 42)
	if id, ok := is.ItemID(f3); !ok || id != 42 {
		t.Errorf("ItemID(filter 3): got %d, %v; want 42, true", id, ok)
	}
	foreign := []string{
		"2C74257BF46072000000162E", // GDTI of another company
		"3074257BF7194E4000001A85", // SGTIN
		"3434257BF400000000BC6038", // GIAI
	}
	for _, h := range foreign {
		f, err := DecodeHex(h)
		if err != nil {
			t.Fatal(err)
		}
		if IsOurs(f, "6951234") {
			t.Errorf("IsOurs(%s): got true, want false", f)
		}
		if _, ok := is.ItemID(f); ok {
			t.Errorf("ItemID(%s): got ok, want not ours", f)
		}
	}
	otherType, _ := NewGDTI96(0, "6951234", "00002", 42)
	if _, ok := is.ItemID(otherType); ok {
		t.Error("ItemID(other document type): got ok, want not ours")
	}
	if _, err := is.ForItem(MaxGDTI96Serial + 1); !errors.Is(err, ErrRange) {
		t.Errorf("ForItem(2^41): got %v, want ErrRange", err)
	}
	bad := Issuer{CompanyPrefix: "6951234", DocumentType: "1"}
	if err := bad.Validate(); !errors.Is(err, ErrRange) || !strings.Contains(err.Error(), "document type") {
		t.Errorf("Validate(1-digit document type): got %v, want ErrRange naming the document type", err)
	}
}

func TestParseGDTIElementStringErrors(t *testing.T) {
	tests := []struct {
		in   string
		cp   int
		want error
	}{
		{"(253)06141411234535678", 7, ErrCheckDigit},
		{"(01)06141411234525678", 7, ErrSyntax},
		{"(253)0614141123", 7, ErrRange},
		{"(253)06141411234525678", 5, ErrPartition},
		{"(253)0614141123452", 7, ErrSyntax},
		{"(253)0614141123452ABC", 7, ErrNotDigits},
		{"(253)061414112345205678", 7, ErrLeadingZero},
		{"(253)06141x1123452", 7, ErrNotDigits},
	}
	for _, tt := range tests {
		_, err := ParseGDTIElementString(tt.in, tt.cp, 0)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseGDTIElementString(%q, %d): got %v, want %v", tt.in, tt.cp, err, tt.want)
		}
	}
}

func TestCheckDigit(t *testing.T) {
	tests := map[string]byte{
		"061414112345":  '2', // GDTI of the TDS example
		"8061414112345": '8', // GTIN-14 80614141123458
		"629104150021":  '3', // EAN-13 6291041500213 (GS1 General Specifications example)
		"000000000000":  '0',
	}
	for in, want := range tests {
		got, err := CheckDigit(in)
		if err != nil || got != want {
			t.Errorf("CheckDigit(%s): got %c, %v; want %c", in, got, err, want)
		}
	}
	if _, err := CheckDigit("12a"); !errors.Is(err, ErrNotDigits) {
		t.Errorf("CheckDigit(12a): got %v, want ErrNotDigits", err)
	}
}

func TestFilterName(t *testing.T) {
	tests := []struct {
		s    Scheme
		f    Filter
		want string
	}{
		{GDTI96, 0, "all others"}, {GDTI96, 1, "travel document"}, {GDTI96, 3, "reserved"},
		{SGTIN96, 1, "point of sale trade item"}, {SGTIN96, 6, "unit load"},
		{GIAI96, 1, "rail vehicle"}, {GIAI96, 8, "invalid"},
	}
	for _, tt := range tests {
		if got := FilterName(tt.s, tt.f); got != tt.want {
			t.Errorf("FilterName(%v, %d): got %q, want %q", tt.s, tt.f, got, tt.want)
		}
	}
}
