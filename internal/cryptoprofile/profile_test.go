package cryptoprofile

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Profile{"": Standard, "standard": Standard, "sm": SM} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"SM", "gm", "sha256", " sm"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "is not standard or sm") {
			t.Errorf("Parse(%q): got %v, want refused", in, err)
		}
	}
}

// A key pair of each profile signs and verifies; a changed message, another key, or a key read
// as the wrong kind of PEM is refused.
func TestKeyPairs(t *testing.T) {
	for _, p := range []Profile{Standard, SM} {
		priv, pub, err := NewKeyPair(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		if s.Alg() != p.SignatureAlg() || v.Alg() != p.SignatureAlg() {
			t.Fatalf("%s: got %s/%s, want %s", p, s.Alg(), v.Alg(), p.SignatureAlg())
		}
		msg := []byte("custody-head-v1 42 abc")
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Verify(s.Alg(), msg, sig) {
			t.Errorf("%s: own signature refused", p)
		}
		if v.Verify(s.Alg(), append(msg, '!'), sig) {
			t.Errorf("%s: signature of another message accepted", p)
		}
		_, pub2, _ := NewKeyPair(p)
		v2, _ := ParseVerifier(pub2)
		if v2.Verify(s.Alg(), msg, sig) {
			t.Errorf("%s: another key accepted the signature", p)
		}
		if _, err := ParseSigner(pub); err == nil {
			t.Errorf("%s: a public key read as a private one", p)
		}
		if _, err := ParseVerifier(priv); err == nil {
			t.Errorf("%s: a private key read as a public one", p)
		}
	}
}
