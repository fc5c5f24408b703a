package labels

import "fmt"

// Everything below is in printer dots at a given resolution; the PDF uses a fine resolution and
// converts back to millimetres, so all outputs share the same arithmetic.

type rect struct{ x, y, w, h float64 }

func (b Box) dots(dpmm float64) rect { return rect{b.X * dpmm, b.Y * dpmm, b.W * dpmm, b.H * dpmm} }

type placedText struct {
	r      rect
	text   string
	size   float64 // em size in dots before fitting
	border bool
	center bool
}

type placedCode struct {
	x, y, mod int // top-left of the first module, module size in dots
	h         int // bar height (1D) in dots; for QR mod*rows
	m         modules
}

type layout struct {
	w, h                  float64 // label size in dots
	level, copy, doc, hri placedText
	bar, qr               placedCode
	barData, qrData       string
}

func resolve(t *Template, l Label, dpmm float64) (layout, error) {
	if err := l.Validate(); err != nil {
		return layout{}, err
	}
	c, err := makeCodes(l)
	if err != nil {
		return layout{}, fmt.Errorf("%v: %w", err, ErrLabel)
	}
	lay := layout{
		w: t.Stock.LabelWidth * dpmm, h: t.Stock.LabelHeight * dpmm,
		level:   placedText{t.Level.dots(dpmm), l.Level, t.Level.FontSize * dpmm, t.Level.Border, t.Level.Center},
		copy:    placedText{t.Copy.dots(dpmm), t.copyText(l), t.Copy.FontSize * dpmm, t.Copy.Border, t.Copy.Center},
		doc:     placedText{t.Document.dots(dpmm), l.DocumentNumber, t.Document.FontSize * dpmm, t.Document.Border, t.Document.Center},
		hri:     placedText{t.HRI.dots(dpmm), l.EPC.ElementString(), t.HRI.FontSize * dpmm, t.HRI.Border, t.HRI.Center},
		barData: BarcodeContent(l),
		qrData:  QRContent(l),
	}
	br := t.Barcode.dots(dpmm)
	mod, err := moduleSize("barcode", br.w, c.bar.w+2*quiet1D)
	if err != nil {
		return layout{}, fmt.Errorf("template %s: %w", t.Name, err)
	}
	lay.bar = placedCode{
		x:   int(br.x + (br.w-float64(c.bar.w*mod))/2),
		y:   int(br.y),
		mod: mod, h: int(br.h), m: c.bar,
	}
	qrr := t.QR.dots(dpmm)
	side := min(qrr.w, qrr.h)
	qmod, err := moduleSize("qr", side, c.qr.w+2*quietQR)
	if err != nil {
		return layout{}, fmt.Errorf("template %s: %w", t.Name, err)
	}
	lay.qr = placedCode{
		x:   int(qrr.x + (qrr.w-float64(c.qr.w*qmod))/2),
		y:   int(qrr.y + (qrr.h-float64(c.qr.h*qmod))/2),
		mod: qmod, h: c.qr.h * qmod, m: c.qr,
	}
	return lay, nil
}

// runs calls f for every horizontal run of dark modules in row y, so renderers draw one
// rectangle per bar instead of one per module.
func (m modules) runs(y int, f func(x0, n int)) {
	for x := 0; x < m.w; {
		if !m.at(x, y) {
			x++
			continue
		}
		s := x
		for x < m.w && m.at(x, y) {
			x++
		}
		f(s, x-s)
	}
}
