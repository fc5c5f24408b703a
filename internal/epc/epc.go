package epc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one of them, so callers
// can tell "not an EPC at all" from "an EPC of a scheme we do not handle" with errors.Is.
var (
	// ErrSyntax: the text is not of the expected form (hex digits, URI shape, element string).
	ErrSyntax = errors.New("malformed")
	// ErrLength: the binary or hex form does not hold exactly 96 bits.
	ErrLength = errors.New("wrong length")
	// ErrUnsupportedScheme: a well-formed EPC of a scheme this package does not decode.
	ErrUnsupportedScheme = errors.New("unsupported EPC scheme")
	// ErrPartition: the partition value is 7, or the company prefix has a length outside 6–12.
	ErrPartition = errors.New("invalid partition")
	// ErrNotDigits: a numeric field holds something other than decimal digits.
	ErrNotDigits = errors.New("not decimal digits")
	// ErrLeadingZero: a serial or asset reference has leading zeros, which 96-bit tags cannot keep.
	ErrLeadingZero = errors.New("leading zeros not allowed")
	// ErrRange: a value does not fit its field (too many digits or bits, wrong digit count).
	ErrRange = errors.New("out of range")
	// ErrCheckDigit: a GS1 element string's check digit is wrong.
	ErrCheckDigit = errors.New("wrong check digit")
)

// FieldError names the field at fault; it wraps one of the sentinel errors.
type FieldError struct {
	Field  string // e.g. "company prefix", "serial"
	Value  string // the offending value as text
	Reason string // what was expected, for people; may be empty
	Err    error  // a sentinel
}

func (e *FieldError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err)
	}
	return fmt.Sprintf("%s %q: %s: %v", e.Field, e.Value, e.Reason, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, value string, err error, reason string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(reason, args...), Err: err}
}

// Scheme is an EPC binary coding scheme.
type Scheme uint8

// The schemes this package decodes. The values are the TDS header bytes.
const (
	GDTI96  Scheme = 0x2C
	SGTIN96 Scheme = 0x30
	GIAI96  Scheme = 0x34
)

// String returns the TDS scheme name as used in tag URIs ("gdti-96").
func (s Scheme) String() string {
	switch s {
	case GDTI96:
		return "gdti-96"
	case SGTIN96:
		return "sgtin-96"
	case GIAI96:
		return "giai-96"
	}
	return fmt.Sprintf("scheme(0x%02X)", uint8(s))
}

// otherHeaders names well-known headers we do not decode, so the error for a foreign tag says
// what it is (TDS table 14-1).
var otherHeaders = map[byte]string{
	0x00: "unprogrammed",
	0x2D: "gsrn-96",
	0x31: "sscc-96",
	0x32: "sgln-96",
	0x33: "grai-96",
	0x35: "gid-96",
	0x36: "sgtin-198",
	0x37: "grai-170",
	0x38: "giai-202",
	0x39: "sgln-195",
	0x3E: "gdti-174",
}

// Filter is the 3-bit filter value that lets readers select kinds of tags.
type Filter uint8

// Filter values with a meaning in every scheme (TDS §10).
const (
	FilterAllOthers Filter = 0
)

// FilterName returns the TDS meaning of filter f in scheme s, in English.
func FilterName(s Scheme, f Filter) string {
	if f > 7 {
		return "invalid"
	}
	if f == 0 {
		return "all others"
	}
	switch s {
	case SGTIN96:
		return [...]string{"", "point of sale trade item", "full case for transport", "reserved",
			"inner pack trade item grouping for handling", "reserved", "unit load",
			"unit inside trade item or component"}[f]
	case GDTI96:
		if f == 1 {
			return "travel document"
		}
	case GIAI96:
		if f == 1 {
			return "rail vehicle"
		}
	}
	return "reserved"
}

// partition is one row of a scheme's partition table (TDS §14.5).
type partition struct {
	cpBits, cpDigits   int
	refBits, refDigits int
}

var (
	gdtiPartitions = [7]partition{
		{40, 12, 1, 0}, {37, 11, 4, 1}, {34, 10, 7, 2}, {30, 9, 11, 3},
		{27, 8, 14, 4}, {24, 7, 17, 5}, {20, 6, 21, 6},
	}
	sgtinPartitions = [7]partition{
		{40, 12, 4, 1}, {37, 11, 7, 2}, {34, 10, 10, 3}, {30, 9, 14, 4},
		{27, 8, 17, 5}, {24, 7, 20, 6}, {20, 6, 24, 7},
	}
	// For GIAI-96 the "reference" is the individual asset reference: remaining bits, and at
	// most refDigits decimal digits.
	giaiPartitions = [7]partition{
		{40, 12, 42, 12}, {37, 11, 45, 13}, {34, 10, 48, 14}, {30, 9, 52, 15},
		{27, 8, 55, 16}, {24, 7, 58, 17}, {20, 6, 62, 18},
	}
)

