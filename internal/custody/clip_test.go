package custody

import "testing"

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"国保发〔2026〕123号", 4, "国保发〔…"},
		{"国保发", 3, "国保发"},
		{"a\xffbc", 2, "a\xff…"}, // invalid bytes count as one character each and are kept
	} {
		if got := Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
