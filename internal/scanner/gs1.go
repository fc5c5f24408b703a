package scanner

import (
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
)

// GS is the group separator that ends a variable-length GS1 field (FNC1 in the symbol).
const GS = 0x1D

// Element is one GS1 element string: application identifier and value.
type Element struct {
	AI    string `json:"ai"`
	Value string `json:"value"`
}

// aiLength is the number of digits of an AI, by its first two digits (GS1 General
// Specifications §3.2, the AI table; cross-checked with gs1/gs1-syntax-engine ai.c). Prefixes
// not listed are not assigned.
func aiLength(prefix string) int {
	switch {
	case prefix >= "00" && prefix <= "04", prefix >= "10" && prefix <= "22", prefix == "30", prefix == "37",
		prefix >= "90" && prefix <= "99":
		return 2
	case prefix >= "23" && prefix <= "25", prefix >= "40" && prefix <= "42", prefix == "71":
		return 3
	case prefix >= "31" && prefix <= "36", prefix == "39", prefix == "43", prefix == "70", prefix == "72",
		prefix >= "80" && prefix <= "82":
		return 4
	}
	return 0
}

// fixedLength is the value length of AIs with a predefined length (protocols.md §3: 00:18,
// 01–03:14, 04:16, 11–19:6, 20:2, 31xx–36xx:6, 41x:13); 0 means variable, ended by GS.
func fixedLength(ai string) int {
	switch {
	case ai == "00":
		return 18
	case ai >= "01" && ai <= "03":
		return 14
	case ai == "04":
		return 16
	case len(ai) == 2 && ai >= "11" && ai <= "19":
		return 6
	case ai == "20":
		return 2
	case len(ai) == 4 && ai >= "3100" && ai <= "3699":
		return 6
	case len(ai) == 3 && ai >= "410" && ai <= "419":
		return 13
	}
	return 0
}

// maxLength bounds variable-length values; GS1's longest is 90.
func maxLength(ai string) int {
	switch {
	case ai == "10", ai == "21", ai == "22":
		return 20
	case ai == "253":
		return 30
	case ai == "30", ai == "37":
		return 8
	case ai == "90":
		return 30
	}
	return 90
}

// numericAI reports AIs whose value must be all digits.
func numericAI(ai string) bool {
	return fixedLength(ai) > 0 || ai == "30" || ai == "37"
}

// ParseGS1 splits a GS1 element string (without the leading FNC1; later FNC1s as GS) into its
// elements, checking digits, lengths and check digits (00, 01, 02, and 253 GDTI). The error
// wraps ErrGS1 or ErrCheckDigit and names the AI and the character position.
func ParseGS1(data string) ([]Element, error) {
	data = strings.TrimPrefix(data, string(rune(GS))) // some scanners transmit the leading FNC1
	if data == "" {
		return nil, fmt.Errorf("%w: empty element string", ErrGS1)
	}
	var out []Element
	seen := map[string]string{}
	for pos := 0; pos < len(data); {
		if len(data)-pos < 2 {
			return nil, fmt.Errorf("%w: at %d: dangling %q", ErrGS1, pos, data[pos:])
		}
		n := aiLength(data[pos : pos+2])
		if n == 0 || len(data)-pos < n || !digits(data[pos:pos+n]) {
			return nil, fmt.Errorf("%w: at %d: no application identifier in %q", ErrGS1, pos, custody.Clip(data[pos:], 20))
		}
		ai := data[pos : pos+n]
		pos += n
		var val string
		if fl := fixedLength(ai); fl > 0 {
			if len(data)-pos < fl {
				return nil, fmt.Errorf("%w: AI (%s) needs %d characters, got %d", ErrGS1, ai, fl, len(data)-pos)
			}
			val = data[pos : pos+fl]
			pos += fl
			if pos < len(data) && data[pos] == GS {
				pos++ // a needless separator after a fixed-length field is tolerated
			}
		} else {
			end := strings.IndexByte(data[pos:], GS)
			if end < 0 {
				end = len(data) - pos
			}
			val = data[pos : pos+end]
			pos += end
			if pos < len(data) {
				pos++ // the GS
			}
			if val == "" {
				return nil, fmt.Errorf("%w: AI (%s) has an empty value", ErrGS1, ai)
			}
			if len(val) > maxLength(ai) {
				return nil, fmt.Errorf("%w: AI (%s) value of %d characters, at most %d", ErrGS1, ai, len(val), maxLength(ai))
			}
		}
		if err := checkValue(ai, val); err != nil {
			return nil, err
		}
		if prev, dup := seen[ai]; dup && prev != val {
			return nil, fmt.Errorf("%w: AI (%s) twice with different values", ErrGS1, ai)
		}
		seen[ai] = val
		out = append(out, Element{AI: ai, Value: val})
	}
	return out, nil
}

func checkValue(ai, val string) error {
	if numericAI(ai) && !digits(val) {
		return fmt.Errorf("%w: AI (%s) value %q is not numeric", ErrGS1, ai, val)
	}
	for i := 0; i < len(val); i++ {
		if val[i] < 0x21 || val[i] > 0x7E {
			return fmt.Errorf("%w: AI (%s) value has character 0x%02X at %d", ErrGS1, ai, val[i], i)
		}
	}
	switch ai {
	case "00", "01", "02":
		return checkMod10(ai, val)
	case "253":
		_, _, err := SplitGDTI(val)
		return err
	}
	return nil
}

// SplitGDTI splits an AI (253) value into its 13-digit document type identifier (company prefix,
// document type, check digit; the check digit verified) and its optional serial of up to 17
// characters.
func SplitGDTI(val string) (gdti, serial string, err error) {
	if len(val) < 13 || !digits(val[:13]) {
		return "", "", fmt.Errorf("%w: AI (253) needs 13 digits first, got %q", ErrGS1, custody.Clip(val, 20))
	}
	if len(val) > 30 {
		return "", "", fmt.Errorf("%w: AI (253) serial of %d characters, at most 17", ErrGS1, len(val)-13)
	}
	if err := checkMod10("253", val[:13]); err != nil {
		return "", "", err
	}
	return val[:13], val[13:], nil
}

// checkMod10 verifies the GS1 mod-10 check digit, the last digit of s (GS1 General
// Specifications §7.9.1): weights 3,1,3,… from the right, excluding the check digit.
func checkMod10(ai, s string) error {
	sum := 0
	for i, w := len(s)-2, 3; i >= 0; i, w = i-1, 4-w {
		sum += int(s[i]-'0') * w
	}
	want := byte('0' + (10-sum%10)%10)
	if got := s[len(s)-1]; got != want {
		return fmt.Errorf("%w: AI (%s) %s: check digit %c, want %c", ErrCheckDigit, ai, s, got, want)
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
