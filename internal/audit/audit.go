// Package audit is the register's tamper-evident history: an append-only chain of records in which
// each record's hash covers its own content and the previous record's hash.
//
// Contract: Seal computes a record's hash from its content and its predecessor; Verify walks an
// exported chain (JSON lines) without any server or secret and names the first record that was
// altered, deleted, inserted or reordered. Anyone holding the whole file can recompute a whole new
// chain, so the chain head (the last hash) must also be recorded outside the database — custodyd
// logs it at every start and `custodyctl audit head` prints it; `audit verify --head` checks an
// export against a head recorded earlier. Records never carry document titles or content (the
// 三员 auditor reads them): the register stores a digest instead.
//
// Each record names its hash algorithm (Alg): SHA-256 under the standard crypto profile, SM3
// (GB/T 32905, from github.com/emmansun/gmsm v0.41.1) under the 国密 profile. One chain may change
// algorithm only at a marked record (Action ActionProfile), which is itself hashed with the new
// algorithm, so Verify checks both halves and refuses a silent change. Records without Alg were
// written before the profile existed: SHA-256 over the v1 encoding, still verified as they were.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Hash algorithms of the chain, as Record.Alg names them.
const (
	SHA256 = "sha256"
	SM3    = "sm3"
)

// ActionProfile is the action of the marked record at which a chain changes hash algorithm:
// custodyd appends it when it starts under another [crypto] profile than the chain's head.
const ActionProfile = "audit.profile"

// ValidAlg reports whether alg names a hash the chain knows ("" is the unnamed SHA-256 of records
// written before the profile existed).
func ValidAlg(alg string) bool { return alg == "" || alg == SHA256 || alg == SM3 }

// algOf is the algorithm a record's Alg means: "" is SHA-256.
func algOf[S ~string | ~[]byte](alg S) string {
	if len(alg) == 0 {
		return SHA256
	}
	return string(alg)
}

// SwitchAllowed reports whether a record with alg and action may follow one with prevAlg: the
// same algorithm, or another at the marked record. Once records name their algorithm, an
// unnamed one may not follow (it would be the v1 encoding the chain has left).
func SwitchAllowed(prevAlg, alg, action string) bool {
	if prevAlg != "" && alg == "" {
		return false
	}
	return algOf(prevAlg) == algOf(alg) || action == ActionProfile
}

// Genesis is the "previous hash" of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Record is one change to the register.
type Record struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`               // username of who made the change
	Action    string          `json:"action"`              // e.g. "document.register", "item.store"
	Subject   string          `json:"subject"`             // e.g. "item:42"
	Before    json.RawMessage `json:"before,omitempty"`    // compact JSON, or absent
	After     json.RawMessage `json:"after,omitempty"`     // compact JSON, or absent
	Approvals []string        `json:"approvals,omitempty"` // approval ids the change relied on
	Parties   []string        `json:"parties,omitempty"`   // both sides of a handover
	Alg       string          `json:"alg,omitempty"`       // SHA256 or SM3; "" for SHA-256 v1
	Prev      string          `json:"prev"`                // hex hash of the previous record
	Hash      string          `json:"hash"`                // hex hash of this record, with Alg
}

// Seal sets r.Prev and r.Hash, hashing with r.Alg (an unknown Alg gives an empty hash, which
// never verifies). r.At is normalised to UTC with the precision the chain keeps
// (microseconds), so a record read back from storage or an export hashes the same.
func (r *Record) Seal(prev string) {
	r.At = r.At.UTC().Truncate(time.Microsecond)
	r.Prev = prev
	r.Hash = r.digest()
}

// digest is the record's hash (SHA-256 or SM3) over a version tag and length-prefixed fields.
// Length prefixes make the encoding unambiguous: no two different records produce the same byte
// string.
func (r *Record) digest() string {
	var scratch [512]byte
	var ts [64]byte
	b := digestStart(scratch[:0], r.Alg, r.Prev, r.Seq, r.At.UTC().AppendFormat(ts[:0], time.RFC3339Nano))
	b = field(b, r.Actor)
	b = field(b, r.Action)
	b = field(b, r.Subject)
	b = field(b, r.Before)
	b = field(b, r.After)
	b = binary.AppendUvarint(b, uint64(len(r.Approvals)))
	for _, a := range r.Approvals {
		b = field(b, a)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Parties)))
	for _, p := range r.Parties {
		b = field(b, p)
	}
	sum, ok := hashWith(r.Alg, b)
	if !ok {
		return ""
	}
	return hex.EncodeToString(sum[:])
}

// hashWith hashes b with the named algorithm; ok is false for an unknown one.
func hashWith[S ~string | ~[]byte](alg S, b []byte) (sum [32]byte, ok bool) {
	switch string(alg) { // compiled to comparisons: no allocation
	case "", SHA256:
		return sha256.Sum256(b), true
	case SM3:
		return sm3.Sum(b), true
	}
	return sum, false
}

// digestStart begins the hashed byte string: the version tag (v2 with the algorithm's name when
// the record names one, so the name is covered by the hash), the previous hash, the sequence
// number in decimal and the time as RFC 3339 in UTC. Record.digest and the verifier's view.sum
// both build on it, field by field in the same order, so an export hashes as Seal did.
func digestStart[S ~string | ~[]byte](b []byte, alg, prev S, seq int64, at []byte) []byte {
	if len(alg) == 0 {
		b = append(b, "custody-audit-v1"...)
	} else {
		b = append(b, "custody-audit-v2"...)
		b = field(b, alg)
	}
	b = field(b, prev)
	var num [20]byte
	b = field(b, strconv.AppendInt(num[:0], seq, 10))
	return field(b, at)
}

func field[S ~string | ~[]byte](b []byte, v S) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