const (
	gdtiSerialBits  = 41
	sgtinSerialBits = 38
	// MaxGDTI96Serial is the largest serial a GDTI-96 holds (2^41 − 1).
	MaxGDTI96Serial = 1<<gdtiSerialBits - 1
	// MaxSGTIN96Serial is the largest serial an SGTIN-96 holds (2^38 − 1).
	MaxSGTIN96Serial = 1<<sgtinSerialBits - 1
)

func partitionsOf(s Scheme) *[7]partition {
	switch s {
	case GDTI96:
		return &gdtiPartitions
	case SGTIN96:
		return &sgtinPartitions
	case GIAI96:
		return &giaiPartitions
	}
	return nil
}

// EPC is one decoded 96-bit EPC. Make it with the New* constructors or the decoders.
type EPC struct {
	scheme    Scheme
	filter    Filter
	partition uint8
	cp        string // company prefix, 6–12 digits, leading zeros kept
	ref       string // GDTI document type or SGTIN item reference (incl. indicator); "" for GIAI
	serial    uint64 // GDTI/SGTIN serial, or GIAI individual asset reference
}

// Scheme returns the coding scheme; 0 for the zero EPC.
func (e EPC) Scheme() Scheme { return e.scheme }

// Filter returns the filter value.
func (e EPC) Filter() Filter { return e.filter }

// Partition returns the partition value (0–6), which follows from the company prefix length.
func (e EPC) Partition() int { return int(e.partition) }

// CompanyPrefix returns the GS1 company prefix with its leading zeros.
func (e EPC) CompanyPrefix() string { return e.cp }

// DocumentType returns a GDTI's document type ("" for other schemes, and for partition 0).
func (e EPC) DocumentType() string {
	if e.scheme != GDTI96 {
		return ""
	}
	return e.ref
}

// ItemReference returns an SGTIN's item reference including its indicator digit.
func (e EPC) ItemReference() string {
	if e.scheme != SGTIN96 {
		return ""
	}
	return e.ref
}

// Serial returns a GDTI or SGTIN serial (0 for GIAI).
func (e EPC) Serial() uint64 {
	if e.scheme == GIAI96 {
		return 0
	}
	return e.serial
}

// AssetReference returns a GIAI's individual asset reference (0 for other schemes).
func (e EPC) AssetReference() uint64 {
	if e.scheme != GIAI96 {
		return 0
	}
	return e.serial
}

// IsZero reports whether e is the zero EPC (no EPC).
func (e EPC) IsZero() bool { return e.scheme == 0 }

// NewGDTI96 validates the fields and returns a GDTI-96 EPC. The partition follows from the length
// of companyPrefix (6–12 digits); documentType must have exactly 12 − len(companyPrefix) digits.
func NewGDTI96(f Filter, companyPrefix, documentType string, serial uint64) (EPC, error) {
	e, err := build(GDTI96, f, companyPrefix, documentType, serial)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: gdti-96: %w", err)
	}
	return e, nil
}

// NewSGTIN96 validates the fields and returns an SGTIN-96 EPC. itemReference includes the
// indicator digit and has 13 − len(companyPrefix) digits.
func NewSGTIN96(f Filter, companyPrefix, itemReference string, serial uint64) (EPC, error) {
	e, err := build(SGTIN96, f, companyPrefix, itemReference, serial)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: sgtin-96: %w", err)
	}
	return e, nil
}

// NewGIAI96 validates the fields and returns a GIAI-96 EPC with a numeric asset reference.
func NewGIAI96(f Filter, companyPrefix string, assetReference uint64) (EPC, error) {
	e, err := build(GIAI96, f, companyPrefix, "", assetReference)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: giai-96: %w", err)
	}
	return e, nil
}

func refFieldName(s Scheme) string {
	switch s {
	case GDTI96:
		return "document type"
	case SGTIN96:
		return "item reference"
	}
	return "asset reference"
}

func serialFieldName(s Scheme) string {
	if s == GIAI96 {
		return "asset reference"
	}
	return "serial"
}

