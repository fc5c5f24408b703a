// Package wire is the MQTT contract between custody-agent and custodyd: topic names, the signed
// and sequenced envelope, its canonical bytes and HMAC, and the body of every message kind.
//
// Contract: the package is the Go side of firmware-protocol/mqtt.md and must agree with it and
// with the JSON Schemas in firmware-protocol/mqtt/ (the tests hold all three together). It uses the
// standard library only, so the agent, custodyd and any tool can import it. Parsing is pure: it
// takes bytes and returns values or an *Error that names a Reason, which ingest counts.
//
// Versioning: the envelope carries v = "MAJOR.MINOR". This side speaks Version. A message with the
// same major and any minor is accepted (members a newer minor adds are ignored); any other major is
// refused with ReasonVersion.
package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Version is the contract version this side writes.
const Version = "1.3" // 1.1 added the encode_tag command and cmd_result.tag; 1.2 inventory tags[].passes; 1.3 mac_alg

// Major and Minor are the parts of Version.
const (
	Major = 1
	Minor = 3
)

// MaxPayload is the largest envelope accepted, in bytes. An inventory of a full cabinet (about 600
// tags at ~170 bytes each) is near 100 KiB; anything far above that is refused as ReasonOversized
// before it is parsed.
const MaxPayload = 256 << 10

// Reason classifies why a message was refused. The values are stable: they are metric labels and
// log fields.
type Reason string

const (
	ReasonOversized   Reason = "oversized"    // payload above MaxPayload
	ReasonMalformed   Reason = "malformed"    // not a JSON object
	ReasonVersion     Reason = "version"      // missing, malformed or unsupported major version
	ReasonSchema      Reason = "schema"       // a member missing, of the wrong type or out of range
	ReasonUnknownKind Reason = "unknown_kind" // kind not defined for this direction
	ReasonBadMAC      Reason = "bad_mac"      // mac missing, malformed or not matching
	// ReasonMACAlg: the envelope's MAC algorithm is not the one its agent was enrolled with — a
	// downgrade, or an agent configured with the other crypto profile. Dropped, never a fallback.
	ReasonMACAlg Reason = "mac_alg"
)

// Error is a refused message. Detail says what was wrong, for the log line.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Detail }

func errorf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of an error from this package, or "" for any other error.
func ReasonOf(err error) Reason {
	var we *Error
	if errors.As(err, &we) {
		return we.Reason
	}
	return ""
}

// checkVersion accepts "1.<minor>" and reports whether the minor is newer than ours (then unknown
// members are tolerated).
func checkVersion(v string) (newerMinor bool, err error) {
	if v == "" {
		return false, errorf(ReasonVersion, "missing v (this side speaks %s)", Version)
	}
	maj, min, ok := strings.Cut(v, ".")
	major, err1 := strconv.Atoi(maj)
	minor, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || major < 0 || minor < 0 || len(v) > 16 {
		return false, errorf(ReasonVersion, "v %q is not MAJOR.MINOR (this side speaks %s)", v, Version)
	}
	if major != Major {
		return false, errorf(ReasonVersion, "unsupported major version %d in v %q (this side speaks %s; upgrade custodyd or configure the agent for %d.x)", major, v, Version, Major)
	}
	return minor > Minor, nil
}

// ValidID reports whether s can be an agent id, boot id or message id: 1 to 128 bytes of printable
// characters without space, '/', '#', '+' or '$' (they would break topics, ACL patterns or the
// line-oriented canonical form).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError || r == '/' || r == '#' || r == '+' || r == '$' {
			return false
		}
	}
	return true
}
