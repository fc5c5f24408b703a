// Package anchor is the audit chain's external anchor: a chain head (sequence number, hash, time)
// signed with the security auditor's key — SM2 under the 国密 profile, Ed25519 under the standard
// one (cryptoprofile) — and kept outside custodyd.
//
// Contract: a bare head proves nothing against someone holding the database, who can edit a
// record and recompute every hash after it; a signed head cannot be recomputed without the
// auditor's private key, which custodyd does not hold. Sign makes a Head; Read decodes one
// strictly; VerifyExport checks the signature with the auditor's public key and then that an
// exported chain is intact and contains the signed head at its sequence number, offline.
package anchor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
)

// Head is a signed chain head, written as one JSON object.
type Head struct {
	Seq    int64     `json:"seq"`
	Hash   string    `json:"hash"`
	At     time.Time `json:"at"`      // when it was signed, UTC
	SigAlg string    `json:"sig_alg"` // cryptoprofile.SigSM2 or SigEd25519
	Sig    []byte    `json:"sig"`     // base64 in JSON; SM2 as ASN.1 DER, Ed25519 raw
}

// message is what is signed: a version tag and the length-prefixed head, so no two heads share
// a byte string and a signature made for anything else is not one for a head.
func message(seq int64, hash string, at time.Time) []byte {
	b := []byte("custody-head-v1")
	for _, f := range []string{strconv.FormatInt(seq, 10), hash, at.UTC().Format(time.RFC3339Nano)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Sign signs the head (seq, hash) at time at.
func Sign(s *cryptoprofile.Signer, seq int64, hash string, at time.Time) (Head, error) {
	at = at.UTC().Truncate(time.Second)
	sig, err := s.Sign(message(seq, hash, at))
	if err != nil {
		return Head{}, fmt.Errorf("sign the chain head: %w", err)
	}
	return Head{Seq: seq, Hash: hash, At: at, SigAlg: s.Alg(), Sig: sig}, nil
}

// Write writes h as one line of JSON.
func (h Head) Write(w io.Writer) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Read decodes a signed head, refusing unknown fields.
func Read(r io.Reader) (Head, error) {
	dec := json.NewDecoder(io.LimitReader(r, 64<<10))
	dec.DisallowUnknownFields()
	var h Head
	if err := dec.Decode(&h); err != nil {
		return Head{}, fmt.Errorf("not a signed chain head (custodyctl audit head --sign writes one): %w", err)
	}
	if h.Seq <= 0 || h.Hash == "" || h.At.IsZero() || h.SigAlg == "" || len(h.Sig) == 0 {
		return Head{}, errors.New("not a signed chain head: seq, hash, at, sig_alg and sig are all required")
	}
	return h, nil
}

// ErrBadSignature says the head was not signed by the key given, or was changed after signing.
var ErrBadSignature = errors.New("the signature does not match the head and the public key: the head was changed after signing, or another key signed it")

// Check verifies h's signature with the auditor's public key.
func (h Head) Check(v *cryptoprofile.Verifier) error {
	if h.SigAlg != v.Alg() {
		return fmt.Errorf("%w (head signed with %s, key is %s)", ErrBadSignature, h.SigAlg, v.Alg())
	}
	if !v.Verify(h.SigAlg, message(h.Seq, h.Hash, h.At), h.Sig) {
		return ErrBadSignature
	}
	return nil
}

// VerifyExport checks h's signature, then that the export is an intact chain that extends h: it
// holds h's hash at h's sequence number. A chain rewritten after signing — a record edited and
// every later hash recomputed — is intact in itself but no longer holds the signed hash: that is
// a *audit.Break of kind "rewritten" at the signed sequence number.
func VerifyExport(r io.Reader, h Head, v *cryptoprofile.Verifier) (audit.Result, error) {
	if err := h.Check(v); err != nil {
		return audit.Result{}, err
	}
	res, err := audit.Verify(r, audit.VerifyOptions{Head: h.Hash})
	var b *audit.Break
	if errors.As(err, &b) && b.Kind == "truncated" {
		if res.LastSeq >= h.Seq {
			return res, &audit.Break{Index: int(h.Seq), Seq: h.Seq, Kind: "rewritten",
				Detail: fmt.Sprintf("the chain does not hold the head signed at %s (seq %d, %s): records up to seq %d were rewritten after signing, their hashes recomputed", h.At.Format(time.RFC3339), h.Seq, short(h.Hash), h.Seq),
				ZH:     fmt.Sprintf("审计链不含 %s 签名的链头（序号 %d，%s）：序号 %d 及以前的记录在签名后被改写并重算了哈希", h.At.Format(time.RFC3339), h.Seq, short(h.Hash), h.Seq)}
		}
		return res, &audit.Break{Index: b.Index, Seq: res.LastSeq, Kind: "truncated",
			Detail: fmt.Sprintf("the export ends at seq %d, before the signed head (seq %d): records were cut off", res.LastSeq, h.Seq),
			ZH:     fmt.Sprintf("导出文件止于序号 %d，早于已签名的链头（序号 %d）：记录被截去", res.LastSeq, h.Seq)}
	}
	return res, err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
