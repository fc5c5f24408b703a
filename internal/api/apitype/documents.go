package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// Document is a classified document (文件) with its numbered copies.
type Document struct {
	ID           int64         `json:"id"`
	Number       string        `json:"number"` // 发文字号
	Title        string        `json:"title"`  // "" (redacted) for the 三员
	IssuingUnit  string        `json:"issuing_unit"`
	Level        custody.Level `json:"level"`
	IssuedOn     string        `json:"issued_on"`    // YYYY-MM-DD
	SecrecyTerm  string        `json:"secrecy_term"` // 保密期限
	Copies       int           `json:"copies"`
	ScopeUnits   []string      `json:"scope_units,omitempty"`
	ScopePeople  []string      `json:"scope_people,omitempty"`
	TitleDigest  string        `json:"title_sha256,omitempty"`
	TitleVisible bool          `json:"title_visible"`
	// The term as structured (issue 14 point 6): it counts from TermStart (YYYY-MM-DD, default
	// the 成文日期) and ends on TermEnd ("" for 长期). Declassified is when a 解密 was recorded.
	TermStart    string `json:"term_start,omitempty"`
	TermEnd      string `json:"term_end,omitempty"`
	Declassified string `json:"declassified_at,omitempty"`
}
