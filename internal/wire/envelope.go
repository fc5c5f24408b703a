package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strconv"
	"time"
	"unicode/utf8"
)

// MAC algorithms an envelope names in mac_alg (mqtt.md §4, since 1.3). wire names them and
// computes HMAC with a hash it is given: the SM3 hash itself lives above wire (cryptoprofile),
// since wire uses the standard library only.
const (
	MACSHA256 = "hmac-sha256" // the standard profile; also what an envelope without mac_alg means
	MACSM3    = "hmac-sm3"    // the 国密 profile: HMAC (GB/T 15852.2) over SM3
)

// MACAlgOf is the algorithm an envelope's mac_alg means: absent (before 1.3) is HMAC-SHA256.
func MACAlgOf(macAlg string) string {
	if macAlg == "" {
		return MACSHA256
	}
	return macAlg
}

// Dir is the direction of an envelope. It is part of the canonical bytes, so an envelope signed
// for one direction never verifies for the other (inventory is both an observation and a command).
type Dir string

const (
	DirObs Dir = "obs" // agent → custodyd, on agents/{agent}/obs
	DirCmd Dir = "cmd" // custodyd → agent, on agents/{agent}/cmd
)

// MaxSeq is the largest seq: 2^53-1, so every JSON implementation reads it exactly.
const MaxSeq = 1<<53 - 1

// TimeLayout is how this side writes times: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Envelope is one signed message (mqtt.md §3). Body holds the exact bytes of the body member as
// they appear in the payload: the MAC covers those bytes, so they are never re-encoded.
type Envelope struct {
	V     string          `json:"v"`
	Agent string          `json:"agent"`
	Boot  string          `json:"boot"`
	Seq   uint64          `json:"seq"`
	ID    string          `json:"id"`
	At    string          `json:"at"`
	Kind  string          `json:"kind"`
	Body  json.RawMessage `json:"body"`
	// MACAlg names the MAC's algorithm (MACSHA256 or MACSM3; absent before 1.3 means
	// MACSHA256). It is not in the canonical bytes: a receiver never lets it choose the
	// algorithm — it computes the MAC with the algorithm the agent was enrolled with and refuses
	// an envelope naming another (VerifyWith) — so an envelope of a 1.2 sender keeps its MAC.
	MACAlg string `json:"mac_alg,omitempty"`
	MAC    string `json:"mac"`
}

// Canonical returns the bytes the MAC is computed over (mqtt.md §4):
//
//	"custody-mac" LF dir LF v LF agent LF boot LF seq LF id LF at LF kind LF len(body) LF body
//
// seq and len(body) are decimal without leading zeros; body is the raw bytes of the body member.
// No field can hold a LF (ValidID, the time and kind grammars forbid it) and the body is last and
// length-prefixed, so the form is unambiguous.
func (e *Envelope) Canonical(dir Dir) []byte {
	b := make([]byte, 0, 96+len(e.V)+len(e.Agent)+len(e.Boot)+len(e.ID)+len(e.At)+len(e.Kind)+len(e.Body))
	b = append(b, "custody-mac\n"...)
	b = append(b, dir...)
	b = append(b, '\n')
	for _, f := range [...]string{e.V, e.Agent, e.Boot} {
		b = append(b, f...)
		b = append(b, '\n')
	}
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, '\n')
	for _, f := range [...]string{e.ID, e.At, e.Kind} {
		b = append(b, f...)
		b = append(b, '\n')
	}
	b = strconv.AppendInt(b, int64(len(e.Body)), 10)
	b = append(b, '\n')
	return append(b, e.Body...)
}

// ComputeMAC returns the lower-case hex HMAC-SHA256 of the canonical bytes under key.
func (e *Envelope) ComputeMAC(dir Dir, key []byte) string {
	return e.ComputeMACWith(dir, key, sha256.New)
}

// ComputeMACWith returns the lower-case hex HMAC of the canonical bytes under key with hash h
// (a 32-byte hash: SHA-256 or SM3).
func (e *Envelope) ComputeMACWith(dir Dir, key []byte, h func() hash.Hash) string {
	m := hmac.New(h, key)
	m.Write(e.Canonical(dir))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks an HMAC-SHA256 MAC under key in constant time (VerifyWith MACSHA256).
func (e *Envelope) Verify(dir Dir, key []byte) error {
	return e.VerifyWith(dir, key, MACSHA256, sha256.New)
}

// VerifyWith checks the MAC under key with the algorithm alg the agent was enrolled with, whose
// hash is h. An envelope naming another algorithm is refused with ReasonMACAlg before any MAC is
// computed: a downgrade is a drop, not a fallback.
func (e *Envelope) VerifyWith(dir Dir, key []byte, alg string, h func() hash.Hash) error {
	if got := MACAlgOf(e.MACAlg); got != alg {
		return errorf(ReasonMACAlg, "mac_alg %s, but agent %q was enrolled with %s", truncate(got, 20), e.Agent, alg)
	}
	got, err := hex.DecodeString(e.MAC)
	if err != nil || len(got) != 32 {
		return errorf(ReasonBadMAC, "mac is not 64 hex digits")
	}
	m := hmac.New(h, key)
	m.Write(e.Canonical(dir))
	if !hmac.Equal(got, m.Sum(nil)) {
		return errorf(ReasonBadMAC, "mac does not match the canonical bytes under agent %q's key", e.Agent)
	}
	return nil
}

// Seal builds and signs an envelope: body is marshalled (or used as is when it is already a
// json.RawMessage) in the exact form json.Marshal will write inside the envelope, v is Version
// and at is t in TimeLayout. The result is ready for Marshal.
func Seal(dir Dir, key []byte, agent, boot string, seq uint64, id string, t time.Time, kind string, body any) (Envelope, error) {
	return SealWith(dir, MACSHA256, sha256.New, key, agent, boot, seq, id, t, kind, body)
}

// SealWith is Seal with the MAC algorithm alg, whose hash is h; the envelope names alg.
func SealWith(dir Dir, alg string, h func() hash.Hash, key []byte, agent, boot string, seq uint64, id string, t time.Time, kind string, body any) (Envelope, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return Envelope{}, errorf(ReasonSchema, "marshal %s body: %v", kind, err)
	}
	e := Envelope{V: Version, Agent: agent, Boot: boot, Seq: seq, ID: id, At: t.UTC().Format(TimeLayout), Kind: kind, Body: raw, MACAlg: alg}
	e.MAC = e.ComputeMACWith(dir, key, h)
	return e, nil
}

