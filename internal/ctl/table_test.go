package ctl

import (
	"strings"
	"testing"
)

func TestTableAlignsChinese(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b)
	tb.Write([]byte("编号\t发文字号\t状态\n1\t国保〔2026〕12号\t在柜\n10\tA-1\tregistered\n"))
	tb.Flush()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	col := func(line, cell string) int { return displayWidth(line[:strings.Index(line, cell)]) }
	if a, b, c := col(lines[0], "状态"), col(lines[1], "在柜"), col(lines[2], "registered"); a != b || b != c {
		t.Errorf("third column starts at cells %d, %d, %d; want equal:\n%s", a, b, c, strings.Join(lines, "\n"))
	}
}
