package labels

import (
	"errors"
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"unicode"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"

	"github.com/custodyhq/custody/internal/epc"
)

// ErrLabel is wrapped by every error about a label's content.
var ErrLabel = errors.New("invalid label")

// Label is what one printed label says. There is deliberately no title field.
type Label struct {
	Copy           int    // 份号, 1-based
	Copies         int    // 共 N 份
	Reproduction   int    // 复制件 number within copy Copy (第3份之复制件1); 0 for an original
	DocumentNumber string // 发文字号, e.g. 国保发〔2026〕12号
	Level          string // level mark as printed with its term: 机密★10年 (custody.Mark)
	EPC            epc.EPC
}

const maxTextRunes = 40

// Validate checks the content before anything is rendered.
func (l Label) Validate() error {
	if l.Copy < 1 || l.Copies < l.Copy {
		return fmt.Errorf("copy %d of %d: want 1 ≤ copy ≤ copies: %w", l.Copy, l.Copies, ErrLabel)
	}
	if l.Reproduction < 0 {
		return fmt.Errorf("reproduction %d: want ≥ 0: %w", l.Reproduction, ErrLabel)
	}
	for name, s := range map[string]string{"document number": l.DocumentNumber, "level": l.Level} {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s: empty: %w", name, ErrLabel)
		}
		if n := len([]rune(s)); n > maxTextRunes {
			return fmt.Errorf("%s %q: %d characters, want at most %d: %w", name, s, n, maxTextRunes, ErrLabel)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) || r == '\uFFFD' {
				return fmt.Errorf("%s %q: unprintable character %U: %w", name, s, r, ErrLabel)
			}
		}
	}
	if l.EPC.Scheme() != epc.GDTI96 {
		return fmt.Errorf("EPC %q: want a GDTI-96: %w", l.EPC.TagURI(), ErrLabel)
	}
	return nil
}

// copyText renders the copy line; a reproduction is marked as one where the 份号 stands
// ("第3份之复制件1/共200份"), so the label itself says 复制件.
func (t *Template) copyText(l Label) string {
	format := t.CopyFormat
	if l.Reproduction > 0 {
		mark := "{copy}份之复制件" + strconv.Itoa(l.Reproduction)
		if strings.Contains(format, "{copy}份") {
			format = strings.Replace(format, "{copy}份", mark, 1)
		} else {
			format = strings.Replace(format, "{copy}", "{copy}（复制件"+strconv.Itoa(l.Reproduction)+"）", 1)
		}
	}
	return strings.NewReplacer("{copy}", strconv.Itoa(l.Copy), "{copies}", strconv.Itoa(l.Copies)).Replace(format)
}

// CopyText is the copy line as the template prints it (第37份/共200份, 第3份之复制件1/共200份).
func (t *Template) CopyText(l Label) string { return t.copyText(l) }

// BarcodeContent is the data of the GS1-128 barcode after its leading FNC1 ("253…").
func BarcodeContent(l Label) string { return l.EPC.BarcodeData() }

// QRContent is the data of the QR code: the bracketed element string ("(253)…").
func QRContent(l Label) string { return l.EPC.ElementString() }

// modules is a barcode as a grid of dark/light modules, without quiet zones.
type modules struct {
	w, h int
	dark []bool
}

func (m modules) at(x, y int) bool { return m.dark[y*m.w+x] }

func toModules(bc barcode.Barcode) modules {
	b := bc.Bounds()
	m := modules{w: b.Dx(), h: b.Dy(), dark: make([]bool, b.Dx()*b.Dy())}
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			r, _, _, _ := color.GrayModel.Convert(bc.At(b.Min.X+x, b.Min.Y+y)).RGBA()
			m.dark[y*m.w+x] = r < 0x8000
		}
	}
	return m
}

// gs1128 encodes data as GS1-128: Code 128 with FNC1 in first position.
func gs1128(data string) (modules, error) {
	bc, err := code128.Encode(string(code128.FNC1) + data)
	if err != nil {
		return modules{}, fmt.Errorf("GS1-128 %q: %w", data, err)
	}
	return toModules(bc), nil
}

func qrCode(data string) (modules, error) {
	bc, err := qr.Encode(data, qr.M, qr.Auto)
	if err != nil {
		return modules{}, fmt.Errorf("QR %q: %w", data, err)
	}
	return toModules(bc), nil
}

// Quiet zones in modules: GS1 General Specifications §5.4.4.2 (GS1-128: 10X each side) and
// ISO/IEC 18004 (QR: 4 modules).
const (
	quiet1D = 10
	quietQR = 4
)

// moduleSize returns the largest whole number of dots per module that fits n modules (quiet
// zones included) in size dots, or an error naming the element when not even one fits.
func moduleSize(element string, size float64, n int) (int, error) {
	m := int(size / float64(n))
	if m < 1 {
		return 0, fmt.Errorf("%s: %d modules do not fit %.0f dots; widen the box or use a higher resolution: %w", element, n, size, ErrLabel)
	}
	return m, nil
}

// codes holds both symbols of one label.
type codes struct {
	bar, qr modules
}

func makeCodes(l Label) (codes, error) {
	bar, err := gs1128(BarcodeContent(l))
	if err != nil {
		return codes{}, err
	}
	q, err := qrCode(QRContent(l))
	if err != nil {
		return codes{}, err
	}
	return codes{bar: bar, qr: q}, nil
}

// textWidthEm estimates the width of s in ems for printers whose fonts we cannot measure:
// CJK and full-width forms are one em, everything else half an em.
func textWidthEm(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 || unicode.Is(unicode.Han, r) {
			w += 1
		} else {
			w += 0.55
		}
	}
	return w
}
