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
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

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
	Prev      string          `json:"prev"`                // hex SHA-256 of the previous record
	Hash      string          `json:"hash"`                // hex SHA-256 of this record
}

// Seal sets r.Prev and r.Hash. r.At is normalised to UTC with the precision the chain keeps
// (microseconds), so a record read back from storage or an export hashes the same.
func (r *Record) Seal(prev string) {
	r.At = r.At.UTC().Truncate(time.Microsecond)
	r.Prev = prev
	r.Hash = r.digest()
}

// digest is SHA-256 over a version tag and length-prefixed fields. Length prefixes make the
// encoding unambiguous: no two different records produce the same byte string.
func (r *Record) digest() string {
	var scratch [512]byte
	var ts [64]byte
	b := digestStart(scratch[:0], r.Prev, r.Seq, r.At.UTC().AppendFormat(ts[:0], time.RFC3339Nano))
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
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// digestStart begins the hashed byte string: the version tag, the previous hash, the sequence
// number in decimal and the time as RFC 3339 in UTC. Record.digest and the verifier's view.sum
// both build on it, field by field in the same order, so an export hashes as Seal did.
func digestStart[S ~string | ~[]byte](b []byte, prev S, seq int64, at []byte) []byte {
	b = append(b, "custody-audit-v1"...)
	b = field(b, prev)
	var num [20]byte
	b = field(b, strconv.AppendInt(num[:0], seq, 10))
	return field(b, at)
}

func field[S ~string | ~[]byte](b []byte, v S) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
