package labels

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/custodyhq/custody/internal/epc"
)

// Printer resolutions in dots per millimetre: 203 dpi heads are 8 dots/mm, 300 dpi 12, 600 24.
const (
	DPI203 = 8
	DPI300 = 12
	DPI600 = 24
)

func checkDPMM(dpmm int) error {
	switch dpmm {
	case DPI203, DPI300, DPI600:
		return nil
	}
	return fmt.Errorf("%d dots/mm: want 8 (203 dpi), 12 (300 dpi) or 24 (600 dpi): %w", dpmm, ErrConfig)
}

// ZPLOptions tune ZPL output.
type ZPLOptions struct {
	DotsPerMM int // 0 means DPI203
	// Font is the CJK TrueType font already downloaded to the printer, used with ^A@ and ^CI28.
	Font string // "" means "E:SIMSUN.TTF"
	// NoRFID leaves out the RFID commands, for printers without an encoder.
	NoRFID bool

	progress func(int) // Options.Progress, set by Render
}

// ZPL writes one ^XA…^XZ format per label. Unless NoRFID is set, each format encodes the item's
// EPC into the tag in the label (^RFW,H with automatic PC adjustment), reads the EPC bank back
// (^RFR into field 1) and returns it to the host with ^HV as "EPC[<24 hex>]" followed by CR LF;
// ParseZPLReadBack reads those lines. A failed encode makes the printer print VOID and retry
// (^RS8,,,3: three labels).
func ZPL(w io.Writer, t *Template, ls []Label, opt ZPLOptions) error {
	if opt.DotsPerMM == 0 {
		opt.DotsPerMM = DPI203
	}
	if opt.Font == "" {
		opt.Font = "E:SIMSUN.TTF"
	}
	if err := checkDPMM(opt.DotsPerMM); err != nil {
		return fmt.Errorf("labels: zpl: %w", err)
	}
	if strings.ContainsAny(opt.Font, "^~,") {
		return fmt.Errorf("labels: zpl: font %q: must not contain ^ ~ or ',': %w", opt.Font, ErrConfig)
	}
	if len(ls) == 0 {
		return fmt.Errorf("labels: zpl: no labels: %w", ErrLabel)
	}
	dp := float64(opt.DotsPerMM)
	var b bytes.Buffer
	for i, l := range ls {
		lay, err := resolve(t, l, dp)
		if err != nil {
			return fmt.Errorf("labels: zpl: label %d (copy %d): %w", i+1, l.Copy, err)
		}
		fmt.Fprintf(&b, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", int(math.Round(lay.w)), int(math.Round(lay.h)))
		if !opt.NoRFID {
			fmt.Fprintf(&b, "^RS8,,,3,N\n^RFW,H,,,A^FD%s^FS\n^FN1^RFR,H,2,12,1^FS\n^FH_^HV1,24,EPC[,]_0D_0A,L^FS\n", l.EPC.Hex())
		}
		for _, pt := range []placedText{lay.level, lay.copy, lay.doc, lay.hri} {
			zplText(&b, pt, dp, opt.Font)
		}
		fmt.Fprintf(&b, "^FO%d,%d^BY%d^BCN,%d,N,N,N,D^FD%s^FS\n", lay.bar.x, lay.bar.y, lay.bar.mod, lay.bar.h, zplEscape(l.EPC.ElementString()))
		fmt.Fprintf(&b, "^FO%d,%d^BQN,2,%d^FH_^FDMA,%s^FS\n", lay.qr.x, lay.qr.y, lay.qr.mod, zplEscape(lay.qrData))
		b.WriteString("^PQ1\n^XZ\n")
		tick(opt.progress, i+1)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("labels: zpl: write: %w", err)
	}
	return nil
}

func zplText(b *bytes.Buffer, pt placedText, dp float64, font string) {
	pad := 0.0
	if pt.border {
		t := int(math.Max(2, math.Round(0.3*dp)))
		fmt.Fprintf(b, "^FO%d,%d^GB%d,%d,%d^FS\n", int(pt.r.x), int(pt.r.y), int(pt.r.w), int(pt.r.h), t)
		pad = 0.6 * dp
	}
	size := pt.size
	if est := textWidthEm(pt.text) * size; est > pt.r.w-2*pad {
		size *= (pt.r.w - 2*pad) / est
	}
	just := "L"
	if pt.center {
		just = "C"
	}
	y := pt.r.y + (pt.r.h-size)/2
	fmt.Fprintf(b, "^FO%d,%d^A@N,%d,%d,%s^FB%d,1,0,%s,0^FH_^FD%s^FS\n",
		int(pt.r.x+pad), int(y), int(size), int(size), font, int(pt.r.w-2*pad), just, zplEscape(pt.text))
}

// zplEscape hex-escapes the characters that ZPL would take as commands, for fields under ^FH_.
func zplEscape(s string) string {
	return strings.NewReplacer("_", "_5F", "^", "_5E", "~", "_7E").Replace(s)
}

// ParseZPLReadBack reads the ^HV host-verification lines a ZPL job sends back ("EPC[…]") and
// returns the EPCs read from the tags, in order. Lines of other forms are errors.
func ParseZPLReadBack(r io.Reader) ([]epc.EPC, error) {
	var out []epc.EPC
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		h, ok := strings.CutPrefix(line, "EPC[")
		if !ok || !strings.HasSuffix(h, "]") {
			return nil, fmt.Errorf("labels: read-back line %d %q: want EPC[<hex>]: %w", n, line, ErrLabel)
		}
		e, err := epc.DecodeHex(strings.TrimSuffix(h, "]"))
		if err != nil {
			return nil, fmt.Errorf("labels: read-back line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("labels: read-back: %w", err)
	}
	return out, nil
}

// TSPLOptions tune TSPL output.
type TSPLOptions struct {
	DotsPerMM int // 0 means DPI203

	progress func(int) // Options.Progress, set by Render
}

// TSPL built-in fonts: TSS24.BF2 is the Simplified Chinese (GB) bitmap font, 24 dots per
// full-width character and 12 per half-width one; fonts "3", "2", "1" are ASCII only.
var tsplASCIIFonts = []struct {
	name          string
	width, height int
}{{"3", 16, 24}, {"2", 12, 20}, {"1", 8, 12}}

// TSPL writes a TSPL job (SIZE and GAP once, then CLS … PRINT per label) for TSC, Gprinter,
// Xprinter and Deli printers. Text is encoded in GB18030, as the TSS24.BF2 font expects. Text
// that does not fit its box even at the smallest built-in size is an error, not an overflow.
func TSPL(w io.Writer, t *Template, ls []Label, opt TSPLOptions) error {
	if opt.DotsPerMM == 0 {
		opt.DotsPerMM = DPI203
	}
	if err := checkDPMM(opt.DotsPerMM); err != nil {
		return fmt.Errorf("labels: tspl: %w", err)
	}
	if len(ls) == 0 {
		return fmt.Errorf("labels: tspl: no labels: %w", ErrLabel)
	}
	dp := float64(opt.DotsPerMM)
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIZE %s mm,%s mm\r\n", num(t.Stock.LabelWidth), num(t.Stock.LabelHeight))
	fmt.Fprintf(&b, "GAP %s mm,0 mm\r\nDIRECTION 1,0\r\nREFERENCE 0,0\r\nCODEPAGE 936\r\n", num(t.Stock.Gap))
	for i, l := range ls {
		lay, err := resolve(t, l, dp)
		if err != nil {
			return fmt.Errorf("labels: tspl: label %d (copy %d): %w", i+1, l.Copy, err)
		}
		b.WriteString("CLS\r\n")
		for _, pt := range []placedText{lay.level, lay.copy, lay.doc, lay.hri} {
			if err := tsplText(&b, pt, dp); err != nil {
				return fmt.Errorf("labels: tspl: template %s, label %d: %w", t.Name, i+1, err)
			}
		}
		fmt.Fprintf(&b, "BARCODE %d,%d,\"EAN128\",%d,0,0,%d,%d,\"%s\"\r\n", lay.bar.x, lay.bar.y, lay.bar.h, lay.bar.mod, lay.bar.mod, lay.barData)
		fmt.Fprintf(&b, "QRCODE %d,%d,M,%d,A,0,\"%s\"\r\n", lay.qr.x, lay.qr.y, lay.qr.mod, tsplQuote(lay.qrData))
		b.WriteString("PRINT 1,1\r\n")
		tick(opt.progress, i+1)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("labels: tspl: write: %w", err)
	}
	return nil
}

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func tsplQuote(s string) string { return strings.ReplaceAll(s, `"`, `\["]`) }

func tsplText(b *bytes.Buffer, pt placedText, dp float64) error {
	pad := 0.0
	if pt.border {
		t := int(math.Max(2, math.Round(0.3*dp)))
		fmt.Fprintf(b, "BOX %d,%d,%d,%d,%d\r\n", int(pt.r.x), int(pt.r.y), int(pt.r.x+pt.r.w), int(pt.r.y+pt.r.h), t)
		pad = 0.6 * dp
	}
	avail := pt.r.w - 2*pad
	ascii := true
	for _, r := range pt.text {
		if r > 0x7E {
			ascii = false
		}
	}
	font, width, height, mul := "TSS24.BF2", 0, 24, 1
	em := textWidthEm(pt.text) // in 24-dot ems
	mul = int(math.Max(1, math.Min(10, math.Round(pt.size/24))))
	for mul > 1 && em*24*float64(mul) > avail {
		mul--
	}
	width = int(math.Ceil(em * 24 * float64(mul)))
	if float64(width) > avail {
		if !ascii {
			return fmt.Errorf("text %q needs %d dots with the 24-dot font, the box has %.0f: %w", pt.text, width, avail, ErrLabel)
		}
		found := false
		for _, f := range tsplASCIIFonts {
			if w := f.width * len(pt.text); float64(w) <= avail {
				font, width, height, found = f.name, w, f.height, true
				break
			}
		}
		if !found {
			return fmt.Errorf("text %q does not fit %.0f dots even in the smallest font: %w", pt.text, avail, ErrLabel)
		}
	}
	x := pt.r.x + pad
	if pt.center {
		x = pt.r.x + (pt.r.w-float64(width))/2
	}
	y := pt.r.y + (pt.r.h-float64(height*mul))/2
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(tsplQuote(pt.text))
	if err != nil {
		return fmt.Errorf("text %q: not representable in GB18030: %w", pt.text, ErrLabel)
	}
	fmt.Fprintf(b, "TEXT %d,%d,\"%s\",0,%d,%d,\"%s\"\r\n", int(x), int(math.Max(0, y)), font, mul, mul, gb)
	return nil
}
