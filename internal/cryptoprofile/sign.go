package cryptoprofile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Signature algorithms, as a signed chain head names them.
const (
	SigSM2     = "sm2-sm3" // SM2 (GB/T 32918, GM/T 0003) over SM3 with the default ID of GM/T 0009
	SigEd25519 = "ed25519"
)

// SignatureAlg is the algorithm the profile's new key pairs sign with.
func (p Profile) SignatureAlg() string {
	if p == SM {
		return SigSM2
	}
	return SigEd25519
}

// Signer signs with a private key read from PEM.
type Signer struct {
	sm2 *sm2.PrivateKey
	ed  ed25519.PrivateKey
}

// Verifier checks signatures with a public key read from PEM.
type Verifier struct {
	sm2 *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

// NewKeyPair makes a key pair for the profile (SM2 under sm, Ed25519 otherwise) and returns it as
// PEM: the private key as PKCS #8 ("PRIVATE KEY"), the public key as SubjectPublicKeyInfo
// ("PUBLIC KEY"), the encodings GM/T 0010 and RFC 8410 give for each.
func NewKeyPair(p Profile) (private, public []byte, err error) {
	var priv, pub any
	if p == SM {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generate an SM2 key: %w", err)
		}
		priv, pub = k, &k.PublicKey
	} else {
		pk, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generate an Ed25519 key: %w", err)
		}
		priv, pub = sk, pk
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the private key: %w", err)
	}
	pubDER, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// ParseSigner reads a PEM private key written by NewKeyPair (SM2 or Ed25519).
func ParseSigner(pemBytes []byte) (*Signer, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key (-----BEGIN PRIVATE KEY-----, as custodyctl keys new writes it)")
	}
	k, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read the private key: %w", err)
	}
	switch k := k.(type) {
	case *sm2.PrivateKey:
		return &Signer{sm2: k}, nil
	case ed25519.PrivateKey:
		return &Signer{ed: k}, nil
	}
	return nil, fmt.Errorf("a %T private key: want SM2 or Ed25519", k)
}

// ParseVerifier reads a PEM public key written by NewKeyPair (SM2 or Ed25519).
func ParseVerifier(pemBytes []byte) (*Verifier, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key (-----BEGIN PUBLIC KEY-----, as custodyctl keys new writes it)")
	}
	k, err := smx509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read the public key: %w", err)
	}
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(k) {
			return &Verifier{sm2: k}, nil
		}
	case ed25519.PublicKey:
		return &Verifier{ed: k}, nil
	}
	return nil, fmt.Errorf("a %T public key: want SM2 or Ed25519", k)
}

// Alg is the signature algorithm of the key.
func (s *Signer) Alg() string {
	if s.sm2 != nil {
		return SigSM2
	}
	return SigEd25519
}

// Alg is the signature algorithm of the key.
func (v *Verifier) Alg() string {
	if v.sm2 != nil {
		return SigSM2
	}
	return SigEd25519
}

// Sign signs msg: SM2 with SM3 and the default user ID (Z_A per GM/T 0009), or Ed25519.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	if s.sm2 != nil {
		return s.sm2.SignWithSM2(rand.Reader, nil, msg)
	}
	return ed25519.Sign(s.ed, msg), nil
}

// Verify reports whether sig, made with alg, is a signature of msg by this key.
func (v *Verifier) Verify(alg string, msg, sig []byte) bool {
	if alg != v.Alg() {
		return false
	}
	if v.sm2 != nil {
		return sm2.VerifyASN1WithSM2(v.sm2, nil, msg, sig)
	}
	return ed25519.Verify(v.ed, msg, sig)
}
