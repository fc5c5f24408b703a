package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// view is where each field of one exported record lies in its line: what the verifier hashes,
// found without building a Record. Verifying a million-record chain spends its time in SHA-256
// only when nothing else allocates or copies, so strings without escapes are slices of the line
// (a string with escapes is unescaped into a copy, which is rare).
type view struct {
	seen                               uint16
	seq                                int64
	at                                 []byte // the string as written
	atTime                             time.Time
	atCanonical                        bool // at is what Seal hashes for atTime
	actor, action, subject, prev, hash []byte
	alg                                []byte // "" (absent): SHA-256 v1
	before, after                      []byte // raw JSON as written; nil when absent or null
	approvals, parties                 []byte // the raw array as written; nil when absent or null
	nApprovals, nParties               int
}

// decodeRecord parses one exported record. It is a strict reader for the flat shape WriteJSONL
// produces: it accepts any key order and whitespace, and refuses unknown or repeated keys (an
// export with extra fields is not what custodyd wrote).
func decodeRecord(b []byte, r *Record) error {
	var v view
	if err := v.parse(b); err != nil {
		return err
	}
	*r = Record{Seq: v.seq, Actor: string(v.actor), Action: string(v.action), Subject: string(v.subject),
		Alg: string(v.alg), Prev: string(v.prev), Hash: string(v.hash)}
	if v.at != nil {
		r.At = v.atTime
	}
	if v.before != nil {
		r.Before = json.RawMessage(v.before)
	}
	if v.after != nil {
		r.After = json.RawMessage(v.after)
	}
	r.Approvals = listOf(v.approvals, v.nApprovals)
	r.Parties = listOf(v.parties, v.nParties)
	return nil
}

// sum appends the bytes Record.digest hashes for this record to scratch (which it may grow and
// returns) and hashes them with the record's algorithm: the same fields in the same order, read
// from the line. parse has checked the algorithm's name.
func (v *view) sum(scratch []byte) ([]byte, [32]byte) {
	at := v.at
	if !v.atCanonical {
		var ts [64]byte
		at = v.atTime.UTC().AppendFormat(ts[:0], time.RFC3339Nano)
	}
	b := digestStart(scratch[:0], v.alg, v.prev, v.seq, at)
	b = field(b, v.actor)
	b = field(b, v.action)
	b = field(b, v.subject)
	b = field(b, v.before)
	b = field(b, v.after)
	b = appendList(b, v.approvals, v.nApprovals)
	b = appendList(b, v.parties, v.nParties)
	sum, _ := hashWith(v.alg, b)
	return b, sum
}

// appendList appends a list's count and its strings, unescaped, from the array as written.
func appendList(b, raw []byte, n int) []byte {
	b = binary.AppendUvarint(b, uint64(n))
	d := decoder{b: raw}
	d.eat('[')
	for range n {
		d.ws()
		s, _ := d.str() // validated by parse
		b = field(b, s)
		d.ws()
		d.eat(',')
	}
	return b
}

func listOf(raw []byte, n int) []string {
	if raw == nil {
		return nil
	}
	out := make([]string, 0, n)
	d := decoder{b: raw}
	d.eat('[')
	for range n {
		d.ws()
		s, _ := d.str() // validated by parse
		out = append(out, string(s))
		d.ws()
		d.eat(',')
	}
	return out
}

// timeOf reads the record time as encoding/json would (RFC 3339 with any offset). canonical says
// s is exactly what Seal hashes for that time (UTC, RFC 3339 with trailing zeros trimmed), as
// every export custodyd writes is: then the hash takes s as it is. The common form is read
// without time.Parse, whose string argument would cost an allocation per record.
func timeOf(s []byte) (t time.Time, canonical bool, err error) {
	if t, ok := canonicalUTC(s); ok {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, false, err
	}
	var buf [64]byte
	return t, bytes.Equal(t.UTC().AppendFormat(buf[:0], time.RFC3339Nano), s), nil
}

// canonicalUTC reads "2006-01-02T15:04:05[.999999999]Z" and reports whether formatting the time
// gives s back byte for byte (out-of-range fields and trailing zeros do not).
func canonicalUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec := num(s[0:4]), num(s[5:7]), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19])
	ns := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if ns = num(frac[1:]); ns < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			ns *= 10
		}
	}
	if y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	var buf [64]byte
	return t, bytes.Equal(t.AppendFormat(buf[:0], time.RFC3339Nano), s)
}

// Field bits of view.seen.
const (
	bitSeq = 1 << iota
	bitAt
	bitActor
	bitAction
	bitSubject
	bitBefore
	bitAfter
	bitApprovals
	bitParties
	bitPrev
	bitHash
	bitAlg
)

