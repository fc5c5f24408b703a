package labels

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// DefaultPreviewDotsPerMM gives PNG previews about 300 dpi.
const DefaultPreviewDotsPerMM = 12

// PNG writes a preview of one label at dpmm pixels per millimetre.
func (f *Font) PNG(w io.Writer, t *Template, l Label, dpmm float64) error {
	img, err := f.Image(t, l, dpmm)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("labels: png: %w", err)
	}
	return nil
}

// Image renders one label to a grey image at dpmm pixels per millimetre.
func (f *Font) Image(t *Template, l Label, dpmm float64) (*image.Gray, error) {
	if dpmm < 4 || dpmm > 48 {
		return nil, fmt.Errorf("labels: png: %g dots/mm: want 4–48: %w", dpmm, ErrConfig)
	}
	lay, err := resolve(t, l, dpmm)
	if err != nil {
		return nil, fmt.Errorf("labels: template %s: %w", t.Name, err)
	}
	img := image.NewGray(image.Rect(0, 0, int(math.Ceil(lay.w)), int(math.Ceil(lay.h))))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pt := range []placedText{lay.level, lay.copy, lay.doc, lay.hri} {
		if err := f.drawText(img, pt, dpmm); err != nil {
			return nil, err
		}
	}
	fillCode(img, lay.bar, true)
	fillCode(img, lay.qr, false)
	return img, nil
}

func fillCode(img *image.Gray, c placedCode, oneD bool) {
	rows := c.m.h
	for y := 0; y < rows; y++ {
		c.m.runs(y, func(x0, n int) {
			r := image.Rect(c.x+x0*c.mod, c.y+y*c.mod, c.x+(x0+n)*c.mod, c.y+(y+1)*c.mod)
			if oneD {
				r.Max.Y = c.y + c.h
			}
			draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
		})
	}
}

func (f *Font) drawText(img *image.Gray, pt placedText, dpmm float64) error {
	if pt.border {
		t := int(math.Max(1, math.Round(0.3*dpmm)))
		r := image.Rect(int(pt.r.x), int(pt.r.y), int(pt.r.x+pt.r.w), int(pt.r.y+pt.r.h))
		for _, s := range []image.Rectangle{
			{r.Min, image.Pt(r.Max.X, r.Min.Y+t)}, {image.Pt(r.Min.X, r.Max.Y-t), r.Max},
			{r.Min, image.Pt(r.Min.X+t, r.Max.Y)}, {image.Pt(r.Max.X-t, r.Min.Y), r.Max},
		} {
			draw.Draw(img, s, image.Black, image.Point{}, draw.Src)
		}
	}
	pad := 0.0
	if pt.border {
		pad = 0.6 * dpmm
	}
	size := math.Round(pt.size)
	var face font.Face
	var adv fixed.Int26_6
	for {
		var err error
		face, err = f.face(size)
		if err != nil {
			return err
		}
		adv = font.MeasureString(face, pt.text)
		if float64(adv.Round()) <= pt.r.w-2*pad || size <= 4 {
			break
		}
		size--
	}
	m := face.Metrics()
	asc, desc := float64(m.Ascent.Round()), float64(m.Descent.Round())
	x := pt.r.x + pad
	if pt.center {
		x = pt.r.x + (pt.r.w-float64(adv.Round()))/2
	}
	base := pt.r.y + (pt.r.h-(asc+desc))/2 + asc
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face,
		Dot: fixed.P(int(math.Round(x)), int(math.Round(base)))}
	d.DrawString(pt.text)
	return nil
}
