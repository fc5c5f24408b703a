// Package cryptoprofile names the set of algorithms an installation uses — the standard profile
// (SHA-256, HMAC-SHA256, Ed25519, AES-256-GCM) or the national one for 密评 (GB/T 39786) and 分级保护
// (SM3, HMAC-SM3, SM2, SM4-GCM) — and provides each primitive for the chosen profile.
//
// Contract: a Profile is read from `[crypto] profile` in custodyd's and the agent's TOML ("standard"
// when absent); Parse refuses any other word. The SM algorithms come from github.com/emmansun/gmsm
// v0.41.1, a maintained implementation with GB/T test vectors; nothing here implements a primitive
// itself. Vocabulary-level packages that cannot import this one (audit, wire) name algorithms with
// the same words ("sha256", "sm3", "hmac-sha256", "hmac-sm3").
package cryptoprofile

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// Profile is the installation's choice of algorithms.
type Profile string

// The profiles.
const (
	Standard Profile = "standard" // SHA-256, HMAC-SHA256, Ed25519, AES-256-GCM
	SM       Profile = "sm"       // 国密: SM3, HMAC-SM3, SM2, SM4-GCM
)

// Parse reads a profile as written in a config file; "" is the default, standard.
func Parse(s string) (Profile, error) {
	switch Profile(s) {
	case "", Standard:
		return Standard, nil
	case SM:
		return SM, nil
	}
	return "", fmt.Errorf("%q is not standard or sm (国密 SM3/SM2/SM4)", s)
}

// ChainHash is the audit chain's hash under the profile, as audit.Record.Alg names it.
func (p Profile) ChainHash() string {
	if p == SM {
		return "sm3"
	}
	return "sha256"
}

// String is the word written in config files.
func (p Profile) String() string {
	if p == "" {
		return string(Standard)
	}
	return string(p)
}

// EnvelopeMAC is the MAC agents' envelopes carry under the profile, as wire names it
// ("hmac-sha256" or "hmac-sm3"); an agent is enrolled with its profile's.
func (p Profile) EnvelopeMAC() string {
	if p == SM {
		return "hmac-sm3"
	}
	return "hmac-sha256"
}

// MACHash is the hash of an envelope MAC algorithm named as wire names it; ok is false for an
// unknown name.
func MACHash(alg string) (h func() hash.Hash, ok bool) {
	switch alg {
	case "hmac-sha256":
		return sha256.New, true
	case "hmac-sm3":
		return sm3.New, true
	}
	return nil, false
}
