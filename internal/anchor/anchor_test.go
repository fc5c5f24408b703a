package anchor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
)

func keys(t *testing.T, p cryptoprofile.Profile) (*cryptoprofile.Signer, *cryptoprofile.Verifier) {
	t.Helper()
	priv, pub, err := cryptoprofile.NewKeyPair(p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cryptoprofile.ParseSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cryptoprofile.ParseVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// sealed reseals recs from the first as one chain (what an attacker with the database does
// after an edit).
func sealed(recs []audit.Record) []audit.Record {
	prev := audit.Genesis
	for i := range recs {
		recs[i].Seal(prev)
		prev = recs[i].Hash
	}
	return recs
}

func chain(n int, alg string) []audit.Record {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	recs := make([]audit.Record, n)
	for i := range recs {
		recs[i] = audit.Record{Seq: int64(i + 1), At: at.Add(time.Duration(i) * time.Minute), Actor: "wang.fang", Action: "item.store",
			Subject: fmt.Sprintf("item:%d", i+1), After: json.RawMessage(`{"cabinet":"C-01"}`), Alg: alg}
	}
	return sealed(recs)
}

func export(t *testing.T, recs []audit.Record) *bytes.Reader {
	var buf bytes.Buffer
	if err := audit.WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// A head signed by the auditor proves an export extends it; an edit made after signing is found
// even when the attacker recomputed every hash after it (the chain is intact in itself), and so
// is a cut-off end — under both profiles.
func TestSignedHeadDetectsRewriteAfterSigning(t *testing.T) {
	for _, p := range []cryptoprofile.Profile{cryptoprofile.Standard, cryptoprofile.SM} {
		t.Run(p.String(), func(t *testing.T) {
			signer, verifier := keys(t, p)
			if signer.Alg() != p.SignatureAlg() {
				t.Fatalf("key algorithm: got %s, want %s", signer.Alg(), p.SignatureAlg())
			}
			recs := chain(12, p.ChainHash())
			h, err := Sign(signer, 8, recs[7].Hash, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var file bytes.Buffer
			h.Write(&file)
			h, err = Read(&file)
			if err != nil {
				t.Fatal(err)
			}

			res, err := VerifyExport(export(t, recs), h, verifier)
			if err != nil || res.Records != 12 {
				t.Fatalf("the chain that extends the signed head: got %+v, %v; want 12 intact records", res, err)
			}

			forged := append([]audit.Record(nil), recs...)
			forged[2].Actor = "mallory"
			sealed(forged)
			if _, err := audit.Verify(export(t, forged), audit.VerifyOptions{}); err != nil {
				t.Fatalf("the rewritten chain should be intact in itself (every hash recomputed): %v", err)
			}
			var b *audit.Break
			_, err = VerifyExport(export(t, forged), h, verifier)
			if !errors.As(err, &b) || b.Kind != "rewritten" || b.Seq != 8 || !strings.Contains(b.Detail, "rewritten after signing") {
				t.Fatalf("rewritten after signing: got %v, want a rewritten break at seq 8", err)
			}

			_, err = VerifyExport(export(t, recs[:6]), h, verifier)
			if !errors.As(err, &b) || b.Kind != "truncated" {
				t.Fatalf("cut off before the signed head: got %v, want truncated", err)
			}
		})
	}
}

// A signed head changed after signing, or checked with another key or another algorithm's key,
// is refused.
func TestSignatureBindsTheHead(t *testing.T) {
	signer, verifier := keys(t, cryptoprofile.SM)
	_, other := keys(t, cryptoprofile.SM)
	_, ed := keys(t, cryptoprofile.Standard)
	recs := chain(5, audit.SM3)
	h, err := Sign(signer, 5, recs[4].Hash, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Check(verifier); err != nil {
		t.Fatalf("the signer's key: got %v, want the head accepted", err)
	}
	for name, c := range map[string]struct {
		edit func(*Head)
		key  *cryptoprofile.Verifier
	}{
		"seq changed":  {func(h *Head) { h.Seq = 4 }, verifier},
		"hash changed": {func(h *Head) { h.Hash = recs[3].Hash }, verifier},
		"time changed": {func(h *Head) { h.At = h.At.Add(time.Hour) }, verifier},
		"another key":  {func(h *Head) {}, other},
		"Ed25519 key":  {func(h *Head) {}, ed},
	} {
		g := h
		c.edit(&g)
		if err := g.Check(c.key); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
	if _, err := Read(strings.NewReader(`{"seq":5,"hash":"ab","at":"2026-12-06T09:00:00Z","sig_alg":"sm2-sm3","sig":"AA==","extra":1}`)); err == nil {
		t.Error("a head with an unknown field was read")
	}
}
