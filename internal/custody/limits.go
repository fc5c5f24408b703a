package custody

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of what the register accepts (docs/limits.md is the one place they are written down for
// people). Lengths are in characters (runes) after NFC normalisation. They are what real Chinese
// documents need, with room: a 发文字号 like 国保发〔2026〕123号 is 13, a long title is rarely
// over 60.
const (
	MaxDocNumber   = 64   // 发文字号
	MaxTitle       = 200  // 文件标题
	MaxName        = 64   // a person's, unit's, cabinet's or desk's name
	MaxCode        = 32   // unit, cabinet, desk, room and agent codes
	MaxUsername    = 32   // login names
	MaxSecrecyTerm = 32   // 保密期限, e.g. 10年, 长期
	MaxNote        = 2000 // notes, reasons, conclusions people type (the console's text areas clip at 2000 too)
	MaxRef         = 64   // numbers people copy from paper: receipts, certificates, decision numbers
	MaxPlace       = 100  // a place or destination people type (阅文室、外单位地址)
)

// MaxAhead is how far ahead a typed due date or deadline may lie: a year, like an issue date.
// Further is a typo (2062 for 2026), and an item due then would never be overdue.
const MaxAhead = 366 * 24 * time.Hour

// Earliest and latest dates a document may carry: 1949-10-01 and a year from now.
var EarliestDocDate = time.Date(1949, 10, 1, 0, 0, 0, 0, time.UTC)

// LatestDocDate is the latest issue date accepted relative to now.
func LatestDocDate(now time.Time) time.Time { return now.AddDate(1, 0, 0) }

// TextError says why a text field was refused, in both languages.
type TextError struct {
	Field string
	Text  Text
}

func (e *TextError) Error() string { return e.Field + ": " + e.Text.EN }

// invisible reports characters that are never part of a register field: controls, bidirectional
// overrides and isolates (which reorder what a reader sees), zero-width characters and other
// format characters (which make two different strings look the same).
func invisible(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true // bidi embeddings, overrides, isolates and marks
	case r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF, r == 0x180E:
		return true // zero-width
	case unicode.Is(unicode.Cf, r):
		return true
	}
	return false
}

// CleanText checks and normalises a text field: valid UTF-8, no control, bidirectional or
// zero-width characters, at most max characters after NFC normalisation and trimming. It
// returns the normalised text; required refuses an empty one.
func CleanText(field, s string, max int, required bool) (string, error) {
	return cleanText(field, s, max, required, false)
}

// CleanNote checks free text people type in a workflow (reasons, notes, conclusions): CleanText
// rules and at most MaxNote characters, except that line breaks are kept (CR LF and CR become
// LF), since a note is typed in a text area. A note is never required here: whether one is
// needed is the step's rule, which says so in its own words.
func CleanNote(field, s string) (string, error) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	return cleanText(field, s, MaxNote, false, true)
}

func cleanText(field, s string, max int, required, lines bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", &TextError{field, Text{ZH: field + " 含有无效的 UTF-8 编码", EN: field + " is not valid UTF-8"}}
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	for _, r := range s {
		if lines && r == '\n' {
			continue
		}
		if invisible(r) {
			return "", &TextError{field, Text{ZH: fmt.Sprintf("%s 含有不可见或控制字符（U+%04X），不予接受", field, r), EN: fmt.Sprintf("%s holds an invisible or control character (U+%04X)", field, r)}}
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &TextError{field, Text{ZH: fmt.Sprintf("%s 过长：最多 %d 个字符，收到 %d 个", field, max, n), EN: fmt.Sprintf("%s is too long: at most %d characters, got %d", field, max, n)}}
	}
	if required && s == "" {
		return "", &TextError{field, Text{ZH: "缺少 " + field, EN: field + " is missing"}}
	}
	return s, nil
}

// CleanCode checks a code (unit, cabinet, desk, room, agent): CleanText rules, at most MaxCode
// characters, and no space or MQTT topic character (/ # + $), since codes travel in topics and
// envelopes.
func CleanCode(field, s string, required bool) (string, error) {
	s, err := CleanText(field, s, MaxCode, required)
	if err != nil {
		return "", err
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsAny(s, "/#+$") {
		return "", &TextError{field, Text{ZH: field + " 不能含空格或 / # + $", EN: field + " must not hold spaces or / # + $"}}
	}
	return s, nil
}

// reserved are names custodyd itself uses on the broker and in the audit log: an agent or person
// under one of them would throw custodyd's own connection off the broker or be confused with it.
var reserved = []string{"custodyd", "custody-monitor", "custody", "system", "root", "mosquitto", "anonymous"}

// Reserved reports whether name (an agent id or a username) is custodyd's own or one of its
// client ids (custodyd-1, custody-monitor-x, custodyd-internal-…).
func Reserved(name string) bool {
	n := strings.ToLower(name)
	for _, r := range reserved {
		if n == r || strings.HasPrefix(n, "custodyd-") || strings.HasPrefix(n, "custody-monitor-") {
			return true
		}
	}
	return false
}

// CheckUsername accepts a login name of ASCII letters, digits, '.', '_' and '-' (1 to
// MaxUsername, starting with a letter or digit) that is not reserved: ASCII only, so a Cyrillic
// "аdmin" cannot pass for "admin".
func CheckUsername(s string) error {
	bad := &TextError{"username", Text{
		ZH: fmt.Sprintf("用户名只能由英文字母、数字和 . _ - 组成（1 到 %d 个字符，以字母或数字开头）", MaxUsername),
		EN: fmt.Sprintf("a username is 1 to %d ASCII letters, digits, '.', '_' or '-', starting with a letter or digit", MaxUsername)}}
	if len(s) < 1 || len(s) > MaxUsername {
		return bad
	}
	for i, r := range s {
		ok := r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && strings.ContainsRune("._-", r)))
		if !ok {
			return bad
		}
	}
	if Reserved(s) {
		return &TextError{"username", Text{ZH: fmt.Sprintf("用户名 %q 为系统保留", s), EN: fmt.Sprintf("username %q is reserved for the system", s)}}
	}
	return nil
}
