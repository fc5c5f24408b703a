package labels

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
)

// DefaultFontPath is "AR PL SungtiL GB" (a 宋体 face, GB2312 coverage plus Latin) from Debian's
// fonts-arphic-gbsn00lp package. The PDF library (go-pdf/fpdf) embeds only TrueType outlines, so
// TTC collections (WenQuanYi, AR PL UMing) and CFF-flavoured OpenType fonts (Noto CJK) do not
// work; Droid Sans Fallback is a plain .ttf but has no Latin digits, which every label needs.
const DefaultFontPath = "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"

// Font is a loaded TrueType font used for PDF and PNG output.
type Font struct {
	Path string
	data []byte
	otf  *opentype.Font

	mu    sync.Mutex
	faces map[float64]font.Face
}

// LoadFont reads and checks a TrueType font; path "" means DefaultFontPath.
func LoadFont(path string) (*Font, error) {
	if path == "" {
		path = DefaultFontPath
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: font: %w (install the fonts-arphic-gbsn00lp package or configure a TrueType CJK font)", err)
	}
	switch {
	case bytes.HasPrefix(b, []byte("ttcf")):
		return nil, fmt.Errorf("labels: font %s: a TrueType collection (.ttc); want a single .ttf: %w", path, ErrConfig)
	case bytes.HasPrefix(b, []byte("OTTO")):
		return nil, fmt.Errorf("labels: font %s: OpenType with CFF outlines; the PDF writer needs TrueType outlines: %w", path, ErrConfig)
	case !bytes.HasPrefix(b, []byte{0, 1, 0, 0}) && !bytes.HasPrefix(b, []byte("true")):
		return nil, fmt.Errorf("labels: font %s: not a TrueType font: %w", path, ErrConfig)
	}
	otf, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("labels: font %s: %w", path, err)
	}
	f := &Font{Path: path, data: b, otf: otf, faces: map[float64]font.Face{}}
	// The level marks must render; a font without them would print empty boxes.
	var buf sfnt.Buffer
	for _, r := range "绝密机密秘密第份共号0123456789()" {
		if gi, err := otf.GlyphIndex(&buf, r); err != nil || gi == 0 {
			return nil, fmt.Errorf("labels: font %s: has no glyph for %q: %w", path, r, ErrConfig)
		}
	}
	return f, nil
}

// face returns a face with em size px pixels (cached; faces are not safe for concurrent use,
// so callers hold f.mu while drawing).
func (f *Font) face(px float64) (font.Face, error) {
	if fc, ok := f.faces[px]; ok {
		return fc, nil
	}
	fc, err := opentype.NewFace(f.otf, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("labels: font face %.1f px: %w", px, err)
	}
	f.faces[px] = fc
	return fc, nil
}
