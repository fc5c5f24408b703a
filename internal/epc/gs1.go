package epc

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckDigit returns the GS1 mod-10 check digit for a string of decimal digits (GS1 General
// Specifications §7.9.1): weights 3 and 1 alternate from the rightmost digit.
func CheckDigit(digits string) (byte, error) {
	if digits == "" || !allDigits(digits) {
		return 0, fmt.Errorf("epc: check digit of %q: %w", clip(digits), ErrNotDigits)
	}
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), nil
}

func mustCheck(digits string) string {
	c, err := CheckDigit(digits)
	if err != nil {
		// Only called on validated fields; a failure here is a bug in this package.
		panic(err)
	}
	return string(c)
}

// GS1 application identifiers for the element strings.
const (
	aiGDTI = "253"
	aiGTIN = "01"
	aiSer  = "21"
	aiGIAI = "8004"
)

// ElementString returns the GS1 element string in human-readable form, as printed under a
// barcode: "(253)" + 13-digit GDTI + serial for a GDTI; "(01)GTIN(21)serial" for an SGTIN;
// "(8004)" + company prefix + asset reference for a GIAI. "" for the zero EPC.
func (e EPC) ElementString() string {
	switch e.scheme {
	case GDTI96:
		return "(" + aiGDTI + ")" + e.gdti13() + strconv.FormatUint(e.serial, 10)
	case SGTIN96:
		return "(" + aiGTIN + ")" + e.gtin14() + "(" + aiSer + ")" + strconv.FormatUint(e.serial, 10)
	case GIAI96:
		return "(" + aiGIAI + ")" + e.cp + strconv.FormatUint(e.serial, 10)
	}
	return ""
}

// BarcodeData returns the element string as encoded in a GS1 barcode after the leading FNC1:
// AIs and values without parentheses. AI 01 has a fixed length, so no separator is needed
// before AI 21.
func (e EPC) BarcodeData() string {
	return strings.NewReplacer("(", "", ")", "").Replace(e.ElementString())
}

// GDTI13 returns the 13-digit GDTI (company prefix, document type, check digit) of a GDTI EPC.
func (e EPC) GDTI13() string {
	if e.scheme != GDTI96 {
		return ""
	}
	return e.gdti13()
}

func (e EPC) gdti13() string {
	d := e.cp + e.ref
	return d + mustCheck(d)
}

// GTIN14 returns the GTIN-14 of an SGTIN: indicator digit, company prefix, the rest of the item
// reference and the check digit.
func (e EPC) GTIN14() string {
	if e.scheme != SGTIN96 {
		return ""
	}
	return e.gtin14()
}

func (e EPC) gtin14() string {
	d := e.ref[:1] + e.cp + e.ref[1:]
	return d + mustCheck(d)
}

// ParseGDTIElementString parses an AI (253) element string as a scanner returns it (with the
// AIM symbology identifier already removed), in either form "(253)0614141123452 5678" without
// the space or "25306141411234525678". The company prefix length cannot be read from the string
// itself, so the caller gives it (the installation's prefix length). The check digit is verified
// and the serial must fit a GDTI-96; the result carries filter f.
func ParseGDTIElementString(s string, companyPrefixDigits int, f Filter) (EPC, error) {
	e, err := parseGDTIElement(s, companyPrefixDigits, f)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: element string %q: %w", clip(s), err)
	}
	return e, nil
}

func parseGDTIElement(s string, cpDigits int, f Filter) (EPC, error) {
	var rest string
	var ok bool
	if rest, ok = strings.CutPrefix(s, "("+aiGDTI+")"); !ok {
		if rest, ok = strings.CutPrefix(s, aiGDTI); !ok {
			return EPC{}, fmt.Errorf("want AI (253): %w", ErrSyntax)
		}
	}
	if cpDigits < 6 || cpDigits > 12 {
		return EPC{}, fieldErr("company prefix length", strconv.Itoa(cpDigits), ErrPartition, "want 6 to 12")
	}
	if len(rest) < 13 {
		return EPC{}, fieldErr("GDTI", rest, ErrRange, "want 13 digits and a serial")
	}
	gdti, serialText := rest[:13], rest[13:]
	if !allDigits(gdti) {
		return EPC{}, fieldErr("GDTI", gdti, ErrNotDigits, "")
	}
	if want := mustCheck(gdti[:12]); gdti[12:] != want {
		return EPC{}, fieldErr("check digit", gdti[12:], ErrCheckDigit, "want %s", want)
	}
	serial, err := parseSerial("serial", serialText)
	if err != nil {
		return EPC{}, err
	}
	return build(GDTI96, f, gdti[:cpDigits], gdti[cpDigits:12], serial)
}
