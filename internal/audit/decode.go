package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeRecord parses one exported record. It is a strict, allocation-light reader for the flat
// shape WriteJSONL produces — verifying a million-record chain with encoding/json spends most
// of its time in reflection. It accepts any key order and whitespace, and refuses unknown or
// repeated keys (an export with extra fields is not what custodyd wrote).
func decodeRecord(b []byte, r *Record) error {
	*r = Record{}
	d := decoder{b: b}
	d.ws()
	if !d.eat('{') {
		return d.fail("want '{'")
	}
	var seen uint16
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
		bit, ok := fieldBit[string(key)]
		if !ok {
			return d.fail(fmt.Sprintf("unknown field %q", key))
		}
		if seen&bit != 0 {
			return d.fail(fmt.Sprintf("field %q appears twice", key))
		}
		seen |= bit
		if err := d.field(string(key), r); err != nil {
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

var fieldBit = map[string]uint16{
	"seq": 1 << 0, "at": 1 << 1, "actor": 1 << 2, "action": 1 << 3, "subject": 1 << 4, "before": 1 << 5,
	"after": 1 << 6, "approvals": 1 << 7, "parties": 1 << 8, "prev": 1 << 9, "hash": 1 << 10,
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

func (d *decoder) field(key string, r *Record) error {
	var err error
	switch key {
	case "seq":
		start := d.i
		for d.i < len(d.b) && (d.b[d.i] == '-' || d.b[d.i] >= '0' && d.b[d.i] <= '9') {
			d.i++
		}
		r.Seq, err = strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
		if err != nil {
			return d.fail("seq is not an integer")
		}
	case "at":
		s, err := d.str()
		if err != nil {
			return err
		}
		if r.At, err = time.Parse(time.RFC3339Nano, string(s)); err != nil {
			return d.fail("at is not an RFC 3339 time")
		}
	case "actor", "action", "subject", "prev", "hash":
		s, err := d.str()
		if err != nil {
			return err
		}
		v := string(s)
		switch key {
		case "actor":
			r.Actor = v
		case "action":
			r.Action = v
		case "subject":
			r.Subject = v
		case "prev":
			r.Prev = v
		case "hash":
			r.Hash = v
		}
	case "before", "after":
		raw, err := d.raw()
		if err != nil {
			return err
		}
		if string(raw) == "null" {
			raw = nil
		}
		if key == "before" {
			r.Before = raw
		} else {
			r.After = raw
		}
	case "approvals", "parties":
		list, err := d.strings()
		if err != nil {
			return err
		}
		if key == "approvals" {
			r.Approvals = list
		} else {
			r.Parties = list
		}
	}
	return nil
}

// str reads a JSON string. Without escapes it returns a slice of the input; with them it
// defers to encoding/json, which is rare in practice.
func (d *decoder) str() ([]byte, error) {
	if !d.eat('"') {
		return nil, d.fail("want a string")
	}
	start, escaped := d.i, false
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
			if !utf8.Valid(s) {
				// encoding/json would silently turn these bytes into U+FFFD; WriteJSONL never
				// writes them, so they are an edit.
				return nil, d.fail("invalid UTF-8 in a string")
			}
			if !escaped {
				return s, nil
			}
			var out string
			if err := json.Unmarshal(d.b[start-1:d.i], &out); err != nil {
				return nil, d.fail("bad string escape")
			}
			return []byte(out), nil
		case c < 0x20:
			return nil, d.fail("control character in a string")
		}
		d.i++
	}
	return nil, d.fail("unterminated string")
}

func (d *decoder) strings() ([]string, error) {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return nil, nil
	}
	if !d.eat('[') {
		return nil, d.fail("want an array of strings")
	}
	var out []string
	d.ws()
	if d.eat(']') {
		return []string{}, nil
	}
	for {
		d.ws()
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		out = append(out, string(s))
		d.ws()
		if d.eat(']') {
			return out, nil
		}
		if !d.eat(',') {
			return nil, d.fail("want ',' or ']'")
		}
	}
}

// raw returns the bytes of one JSON value exactly as written (they are hashed as they are), after
// checking that they are valid JSON.
func (d *decoder) raw() ([]byte, error) {
	start, depth := d.i, 0
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch c {
		case '"':
			if _, err := d.str(); err != nil {
				return nil, err
			}
			if depth == 0 {
				return d.valid(start)
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing record: a literal or number ends here
				return d.valid(start)
			}
			depth--
			if depth == 0 {
				d.i++
				return d.valid(start)
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return d.valid(start)
			}
		}
		d.i++
	}
	if depth == 0 && d.i > start {
		return d.valid(start)
	}
	return nil, d.fail("unterminated value")
}

func (d *decoder) valid(start int) ([]byte, error) {
	v := d.b[start:d.i]
	if !json.Valid(v) {
		return nil, d.fail("not valid JSON")
	}
	return v, nil
}
