package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Everything WriteJSONL writes, decodeRecord reads back unchanged — including escapes, control
// characters, Chinese, HTML characters and every optional field present or absent.
func TestDecodeRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "王芳", "\"", "\\", "\n", "\t", "\u0001", "<>&", "\u2028", " ", "}", "]", ",", ":", "😀"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 2000 {
		r := Record{Seq: int64(i + 1), At: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC().Truncate(time.Microsecond),
			Actor: str(), Action: str(), Subject: str()}
		if rng.IntN(2) == 0 {
			b, _ := json.Marshal(map[string]any{"k": str(), "n": rng.IntN(100), "l": []any{true, nil, 1.5, str()}})
			r.Before = b
		}
		if rng.IntN(2) == 0 {
			r.After = json.RawMessage(`"` + strings.Repeat("x", rng.IntN(3)) + `"`)
		}
		if rng.IntN(2) == 0 {
			r.Approvals = []string{str(), str()}
		}
		if rng.IntN(2) == 0 {
			r.Parties = []string{str()}
		}
		r.Seal(Genesis)
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, []Record{r}); err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := decodeRecord(bytes.TrimSpace(buf.Bytes()), &got); err != nil {
			t.Fatalf("record %d %s: %v", i, buf.Bytes(), err)
		}
		if !reflect.DeepEqual(got, r) || got.digest() != r.Hash {
			t.Fatalf("record %d: got %+v, want %+v", i, got, r)
		}
		// The verifier hashes the line without building a Record: the same digest.
		var v view
		if err := v.parse(bytes.TrimSpace(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		if _, sum := v.sum(nil); hex.EncodeToString(sum[:]) != r.Hash {
			t.Fatalf("record %d %s: the verifier's hash differs from Seal's", i, buf.Bytes())
		}
	}
}

func TestDecodeRecordRefuses(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{"seq":1`, `{"seq":1,"seq":2}`, `{"seq":1,"extra":true}`, `{"seq":"1"}`, `{"seq":1.5}`,
		`{"at":"yesterday"}`, "{\"actor\":\"a\x01\"}", `{"before":{"a":}}`, `{"before":[1,2}`,
		`{"approvals":["a",1]}`, `{"seq":1} trailing`, `{"actor":"unterminated}`, `{"before":tru}`,
	} {
		var r Record
		if err := decodeRecord([]byte(in), &r); err == nil {
			t.Errorf("decodeRecord(%q): got nil error, want a refusal", in)
		}
	}
	var r Record
	if err := decodeRecord([]byte(`{"after":true,"seq":3}`), &r); err != nil || string(r.After) != "true" || r.Seq != 3 {
		t.Errorf("literal before '}': got %+v, %v", r, err)
	}
}

// FuzzDecodeRecord: never panics, and whatever it accepts encoding/json reads the same way.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range chain(f, 3) {
		var buf bytes.Buffer
		WriteJSONL(&buf, []Record{r})
		f.Add(bytes.TrimSpace(buf.Bytes()))
	}
	f.Add([]byte(`{"before":{"a":[1,{"b":"}"}]},"seq":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Record
		if decodeRecord(b, &got) != nil {
			return
		}
		var want Record
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("decodeRecord accepted %q, encoding/json refuses it: %v", b, err)
		}
		if got.digest() != want.digest() {
			t.Fatalf("%q: got %+v, encoding/json reads %+v", b, got, want)
		}
		var v view
		if err := v.parse(b); err != nil {
			t.Fatalf("%q: decodeRecord accepts it, the verifier's view refuses it: %v", b, err)
		}
		if _, sum := v.sum(nil); hex.EncodeToString(sum[:]) != want.digest() {
			t.Fatalf("%q: the verifier hashes it differently from Seal", b)
		}
	})
}

// Values in before/after are checked in the pass that finds their end, exactly as json.Valid
// would: the hand-written check must refuse what encoding/json refuses and accept what it accepts.
func TestRawValuesAsJSONValid(t *testing.T) {
	for _, v := range []string{
		`"\u12"`, `"\u123"`, `"\u12G4"`, `"\x"`, `"\"`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `-0`, `0.5e-3`, `1E9`,
		`[1,]`, `[,1]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `tru`, `nul`, `[true,false,null]`, `{"a":{"b":[{}]}}`,
		`"\u00e9\n\t\/"`, `[1 2]`, `{"a":1 "b":2}`, `-01`, `2.0E-0`, `[[[[]]]]`,
	} {
		rec := []byte(`{"before":` + v + `,"seq":1}`)
		var r Record
		got := decodeRecord(rec, &r) == nil
		if want := json.Valid([]byte(v)); got != want {
			t.Errorf("before %s: decodeRecord accepts %v, json.Valid says %v", v, got, want)
		}
	}
}
