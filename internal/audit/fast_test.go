package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// A chain written by the verifier's predecessor (testdata/chain-v1.jsonl, sealed before the
// verifier read records without building them) still verifies, from its recorded head: the hash
// format did not change. It holds escapes in strings, absent and null fields, approvals, a list
// with an escaped item, and one time written with a +08:00 offset by another exporter.
func TestExistingChainVerifies(t *testing.T) {
	data, err := os.ReadFile("testdata/chain-v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	head, err := os.ReadFile("testdata/chain-v1.head")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]io.Reader{
		"whole":          bytes.NewReader(data),
		"one byte reads": iotest.OneByteReader(bytes.NewReader(data)),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Verify(src, VerifyOptions{Head: strings.TrimSpace(string(head))})
			if err != nil || res.Records != 40 || res.Head != strings.TrimSpace(string(head)) {
				t.Fatalf("got %+v, %v; want 40 intact records", res, err)
			}
		})
	}
	// And one changed byte in the record whose time has an offset is still found.
	edited := bytes.Replace(data, []byte("09:00:05.123456+08:00"), []byte("09:00:06.123456+08:00"), 1)
	_, err = Verify(bytes.NewReader(edited), VerifyOptions{})
	var b *Break
	if !errors.As(err, &b) || b.Index != 6 || b.Kind != "altered" {
		t.Fatalf("got %v, want record 6 altered", err)
	}
}

// The verifier hashes a record from its line exactly as Seal hashed the Record.
func TestViewHashesAsSeal(t *testing.T) {
	data, err := os.ReadFile("testdata/chain-v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var v view
		if err := v.parse(line); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		var r Record
		if err := decodeRecord(line, &r); err != nil {
			t.Fatal(err)
		}
		_, sum := v.sum(nil)
		var got [64]byte
		hex.Encode(got[:], sum[:])
		if string(got[:]) != r.digest() || string(got[:]) != r.Hash {
			t.Fatalf("line %d: view hashes %s, Record %s, stored %s", i+1, got, r.digest(), r.Hash)
		}
	}
}

// Verifying allocates nothing per record for an export as custodyd writes it: the figure that
// keeps verification bound by SHA-256 rather than by the garbage collector.
func TestVerifyAllocatesNothingPerRecord(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race are the race detector's, not the verifier's")
	}
	for _, alg := range []string{"", SM3} {
		testVerifyAllocates(t, alg)
	}
}

func testVerifyAllocates(t *testing.T, alg string) {
	recs := chainWith(t, 20_000, alg)
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := Verify(bytes.NewReader(data), VerifyOptions{Head: recs[len(recs)-1].Hash}); err != nil {
			t.Fatal(err)
		}
	})
	// A fixed cost per run (buffers, one goroutine per worker per chunk), none per record.
	if per := allocs / float64(len(recs)); per > 0.01 {
		t.Fatalf("%s: got %.0f allocations for %d records (%.3f per record), want none per record", algOf(alg), allocs, len(recs), per)
	}
}
