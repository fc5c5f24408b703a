package labels

import (
	"bytes"
	"fmt"
	"io"

	"codeberg.org/go-pdf/fpdf"
)

// pdfDotsPerMM is the grid the PDF's barcode modules are snapped to (600 dpi): whole modules
// at a laser printer's resolution keep bar widths even.
const pdfDotsPerMM = 600 / 25.4

// PDFOptions tune PDF output.
type PDFOptions struct {
	// Skip leaves the first Skip positions of the first sheet empty, to reuse a part-used sheet.
	Skip int

	progress func(int) // Options.Progress, set by Render
}

// PDF writes labels as one PDF: for a sheet stock, pages of the sheet's grid; for a roll, one
// page per label with the page size of the label.
func (f *Font) PDF(w io.Writer, t *Template, ls []Label, opt PDFOptions) error {
	if len(ls) == 0 {
		return fmt.Errorf("labels: pdf: no labels: %w", ErrLabel)
	}
	s := t.Stock
	if opt.Skip < 0 || opt.Skip >= s.PerPage() {
		return fmt.Errorf("labels: pdf: skip %d: want 0–%d for stock %s: %w", opt.Skip, s.PerPage()-1, s.Name, ErrConfig)
	}
	lays := make([]layout, len(ls))
	for i, l := range ls {
		lay, err := resolve(t, l, pdfDotsPerMM)
		if err != nil {
			return fmt.Errorf("labels: pdf: label %d (copy %d): %w", i+1, l.Copy, err)
		}
		lays[i] = lay
	}
	pw, ph := s.LabelWidth, s.LabelHeight
	if s.Kind == "sheet" {
		pw, ph = s.PageWidth, s.PageHeight
	}
	// Always "P": fpdf swaps width and height for "L", and the page must be exactly the label.
	const orient = "P"
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", OrientationStr: orient, Size: fpdf.SizeType{Wd: pw, Ht: ph}})
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCreator("custody", true)
	pdf.AddUTF8FontFromBytes("cjk", "", f.data)
	pdf.SetFillColor(0, 0, 0)
	pdf.SetDrawColor(0, 0, 0)
	pos := opt.Skip
	for i := range lays {
		if i == 0 || pos%s.PerPage() == 0 {
			pdf.AddPageFormat(orient, fpdf.SizeType{Wd: pw, Ht: ph})
		}
		var ox, oy float64
		if s.Kind == "sheet" {
			k := pos % s.PerPage()
			col, row := k%s.Columns, k/s.Columns
			ox = s.MarginLeft + float64(col)*(s.LabelWidth+s.ColumnGap)
			oy = s.MarginTop + float64(row)*(s.LabelHeight+s.RowGap)
		}
		drawPDFLabel(pdf, lays[i], ox, oy)
		pos++
		tick(opt.progress, i+1)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("labels: pdf: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("labels: pdf: write: %w", err)
	}
	return nil
}

func drawPDFLabel(pdf *fpdf.Fpdf, lay layout, ox, oy float64) {
	mm := func(d float64) float64 { return d / pdfDotsPerMM }
	for _, pt := range []placedText{lay.level, lay.copy, lay.doc, lay.hri} {
		x, y, w, h := ox+mm(pt.r.x), oy+mm(pt.r.y), mm(pt.r.w), mm(pt.r.h)
		pad := 0.0
		if pt.border {
			pdf.SetLineWidth(0.3)
			pdf.Rect(x+0.15, y+0.15, w-0.3, h-0.3, "D")
			pad = 0.6
		}
		em := mm(pt.size)
		pdf.SetFont("cjk", "", em*72/25.4)
		tw := pdf.GetStringWidth(pt.text)
		if tw > w-2*pad {
			em *= (w - 2*pad) / tw
			pdf.SetFont("cjk", "", em*72/25.4)
			tw = pdf.GetStringWidth(pt.text)
		}
		tx := x + pad
		if pt.center {
			tx = x + (w-tw)/2
		}
		// The baseline sits so that a CJK em box (ascent ≈ 0.86 em) is centred vertically.
		pdf.Text(tx, y+h/2+0.36*em, pt.text)
	}
	for _, c := range []struct {
		p    placedCode
		oneD bool
	}{{lay.bar, true}, {lay.qr, false}} {
		mod := mm(float64(c.p.mod))
		for y := 0; y < c.p.m.h; y++ {
			c.p.m.runs(y, func(x0, n int) {
				rx := ox + mm(float64(c.p.x)) + float64(x0)*mod
				ry := oy + mm(float64(c.p.y)) + float64(y)*mod
				rh := mod
				if c.oneD {
					rh = mm(float64(c.p.h))
				}
				pdf.Rect(rx, ry, float64(n)*mod, rh, "F")
			})
		}
	}
}
