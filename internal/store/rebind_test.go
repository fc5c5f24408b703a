package store

import (
	"strconv"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM units WHERE code = ? AND name = ?`, `SELECT * FROM units WHERE code = $1 AND name = $2`},
		// SQLite's numbered form, reused, and a bare ? after it takes the next number.
		{`WHERE agent = ?1 AND seq > ?2 OR agent = ?1 LIMIT ?`, `WHERE agent = $1 AND seq > $2 OR agent = $1 LIMIT $3`},
		{`VALUES (?3, ?, ?1)`, `VALUES ($3, $4, $1)`},
		// Quoted text, identifiers, comments and dollar-quoted bodies keep their question marks.
		{`SELECT '?', 'it''s ?', ? FROM t`, `SELECT '?', 'it''s ?', $1 FROM t`},
		{`SELECT E'\'?', ?`, `SELECT E'\'?', $1`},
		{`SELECT 'a\'', ?`, `SELECT 'a\'', ?`}, // not an E'' literal: the backslash is plain and '' a quote inside it, so the literal runs on
		{`SELECT "col?" FROM "t""?" WHERE x = ?`, `SELECT "col?" FROM "t""?" WHERE x = $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{`SELECT /* a /* nested ? */ still ? */ ?`, `SELECT /* a /* nested ? */ still ? */ $1`},
		{`DO $$ BEGIN PERFORM '?'; END $$; SELECT ?`, `DO $$ BEGIN PERFORM '?'; END $$; SELECT $1`},
		{`SELECT $fn$ ? $fn$, ?`, `SELECT $fn$ ? $fn$, $1`},
		{`SELECT $1, a$b, ?`, `SELECT $1, a$b, $1`},
		{`SELECT '?`, `SELECT '?`},      // unterminated: nothing after the quote is a placeholder
		{`SELECT a?b`, `SELECT a $1 b`}, // never a$1b, one identifier to PostgreSQL
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// FuzzRebind: rebind never panics, changes nothing but placeholders, leaves none behind, and
// numbers them as SQLite does.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{
		`SELECT ? FROM t WHERE a = '?' AND b = ?2`, `"?"?`, "-- ?\n?", `/* /* ? */ */?`, `$a$?$a$?`, `E'\\'?'?`, `??`, `?12?`, `$`, `'`, `/*`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		if !strings.ContainsRune(q, '?') && out != q {
			t.Fatalf("rebind(%q) = %q: changed a statement without placeholders", q, out)
		}
		// Rebinding again finds no placeholder: every ? left is quoted or commented.
		if again := rebind(out); again != out {
			t.Fatalf("rebind(%q) = %q left a placeholder: again %q", q, out, again)
		}
		// Undoing the rewrite gives the input back: only placeholders changed, each $n where a
		// ?/?n stood, numbered by SQLite's rule.
		if back := unbind(t, q, out); back != q {
			t.Fatalf("rebind(%q) = %q: undone %q", q, out, back)
		}
	})
}

// unbind walks in and out together: where they differ, in must hold ?[digits] and out $n with
// n by SQLite's rule.
func unbind(t *testing.T, in, out string) string {
	var b strings.Builder
	next := 0
	i, j := 0, 0
	for i < len(in) && j < len(out) {
		if in[i] == out[j] {
			b.WriteByte(in[i])
			i++
			j++
			continue
		}
		if in[i] == '?' && out[j] == ' ' && i > 0 && (isIdent(in[i-1]) || in[i-1] == '$') {
			j++ // the space rebind puts between a word and a parameter
		}
		if in[i] != '?' || out[j] != '$' {
			t.Fatalf("in %q out %q: differ at %d/%d, not at a placeholder", in, out, i, j)
		}
		k := i + 1
		for k < len(in) && in[k] >= '0' && in[k] <= '9' {
			k++
		}
		want := next + 1
		if k > i+1 {
			if v, err := strconv.Atoi(in[i+1 : k]); err == nil {
				want = v
			}
		}
		if want > next {
			next = want
		}
		num := strconv.Itoa(want)
		if !strings.HasPrefix(out[j+1:], num) {
			t.Fatalf("in %q out %q: placeholder at %d became %q, want $%s", in, out, i, out[j:], num)
		}
		b.WriteString(in[i:k])
		i, j = k, j+1+len(num)
		if i < len(in) && (isIdent(in[i]) || in[i] == '$') {
			if j >= len(out) || out[j] != ' ' {
				t.Fatalf("in %q out %q: no space after the parameter at %d", in, out, i)
			}
			j++
		}
	}
	b.WriteString(in[i:])
	return b.String()
}
