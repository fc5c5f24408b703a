package labels

import (
	"io"
	"testing"
)

// Issue 14 point 9: a label carries the level mark with its term (机密★10年, 绝密★长期), as every
// paper does, and copy 37 of the 200 the issuer printed; every shipped template lays them out
// in every output without running over its box (the printer's own fonts: see below).
func TestMarkWithTermFitsEveryTemplate(t *testing.T) {
	c, f := catalog(t), testFont(t)
	for _, mark := range []string{"机密★10年", "绝密★长期", "秘密★6个月"} {
		l := Label{Copy: 37, Copies: 200, DocumentNumber: "国保发〔2026〕12号", Level: mark, EPC: item(t, 37)}
		r := l
		r.Reproduction = 1
		// TSPL's one Chinese font is 24 dots wide a character, so a small label's copy line holds
		// 第3份/共5份 but not every 第37份之复制件1/共200份: the mark is checked on short copy lines.
		short := Label{Copy: 3, Copies: 5, DocumentNumber: l.DocumentNumber, Level: mark, EPC: l.EPC}
		for _, name := range templateNames(c) {
			tpl := c.Templates[name]
			if err := TSPL(io.Discard, tpl, []Label{short}, TSPLOptions{}); err != nil {
				t.Errorf("%s, %s: TSPL: %v", name, mark, err)
			}
			if err := ZPL(io.Discard, tpl, []Label{l, r}, ZPLOptions{}); err != nil {
				t.Errorf("%s, %s: ZPL: %v", name, mark, err)
			}
			if err := f.PDF(io.Discard, tpl, []Label{l, r}, PDFOptions{}); err != nil {
				t.Errorf("%s, %s: PDF: %v", name, mark, err)
			}
		}
	}
}
