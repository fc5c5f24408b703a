package store

import (
	"strconv"
	"strings"
)

// rebind rewrites the owners' SQLite placeholders into PostgreSQL's: a bare `?` becomes `$n`
// with n one more than the largest number used so far, and `?NNN` becomes `$NNN` — SQLite's own
// numbering rule, so a statement binds the same arguments on both. Question marks inside string
// literals ('…', E'…'), quoted identifiers ("…"), dollar-quoted bodies ($tag$…$tag$) and
// comments (-- and nested /* */) are left alone. It is the one place where placeholders are
// translated: the PostgreSQL driver wrapper calls it on every statement.
func rebind(q string) string {
	if !strings.ContainsRune(q, '?') {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	last := 0
	next := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case isIdentStart(c):
			// A whole word: identifiers may hold $ (a$b), and E'…' is a literal taking
			// backslash escapes.
			j := i + 1
			for j < len(q) && (isIdent(q[j]) || q[j] == '$') {
				j++
			}
			if j == i+1 && (c == 'E' || c == 'e') && j < len(q) && q[j] == '\'' {
				j = skipQuoted(q, j, '\'', true)
			}
			i = j
		case c == '\'':
			i = skipQuoted(q, i, '\'', false)
		case c == '"':
			i = skipQuoted(q, i, '"', false)
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i)
		case c == '$':
			i = skipDollarQuoted(q, i)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := next + 1
			if j > i+1 {
				if v, err := strconv.Atoi(q[i+1 : j]); err == nil {
					n = v
				}
			}
			if n > next {
				next = n
			}
			b.WriteString(q[last:i])
			// A word or $ right before or after would swallow the parameter into an
			// identifier (a$1): keep them apart.
			if i > 0 && (isIdent(q[i-1]) || q[i-1] == '$') {
				b.WriteByte(' ')
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			if j < len(q) && (isIdent(q[j]) || q[j] == '$') {
				b.WriteByte(' ')
			}
			i, last = j, j
		default:
			i++
		}
	}
	if last == 0 {
		return q
	}
	b.WriteString(q[last:])
	return b.String()
}

// skipQuoted returns the index after the literal opened by q[i] == quote (doubled quotes stay
// inside; with backslash, so does an escaped character); len(q) if it never closes.
func skipQuoted(q string, i int, quote byte, backslash bool) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if backslash {
				j++
			}
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

// skipBlockComment returns the index after the comment opened at q[i:i+2] == "/*"; PostgreSQL
// nests them.
func skipBlockComment(q string, i int) int {
	depth := 0
	for j := i; j+1 < len(q); {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			depth++
			j += 2
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j += 2
			if depth == 0 {
				return j
			}
		default:
			j++
		}
	}
	return len(q)
}

// skipDollarQuoted returns the index after a $tag$…$tag$ body starting at q[i] == '$', or i+1
// when q[i] starts no such body ($1 is a parameter, a lone $ is an operator character).
func skipDollarQuoted(q string, i int) int {
	j := i + 1
	for j < len(q) && q[j] != '$' {
		if !isIdent(q[j]) || (j == i+1 && q[j] >= '0' && q[j] <= '9') {
			return i + 1
		}
		j++
	}
	if j >= len(q) {
		return i + 1
	}
	tag := q[i : j+1]
	if k := strings.Index(q[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(q)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
