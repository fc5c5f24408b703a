package epc

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// bitWriter and bitReader address the 96 bits most-significant first, as TDS numbers them.
type bitWriter struct {
	b   *[12]byte
	off int
}

func (w *bitWriter) put(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if v>>uint(i)&1 == 1 {
			w.b[w.off/8] |= 0x80 >> uint(w.off%8)
		}
		w.off++
	}
}

type bitReader struct {
	b   *[12]byte
	off int
}

func (r *bitReader) get(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<1 | uint64(r.b[r.off/8]>>(7-uint(r.off%8))&1)
		r.off++
	}
	return v
}

// DecodeHex decodes the 24 hex digits of a 96-bit EPC as readers report them (either case).
func DecodeHex(s string) (EPC, error) {
	if len(s) != 24 {
		return EPC{}, fmt.Errorf("epc: decode %q: want 24 hex digits, got %d characters: %w", clip(s), len(s), ErrLength)
	}
	var b [12]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return EPC{}, fmt.Errorf("epc: decode %q: not hex (%v): %w", s, err, ErrSyntax)
	}
	e, err := decode(&b)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: decode %q: %w", s, err)
	}
	return e, nil
}

// Decode decodes a 96-bit EPC from its 12 bytes.
func Decode(b []byte) (EPC, error) {
	if len(b) != 12 {
		return EPC{}, fmt.Errorf("epc: decode: want 12 bytes, got %d: %w", len(b), ErrLength)
	}
	var a [12]byte
	copy(a[:], b)
	e, err := decode(&a)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: decode %X: %w", b, err)
	}
	return e, nil
}

func decode(b *[12]byte) (EPC, error) {
	r := bitReader{b: b}
	header := byte(r.get(8))
	s := Scheme(header)
	parts := partitionsOf(s)
	if parts == nil {
		if name, ok := otherHeaders[header]; ok {
			return EPC{}, fmt.Errorf("header 0x%02X is %s: %w", header, name, ErrUnsupportedScheme)
		}
		return EPC{}, fmt.Errorf("header 0x%02X: %w", header, ErrUnsupportedScheme)
	}
	f := Filter(r.get(3))
	p := int(r.get(3))
	if p > 6 {
		return EPC{}, fmt.Errorf("%v: %w", s, fieldErr("partition", strconv.Itoa(p), ErrPartition, "want 0–6"))
	}
	row := parts[p]
	cp := r.get(row.cpBits)
	// TDS §14.3.3 ("Partition" decoding): each part must be below 10^digits, else the tag is
	// invalid — a bit pattern can hold more than the digits allow.
	if cp >= pow10(row.cpDigits) {
		return EPC{}, fmt.Errorf("%v: %w", s, fieldErr("company prefix", strconv.FormatUint(cp, 10), ErrRange,
			"more than %d digits", row.cpDigits))
	}
	cpText := pad(cp, row.cpDigits)
	var ref string
	var serial uint64
	switch s {
	case GDTI96, SGTIN96:
		v := r.get(row.refBits)
		if v >= pow10(row.refDigits) {
			return EPC{}, fmt.Errorf("%v: %w", s, fieldErr(refFieldName(s), strconv.FormatUint(v, 10), ErrRange,
				"more than %d digits", row.refDigits))
		}
		ref = pad(v, row.refDigits)
		if s == GDTI96 {
			serial = r.get(gdtiSerialBits)
		} else {
			serial = r.get(sgtinSerialBits)
		}
	case GIAI96:
		serial = r.get(row.refBits)
	}
	e, err := build(s, f, cpText, ref, serial)
	if err != nil {
		return EPC{}, fmt.Errorf("%v: %w", s, err)
	}
	return e, nil
}

// pad formats v with exactly n digits (n may be 0, for a GDTI document type in partition 0).
func pad(v uint64, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%0*d", n, v)
}

// clip keeps error messages short when someone pastes a whole file: 64 characters, a cut marked
// with "…", no character cut in two. It is custody.Clip(s, 64), copied: epc is vocabulary (floor
// 1) and imports nothing of the project, so it cannot share the one clip.
func clip(s string) string {
	i := 0
	for at := range s {
		if i == 64 {
			return s[:at] + "…"
		}
		i++
	}
	return s
}
