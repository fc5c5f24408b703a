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
		// TSPL's one Chinese font is 24 dots wide a character: every template holds 第37份/共200份,
		// the 60×40 and A4 ones, whose copy line runs the width beside the QR code, also
		// 第37份之复制件1/共200份, the 50×30 one a reproduction of a shorter document, and the
		// 40×30 one no reproduction line at all (print those with ZPL or PDF; labels/README.md).
		short := Label{Copy: 3, Copies: 5, Reproduction: 1, DocumentNumber: l.DocumentNumber, Level: mark, EPC: l.EPC}
		for _, name := range templateNames(c) {
			tpl := c.Templates[name]
			tspl := []Label{l}
			switch name {
			case "copy-60x40", "copy-a4-21up":
				tspl = append(tspl, short, r)
			case "copy-50x30":
				tspl = append(tspl, short)
			}
			if err := TSPL(io.Discard, tpl, tspl, TSPLOptions{}); err != nil {
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
