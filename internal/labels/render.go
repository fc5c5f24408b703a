package labels

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
)

// Format names an output format, as the command line spells it.
type Format string

// The output formats.
const (
	FormatPDF  Format = "pdf"
	FormatPNG  Format = "png"
	FormatZPL  Format = "zpl"
	FormatTSPL Format = "tspl"
)

// Options select and tune one output.
type Options struct {
	Format           Format
	PDF              PDFOptions
	ZPL              ZPLOptions
	TSPL             TSPLOptions
	PreviewDotsPerMM float64 // PNG; 0 means DefaultPreviewDotsPerMM
	// Progress, if set, is called with the number of labels done after each one, so that
	// custodyctl can show a bar for thousands of copies; rendering is the slow part of a PDF.
	Progress func(done int)
}

// tick reports one more label done to a Progress callback, if any.
func tick(progress func(int), done int) {
	if progress != nil {
		progress(done)
	}
}

// Render writes labels in the chosen format. fnt is needed for PDF and PNG only (printers use
// their own fonts). A PNG of several labels stacks them as on a roll, 2 mm apart.
func Render(w io.Writer, fnt *Font, t *Template, ls []Label, o Options) error {
	o.ZPL.progress, o.TSPL.progress, o.PDF.progress = o.Progress, o.Progress, o.Progress
	switch o.Format {
	case FormatZPL:
		return ZPL(w, t, ls, o.ZPL)
	case FormatTSPL:
		return TSPL(w, t, ls, o.TSPL)
	case FormatPDF, FormatPNG:
		if fnt == nil {
			return fmt.Errorf("labels: %s needs a font: %w", o.Format, ErrConfig)
		}
	default:
		return fmt.Errorf("labels: format %q: want pdf, png, zpl or tspl: %w", o.Format, ErrConfig)
	}
	if o.Format == FormatPDF {
		return fnt.PDF(w, t, ls, o.PDF)
	}
	if len(ls) == 0 {
		return fmt.Errorf("labels: png: no labels: %w", ErrLabel)
	}
	dpmm := o.PreviewDotsPerMM
	if dpmm == 0 {
		dpmm = DefaultPreviewDotsPerMM
	}
	if len(ls) == 1 {
		return fnt.PNG(w, t, ls[0], dpmm)
	}
	gap := int(math.Round(2 * dpmm))
	var imgs []*image.Gray
	for i, l := range ls {
		img, err := fnt.Image(t, l, dpmm)
		if err != nil {
			return fmt.Errorf("label %d: %w", i+1, err)
		}
		imgs = append(imgs, img)
		tick(o.Progress, i+1)
	}
	b := imgs[0].Bounds()
	sheet := image.NewGray(image.Rect(0, 0, b.Dx(), len(imgs)*(b.Dy()+gap)-gap))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.Gray{Y: 0xC0}), image.Point{}, draw.Src)
	for i, img := range imgs {
		draw.Draw(sheet, b.Add(image.Pt(0, i*(b.Dy()+gap))), img, image.Point{}, draw.Src)
	}
	if err := png.Encode(w, sheet); err != nil {
		return fmt.Errorf("labels: png: %w", err)
	}
	return nil
}