// parse fills v from one exported record line.
func (v *view) parse(b []byte) error {
	*v = view{}
	d := decoder{b: b}
	d.ws()
	if !d.eat('{') {
		return d.fail("want '{'")
	}
	d.ws()
	for !d.eat('}') {
		d.ws()
		key, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if !d.eat(':') {
			return d.fail("want ':'")
		}
		d.ws()
		var bit uint16
		switch string(key) { // compiled to comparisons: no map lookup, no allocation
		case "seq":
			bit = bitSeq
		case "at":
			bit = bitAt
		case "actor":
			bit = bitActor
		case "action":
			bit = bitAction
		case "subject":
			bit = bitSubject
		case "before":
			bit = bitBefore
		case "after":
			bit = bitAfter
		case "approvals":
			bit = bitApprovals
		case "parties":
			bit = bitParties
		case "prev":
			bit = bitPrev
		case "hash":
			bit = bitHash
		case "alg":
			bit = bitAlg
		default:
			return d.fail(fmt.Sprintf("unknown field %q", key))
		}
		if v.seen&bit != 0 {
			return d.fail(fmt.Sprintf("field %q appears twice", key))
		}
		v.seen |= bit
		if err := d.field(bit, v); err != nil {
			return err
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			continue
		}
		if !d.eat(',') {
			return d.fail("want ',' or '}'")
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			return d.fail("trailing comma")
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return d.fail("data after the record")
	}
	return nil
}

type decoder struct {
	b []byte
	i int
}

func (d *decoder) fail(msg string) error { return fmt.Errorf("byte %d: %s", d.i, msg) }

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) field(bit uint16, v *view) error {
	var err error
	switch bit {
	case bitSeq:
		start := d.i
		for d.i < len(d.b) && (d.b[d.i] == '-' || d.b[d.i] >= '0' && d.b[d.i] <= '9') {
			d.i++
		}
		if v.seq, err = parseInt(d.b[start:d.i]); err != nil {
			return d.fail("seq is not an integer")
		}
	case bitAt:
		if v.at, err = d.str(); err != nil {
			return err
		}
		if v.atTime, v.atCanonical, err = timeOf(v.at); err != nil {
			return d.fail("at is not an RFC 3339 time")
		}
	case bitAlg:
		if v.alg, err = d.str(); err != nil {
			return err
		}
		switch string(v.alg) { // no allocation
		case SHA256, SM3:
		default:
			return d.fail(fmt.Sprintf("unknown hash algorithm %q (sha256 or sm3)", v.alg))
		}
	case bitActor, bitAction, bitSubject, bitPrev, bitHash:
		s, err := d.str()
		if err != nil {
			return err
		}
		switch bit {
		case bitActor:
			v.actor = s
		case bitAction:
			v.action = s
		case bitSubject:
			v.subject = s
		case bitPrev:
			v.prev = s
		case bitHash:
			v.hash = s
		}
	case bitBefore, bitAfter:
		raw, err := d.raw()
		if err != nil {
			return err
		}
		if string(raw) == "null" {
			raw = nil
		}
		if bit == bitBefore {
			v.before = raw
		} else {
			v.after = raw
		}
	case bitApprovals, bitParties:
		raw, n, err := d.strings()
		if err != nil {
			return err
		}
		if bit == bitApprovals {
			v.approvals, v.nApprovals = raw, n
		} else {
			v.parties, v.nParties = raw, n
		}
	}
	return nil
}

// parseInt is strconv.ParseInt(s, 10, 64) without the string conversion (which allocates).
func parseInt(s []byte) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 19 {
		return strconv.ParseInt(string(s), 10, 64) // the error, or a value near the limit
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int64(c-'0')
		if n < 0 {
			return 0, strconv.ErrRange
		}
	}
	if neg {
		n = -n
	}
	return n, nil
}

// str reads a JSON string. Without escapes it returns a slice of the input; with them it
// defers to encoding/json, which is rare in practice.
func (d *decoder) str() ([]byte, error) {
	start := d.i
	s, escaped, err := d.strSpan()
	if err != nil || !escaped {
		return s, err
	}
	var out string
	if err := json.Unmarshal(d.b[start:d.i], &out); err != nil {
		return nil, d.fail("bad string escape")
	}
	return []byte(out), nil
}

