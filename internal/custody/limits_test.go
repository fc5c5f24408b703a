package custody

import (
	"strings"
	"testing"
)

// CleanNote keeps a typed note's line breaks and nothing else invisible; it is bounded at
// MaxNote characters (not bytes: 2000 Chinese characters are 6000 bytes).
func TestCleanNote(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "同意，注意保密", "同意，注意保密", true},
		{"line breaks kept, CR LF and CR become LF, ends trimmed", " 第一行\r\n第二行\r第三行\n ", "第一行\n第二行\n第三行", true},
		{"NFC", "Cafe\u0301", "Café", true},
		{"empty is allowed here", "  ", "", true},
		{"exactly the limit", strings.Repeat("说", MaxNote), strings.Repeat("说", MaxNote), true},
		{"one past the limit", strings.Repeat("说", MaxNote+1), "", false},
		{"bidi override", "同意\u202e意同不", "", false},
		{"bidi isolate", "同意\u2066x", "", false},
		{"zero-width joiner", "同\u200d意", "", false},
		{"tab", "同\t意", "", false},
		{"NUL", "同\x00意", "", false},
		{"escape", "\x1b[2J同意", "", false},
		{"invalid UTF-8", "同意\xff", "", false},
	} {
		got, err := CleanNote("note（备注）", tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if !tc.ok {
			te, isText := err.(*TextError)
			if !isText || !strings.Contains(te.Text.ZH, "note（备注）") || !strings.Contains(te.Text.EN, "note（备注）") {
				t.Errorf("%s: got %q, %v; want a refusal naming the field", tc.name, got, err)
			}
		}
	}
}