// build validates text fields and returns the EPC; it is shared by the constructors and the
// URI parser.
func build(s Scheme, f Filter, cp, ref string, serial uint64) (EPC, error) {
	parts := partitionsOf(s)
	if parts == nil {
		return EPC{}, fmt.Errorf("%v: %w", s, ErrUnsupportedScheme)
	}
	if f > 7 {
		return EPC{}, fieldErr("filter", strconv.Itoa(int(f)), ErrRange, "want 0–7")
	}
	if !allDigits(cp) {
		return EPC{}, fieldErr("company prefix", cp, ErrNotDigits, "")
	}
	p := -1
	for i, row := range parts {
		if row.cpDigits == len(cp) {
			p = i
		}
	}
	if p < 0 {
		return EPC{}, fieldErr("company prefix", cp, ErrPartition, "want 6 to 12 digits, got %d", len(cp))
	}
	row := parts[p]
	if s != GIAI96 {
		if !allDigits(ref) {
			return EPC{}, fieldErr(refFieldName(s), ref, ErrNotDigits, "")
		}
		if len(ref) != row.refDigits {
			return EPC{}, fieldErr(refFieldName(s), ref, ErrRange,
				"want %d digits with a %d-digit company prefix, got %d", row.refDigits, len(cp), len(ref))
		}
	}
	switch s {
	case GDTI96:
		if serial > MaxGDTI96Serial {
			return EPC{}, fieldErr("serial", strconv.FormatUint(serial, 10), ErrRange,
				"want at most %d (41 bits; larger serials need GDTI-174)", uint64(MaxGDTI96Serial))
		}
	case SGTIN96:
		if serial > MaxSGTIN96Serial {
			return EPC{}, fieldErr("serial", strconv.FormatUint(serial, 10), ErrRange,
				"want at most %d (38 bits)", uint64(MaxSGTIN96Serial))
		}
	case GIAI96:
		if serial >= pow10(row.refDigits) {
			return EPC{}, fieldErr("asset reference", strconv.FormatUint(serial, 10), ErrRange,
				"want at most %d digits with a %d-digit company prefix", row.refDigits, len(cp))
		}
	}
	return EPC{scheme: s, filter: f, partition: uint8(p), cp: cp, ref: ref, serial: serial}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pow10(n int) uint64 {
	v := uint64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

// Bytes returns the 12-byte binary encoding (all zero for the zero EPC).
func (e EPC) Bytes() [12]byte {
	var b [12]byte
	if e.IsZero() {
		return b
	}
	row := partitionsOf(e.scheme)[e.partition]
	// The fields were validated when e was made, so the ParseUint calls cannot fail.
	cp, _ := strconv.ParseUint(e.cp, 10, 64)
	var ref uint64
	if e.ref != "" {
		ref, _ = strconv.ParseUint(e.ref, 10, 64)
	}
	w := bitWriter{b: &b}
	w.put(uint64(e.scheme), 8)
	w.put(uint64(e.filter), 3)
	w.put(uint64(e.partition), 3)
	w.put(cp, row.cpBits)
	switch e.scheme {
	case GDTI96:
		w.put(ref, row.refBits)
		w.put(e.serial, gdtiSerialBits)
	case SGTIN96:
		w.put(ref, row.refBits)
		w.put(e.serial, sgtinSerialBits)
	case GIAI96:
		w.put(e.serial, row.refBits)
	}
	return b
}

// Hex returns the 24-digit upper-case hex form, as readers report it ("" for the zero EPC).
func (e EPC) Hex() string {
	if e.IsZero() {
		return ""
	}
	b := e.Bytes()
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// String returns the tag URI.
func (e EPC) String() string { return e.TagURI() }

// TagURI returns the EPC tag URI, e.g. urn:epc:tag:gdti-96:3.0614141.12345.5678.
func (e EPC) TagURI() string {
	if e.IsZero() {
		return ""
	}
	return "urn:epc:tag:" + e.scheme.String() + ":" + strconv.Itoa(int(e.filter)) + "." + e.body()
}

// PureIdentityURI returns the pure-identity URI, e.g. urn:epc:id:gdti:0614141.12345.5678. It
// leaves out the filter, which is a property of the tag, not of the thing.
func (e EPC) PureIdentityURI() string {
	if e.IsZero() {
		return ""
	}
	name := strings.TrimSuffix(e.scheme.String(), "-96")
	return "urn:epc:id:" + name + ":" + e.body()
}

func (e EPC) body() string {
	s := strconv.FormatUint(e.serial, 10)
	if e.scheme == GIAI96 {
		return e.cp + "." + s
	}
	return e.cp + "." + e.ref + "." + s
}

// IsOurs reports whether e is a GDTI-96 issued under companyPrefix: one of our own tags. Tags of
// other schemes or prefixes are foreign (a neighbour's asset tag, a retail tag on a folder).
func IsOurs(e EPC, companyPrefix string) bool {
	return e.scheme == GDTI96 && e.cp == companyPrefix
}