// Marshal encodes the envelope. The body is written byte for byte as it is held (a body from Seal
// or Parse is already compact), so the MAC still holds after a round trip.
func (e *Envelope) Marshal() ([]byte, error) {
	return json.Marshal(e)
}

// Parse decodes and checks an envelope for direction dir: size, JSON, version, the envelope's
// members and the kind. It does not verify the MAC (the key comes from the agent register) nor the
// body (see Envelope.DecodeBody); ingest does those next.
func Parse(p []byte, dir Dir) (Envelope, error) {
	var e Envelope
	if len(p) > MaxPayload {
		return e, errorf(ReasonOversized, "payload of %d bytes exceeds %d", len(p), MaxPayload)
	}
	p = bytes.TrimSpace(p)
	if len(p) == 0 || p[0] != '{' || !json.Valid(p) {
		return e, errorf(ReasonMalformed, "payload is not a JSON object")
	}
	// Strict first: unknown members are an error for our own minor. Only when that fails do we
	// look at v, so a newer minor's additions are tolerated and everything else is refused.
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	strictErr := dec.Decode(&e)
	if strictErr != nil {
		e = Envelope{}
		var probe struct {
			V json.RawMessage `json:"v"`
		}
		_ = json.Unmarshal(p, &probe)
		var v string
		if json.Unmarshal(probe.V, &v) != nil {
			return Envelope{}, errorf(ReasonVersion, "v missing or not a string (this side speaks %s)", Version)
		}
		newer, err := checkVersion(v)
		if err != nil {
			return Envelope{}, err
		}
		if !newer {
			return Envelope{}, errorf(ReasonSchema, "envelope: %v", strictErr)
		}
		if err := json.Unmarshal(p, &e); err != nil {
			return Envelope{}, errorf(ReasonSchema, "envelope: %v", err)
		}
	} else if _, err := checkVersion(e.V); err != nil {
		return Envelope{}, err
	}
	if err := e.checkMembers(dir); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

func (e *Envelope) checkMembers(dir Dir) error {
	switch {
	case !ValidID(e.Agent):
		return errorf(ReasonSchema, "agent %q is not a valid id", e.Agent)
	case !ValidID(e.Boot):
		return errorf(ReasonSchema, "boot %q is not a valid id", e.Boot)
	case e.Seq < 1 || e.Seq > MaxSeq:
		return errorf(ReasonSchema, "seq %d is outside 1..2^53-1", e.Seq)
	case !ValidID(e.ID):
		return errorf(ReasonSchema, "id %q is not a valid id", e.ID)
	}
	if _, err := ParseTime(e.At); err != nil {
		return errorf(ReasonSchema, "at %q is not an RFC 3339 time", e.At)
	}
	if e.Kind == "" {
		return errorf(ReasonSchema, "kind is missing")
	}
	if !KnownKind(dir, e.Kind) {
		return errorf(ReasonUnknownKind, "kind %q is not a %s kind", truncate(e.Kind, 40), dir)
	}
	if len(e.Body) == 0 || e.Body[0] != '{' {
		return errorf(ReasonSchema, "body must be a JSON object")
	}
	if e.MACAlg != "" && e.MACAlg != MACSHA256 && e.MACAlg != MACSM3 {
		return errorf(ReasonMACAlg, "mac_alg %q is not hmac-sha256 or hmac-sm3", truncate(e.MACAlg, 20))
	}
	if e.MAC == "" {
		return errorf(ReasonBadMAC, "mac is missing")
	}
	if len(e.MAC) != 64 {
		return errorf(ReasonBadMAC, "mac is not 64 hex digits")
	}
	return nil
}

// ParseTime reads an RFC 3339 time as the contract writes it (a T separator, a zone).
func ParseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// truncate is custody.Clip, copied: wire imports only the standard library (DESIGN §4), so it
// cannot share the one clip. n characters at most, a cut marked with "…", no character cut in two.
func truncate(s string, n int) string {
	i := 0
	for at := range s {
		if i == n {
			return s[:at] + "…"
		}
		i++
	}
	return s
}

// ClipText shortens s to MaxText bytes, the contract's bound on a text field, without cutting a
// character in two: what an agent sends is valid by construction. A bound, not a display, so no
// mark (see custody.Clip for messages).
func ClipText(s string) string {
	if len(s) <= MaxText {
		return s
	}
	s = s[:MaxText]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