// strSpan reads a JSON string and returns its contents as written (escapes not undone).
func (d *decoder) strSpan() (s []byte, escaped bool, err error) {
	if !d.eat('"') {
		return nil, false, d.fail("want a string")
	}
	start, ascii := d.i, true
	// Fast path, the common case: no escape before the closing quote. IndexByte is vectorised;
	// the check for control characters and non-ASCII bytes is one tight pass.
	if q := bytes.IndexByte(d.b[start:], '"'); q >= 0 {
		s := d.b[start : start+q]
		if bytes.IndexByte(s, '\\') < 0 {
			var hi byte
			for i, c := range s {
				if c < 0x20 {
					d.i = start + i
					return nil, false, d.fail("control character in a string")
				}
				hi |= c
			}
			d.i = start + q + 1
			if hi >= utf8.RuneSelf && !utf8.Valid(s) {
				d.i = start + q
				return nil, false, d.fail("invalid UTF-8 in a string")
			}
			return s, false, nil
		}
	}
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '\\':
			escaped = true
			d.i += 2
			continue
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				// encoding/json would silently turn these bytes into U+FFFD; WriteJSONL never
				// writes them, so they are an edit.
				return nil, false, d.fail("invalid UTF-8 in a string")
			}
			return s, escaped, nil
		case c < 0x20:
			return nil, false, d.fail("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return nil, false, d.fail("unterminated string")
}

// strings checks an array of strings (or null) and returns it as written with its length.
func (d *decoder) strings() ([]byte, int, error) {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return nil, 0, nil
	}
	start := d.i
	if !d.eat('[') {
		return nil, 0, d.fail("want an array of strings")
	}
	d.ws()
	if d.eat(']') {
		return d.b[start:d.i], 0, nil
	}
	for n := 1; ; n++ {
		d.ws()
		if _, err := d.str(); err != nil {
			return nil, 0, err
		}
		d.ws()
		if d.eat(']') {
			return d.b[start:d.i], n, nil
		}
		if !d.eat(',') {
			return nil, 0, d.fail("want ',' or ']'")
		}
	}
}

// raw returns the bytes of one JSON value exactly as written (they are hashed as they are), after
// checking that they are valid JSON. It checks in the same pass that finds the value's end — a
// second pass with json.Valid cost more than hashing the record — and accepts exactly what
// json.Valid accepts (FuzzDecodeRecord holds it to encoding/json).
func (d *decoder) raw() ([]byte, error) {
	start := d.i
	if err := d.value(0); err != nil {
		return nil, err
	}
	return d.b[start:d.i], nil
}

// maxDepth bounds nesting, as encoding/json does (10 000), so a hostile export cannot exhaust the
// stack.
const maxDepth = 10000

// value reads one JSON value.
func (d *decoder) value(depth int) error {
	if depth > maxDepth {
		return d.fail("nested too deeply")
	}
	if d.i >= len(d.b) {
		return d.fail("unterminated value")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.jsonString()
	case c == '{':
		d.i++
		d.ws()
		if d.eat('}') {
			return nil
		}
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return d.fail("not valid JSON: want a key")
			}
			if err := d.jsonString(); err != nil {
				return err
			}
			d.ws()
			if !d.eat(':') {
				return d.fail("not valid JSON: want ':'")
			}
			d.ws()
			if err := d.value(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat('}') {
				return nil
			}
			if !d.eat(',') {
				return d.fail("not valid JSON: want ',' or '}'")
			}
		}
	case c == '[':
		d.i++
		d.ws()
		if d.eat(']') {
			return nil
		}
		for {
			d.ws()
			if err := d.value(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(']') {
				return nil
			}
			if !d.eat(',') {
				return d.fail("not valid JSON: want ',' or ']'")
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.fail("not valid JSON")
}

func (d *decoder) literal(word string) error {
	if !bytes.HasPrefix(d.b[d.i:], []byte(word)) {
		return d.fail("not valid JSON")
	}
	d.i += len(word)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	d.eat('-')
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	switch {
	case d.eat('0'):
	case digits() == 0:
		return d.fail("not valid JSON: bad number")
	}
	if d.eat('.') && digits() == 0 {
		return d.fail("not valid JSON: bad number")
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return d.fail("not valid JSON: bad number")
		}
	}
	return nil
}

// jsonString reads a string inside a value: what strSpan checks, plus its escapes, which
// json.Valid checks and a value is hashed with as written.
func (d *decoder) jsonString() error {
	s, escaped, err := d.strSpan()
	if err != nil || !escaped {
		return err
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) {
			return d.fail("bad string escape")
		}
		switch s[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if i+5 > len(s) {
				return d.fail("bad string escape")
			}
			for _, h := range s[i+1 : i+5] {
				if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
					return d.fail("bad string escape")
				}
			}
			i += 4
		default:
			return d.fail("bad string escape")
		}
	}
	return nil
}
