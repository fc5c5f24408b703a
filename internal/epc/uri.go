package epc

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseTagURI parses an EPC tag URI in the canonical TDS form (TDS §12), for the schemes
// gdti-96, sgtin-96 and giai-96:
//
//	urn:epc:tag:gdti-96:Filter.CompanyPrefix.DocumentType.Serial
//	urn:epc:tag:sgtin-96:Filter.CompanyPrefix.ItemReference.Serial
//	urn:epc:tag:giai-96:Filter.CompanyPrefix.AssetReference
//
// It is strict on purpose: the company prefix length selects the partition, so every digit
// counts, and a serial with leading zeros cannot survive a 96-bit round trip.
func ParseTagURI(uri string) (EPC, error) {
	e, err := parseTagURI(uri)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: parse %q: %w", clip(uri), err)
	}
	return e, nil
}

// ParsePureIdentityURI parses urn:epc:id:gdti:…, urn:epc:id:sgtin:… or urn:epc:id:giai:… and
// gives it the 96-bit encoding with filter f. Identities that do not fit 96 bits (alphanumeric
// serials) are refused with ErrRange or ErrNotDigits.
func ParsePureIdentityURI(uri string, f Filter) (EPC, error) {
	e, err := parsePureURI(uri, f)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: parse %q: %w", clip(uri), err)
	}
	return e, nil
}

const (
	tagPrefix = "urn:epc:tag:"
	idPrefix  = "urn:epc:id:"
)

func parseTagURI(uri string) (EPC, error) {
	rest, ok := strings.CutPrefix(uri, tagPrefix)
	if !ok {
		return EPC{}, fmt.Errorf("want prefix %q: %w", tagPrefix, ErrSyntax)
	}
	name, body, ok := strings.Cut(rest, ":")
	if !ok {
		return EPC{}, fmt.Errorf("want %q after the scheme name: %w", ":", ErrSyntax)
	}
	var s Scheme
	switch name {
	case "gdti-96":
		s = GDTI96
	case "sgtin-96":
		s = SGTIN96
	case "giai-96":
		s = GIAI96
	default:
		return EPC{}, fmt.Errorf("scheme %q (want gdti-96, sgtin-96 or giai-96): %w", clip(name), ErrUnsupportedScheme)
	}
	fText, body, ok := strings.Cut(body, ".")
	if !ok {
		return EPC{}, fmt.Errorf("%v: want the filter followed by %q: %w", s, ".", ErrSyntax)
	}
	if len(fText) != 1 || fText[0] < '0' || fText[0] > '7' {
		return EPC{}, fmt.Errorf("%v: %w", s, fieldErr("filter", clip(fText), ErrRange, "want one digit 0–7"))
	}
	return parseBody(s, Filter(fText[0]-'0'), body)
}

func parsePureURI(uri string, f Filter) (EPC, error) {
	rest, ok := strings.CutPrefix(uri, idPrefix)
	if !ok {
		return EPC{}, fmt.Errorf("want prefix %q: %w", idPrefix, ErrSyntax)
	}
	name, body, ok := strings.Cut(rest, ":")
	if !ok {
		return EPC{}, fmt.Errorf("want %q after the scheme name: %w", ":", ErrSyntax)
	}
	var s Scheme
	switch name {
	case "gdti":
		s = GDTI96
	case "sgtin":
		s = SGTIN96
	case "giai":
		s = GIAI96
	default:
		return EPC{}, fmt.Errorf("scheme %q (want gdti, sgtin or giai): %w", clip(name), ErrUnsupportedScheme)
	}
	if f > 7 {
		return EPC{}, fmt.Errorf("%v: %w", s, fieldErr("filter", strconv.Itoa(int(f)), ErrRange, "want 0–7"))
	}
	return parseBody(s, f, body)
}

func parseBody(s Scheme, f Filter, body string) (EPC, error) {
	want := 3
	if s == GIAI96 {
		want = 2
	}
	fields := strings.Split(body, ".")
	if len(fields) != want {
		return EPC{}, fmt.Errorf("%v: want %d dot-separated fields after the filter, got %d: %w", s, want, len(fields), ErrSyntax)
	}
	cp, ref := fields[0], ""
	serialText := fields[len(fields)-1]
	if s != GIAI96 {
		ref = fields[1]
	}
	serial, err := parseSerial(serialFieldName(s), serialText)
	if err != nil {
		return EPC{}, fmt.Errorf("%v: %w", s, err)
	}
	e, err := build(s, f, cp, ref, serial)
	if err != nil {
		return EPC{}, fmt.Errorf("%v: %w", s, err)
	}
	return e, nil
}

// parseSerial reads a decimal serial as TDS requires for 96-bit tags: digits only, no leading
// zeros (except "0" itself), at most 20 digits before the range check in build.
func parseSerial(field, text string) (uint64, error) {
	if text == "" {
		return 0, fieldErr(field, text, ErrSyntax, "empty")
	}
	if !allDigits(text) {
		return 0, fieldErr(field, clip(text), ErrNotDigits, "96-bit tags hold numbers only")
	}
	if len(text) > 1 && text[0] == '0' {
		return 0, fieldErr(field, clip(text), ErrLeadingZero, "")
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fieldErr(field, clip(text), ErrRange, "too large")
	}
	return v, nil
}
