package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// SM3 as the chain uses it gives the known answers of GB/T 32905-2016 appendix A (examples 1
// and 2), so an SM3 chain can be checked by any conforming implementation.
func TestSM3KnownAnswers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{strings.Repeat("abcd", 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	} {
		sum, ok := hashWith(SM3, []byte(c.in))
		if got := hex.EncodeToString(sum[:]); !ok || got != c.want {
			t.Errorf("SM3(%q): got %s, want %s", c.in, got, c.want)
		}
	}
	// And SHA-256's FIPS 180-2 "abc", for the other profile.
	sum, _ := hashWith(SHA256, []byte("abc"))
	if got := hex.EncodeToString(sum[:]); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("SHA-256(abc): got %s", got)
	}
}

// A record's algorithm is covered by its hash: the same content under SHA-256 and SM3 hashes
// differently, and an SM3 record with its alg relabelled sha256 no longer verifies.
func TestAlgorithmIsHashed(t *testing.T) {
	a, b := chainWith(t, 1, SHA256)[0], chainWith(t, 1, SM3)[0]
	if a.Hash == b.Hash || a.Hash == chain(t, 1)[0].Hash {
		t.Fatalf("got equal hashes across algorithms: %s %s", a.Hash, b.Hash)
	}
	lines := export(t, []Record{b})
	if !strings.Contains(lines[0], `"alg":"sm3"`) {
		t.Fatalf("got %s, want the record to name sm3", lines[0])
	}
	lines[0] = strings.Replace(lines[0], `"alg":"sm3"`, `"alg":"sha256"`, 1)
	var br *Break
	if _, err := verify(lines, ""); !asBreak(err, &br) || br.Kind != "altered" || br.Index != 1 {
		t.Fatalf("relabelled algorithm: got %v, want record 1 altered", err)
	}
	lines[0] = strings.Replace(lines[0], `"alg":"sha256"`, `"alg":"md5"`, 1)
	if _, err := verify(lines, ""); !asBreak(err, &br) || br.Kind != "malformed" || !strings.Contains(br.Detail, `unknown hash algorithm "md5"`) {
		t.Fatalf("unknown algorithm: got %v, want malformed naming md5", err)
	}
}

// switched is a chain of 10 records: 1–4 unnamed SHA-256 (written before the profile existed),
// 5 named SHA-256, 6 the marked switch to SM3, 7–10 SM3.
func switched(t *testing.T) []Record {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	var recs []Record
	prev := Genesis
	for i := 1; i <= 10; i++ {
		r := Record{Seq: int64(i), At: at.Add(time.Duration(i) * time.Minute), Actor: "zhang.wei", Action: "item.store", Subject: "item:1"}
		switch {
		case i == 5:
			r.Alg = SHA256
		case i == 6:
			r.Alg, r.Actor, r.Action, r.Subject = SM3, "system", ActionProfile, "crypto"
			r.Before, r.After = json.RawMessage(`{"profile":"standard","hash":"sha256"}`), json.RawMessage(`{"profile":"sm","hash":"sm3"}`)
		case i > 6:
			r.Alg = SM3
		}
		r.Seal(prev)
		prev = r.Hash
		recs = append(recs, r)
	}
	return recs
}

// One chain switches profile at a marked record and verifies across the switch, offline; the
// result names each half.
func TestChainVerifiesAcrossProfileSwitch(t *testing.T) {
	recs := switched(t)
	res, err := verify(export(t, recs), recs[9].Hash)
	if err != nil || res.Records != 10 {
		t.Fatalf("got %+v, %v; want 10 intact records", res, err)
	}
	want := []Segment{{SHA256, 1, 5}, {SM3, 6, 10}}
	if len(res.Segments) != 2 || res.Segments[0] != want[0] || res.Segments[1] != want[1] {
		t.Fatalf("segments: got %+v, want %+v", res.Segments, want)
	}
	// Tampering on either side of the switch is still found.
	for _, i := range []int{2, 8} {
		lines := export(t, recs)
		lines[i] = strings.Replace(lines[i], "zhang.wei", "mallory", 1)
		var b *Break
		if _, err := verify(lines, ""); !asBreak(err, &b) || b.Index != i+1 || b.Kind != "altered" {
			t.Errorf("edit of record %d: got %v, want it altered", i+1, err)
		}
	}
}

// An algorithm may change only at the marked record: a record hashed with another algorithm but
// not marked is refused even though its own hash and link are right, and so is an unnamed (v1)
// record after named ones.
func TestUnmarkedSwitchIsRefused(t *testing.T) {
	for name, edit := range map[string]func(r *Record){
		"sm3 without the mark":        func(r *Record) { r.Alg = SM3 },
		"back to unnamed sha256":      func(r *Record) { r.Alg = "" },
		"mark with the old algorithm": func(r *Record) { r.Action = ActionProfile },
	} {
		t.Run(name, func(t *testing.T) {
			recs := chainWith(t, 6, SHA256)
			edit(&recs[3])
			prev := Genesis
			for i := range recs {
				recs[i].Seal(prev)
				prev = recs[i].Hash
			}
			_, err := verify(export(t, recs), "")
			if name == "mark with the old algorithm" {
				if err != nil {
					t.Fatalf("a marked record keeping the algorithm: got %v, want it accepted", err)
				}
				return
			}
			var b *Break
			if !asBreak(err, &b) || b.Index != 4 || b.Kind != "altered" || !strings.Contains(b.Detail, "hash algorithm changes") {
				t.Fatalf("got %v, want record 4 altered for its algorithm", err)
			}
		})
	}
}

// The verifier hashes an SM3 record from its line exactly as Seal did.
func TestViewHashesAsSealSM3(t *testing.T) {
	for i, r := range switched(t) {
		var buf bytes.Buffer
		WriteJSONL(&buf, []Record{r})
		var v view
		if err := v.parse(bytes.TrimSpace(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		_, sum := v.sum(nil)
		if got := hex.EncodeToString(sum[:]); got != r.Hash {
			t.Fatalf("record %d: view hashes %s, Seal %s", i+1, got, r.Hash)
		}
	}
}
