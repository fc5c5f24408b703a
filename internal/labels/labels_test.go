package labels

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/creack/pty"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/custodyhq/custody/internal/epc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func catalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := Load(os.DirFS(filepath.Join("..", "..", "labels")))
	if err != nil {
		t.Fatalf("Load(labels/): %v", err)
	}
	return c
}

var (
	fontOnce sync.Once
	theFont  *Font
	fontErr  error
)

func testFont(t testing.TB) *Font {
	t.Helper()
	fontOnce.Do(func() { theFont, fontErr = LoadFont("") })
	if fontErr != nil {
		t.Fatalf("LoadFont: %v (deploy/dev/apt-packages.txt lists fonts-arphic-gbsn00lp)", fontErr)
	}
	return theFont
}

func item(t testing.TB, id uint64) epc.EPC {
	t.Helper()
	e, err := epc.Issuer{CompanyPrefix: "6951234", DocumentType: "00001"}.ForItem(id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func copies(t testing.TB, n int, firstID uint64, level string) []Label {
	ls := make([]Label, n)
	for i := range ls {
		ls[i] = Label{Copy: i + 1, Copies: n, DocumentNumber: "国保发〔2026〕12号", Level: level, EPC: item(t, firstID+uint64(i))}
	}
	return ls
}

func templateNames(c *Catalog) []string {
	var names []string
	for n := range c.Templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestCatalog(t *testing.T) {
	c := catalog(t)
	want := map[string][2]float64{"a4-21up": {63.5, 38.1}, "roll-40x30": {40, 30}, "roll-50x30": {50, 30}, "roll-60x40": {60, 40}}
	for name, size := range want {
		s, ok := c.Stocks[name]
		if !ok {
			t.Errorf("stock %s: missing", name)
			continue
		}
		if s.LabelWidth != size[0] || s.LabelHeight != size[1] {
			t.Errorf("stock %s: got %g×%g mm, want %g×%g", name, s.LabelWidth, s.LabelHeight, size[0], size[1])
		}
	}
	if got := c.Stocks["a4-21up"].PerPage(); got != 21 {
		t.Errorf("a4-21up per page: got %d, want 21", got)
	}
	if got, want := templateNames(c), []string{"copy-40x30", "copy-50x30", "copy-60x40", "copy-a4-21up"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("templates: got %v, want %v", got, want)
	}
	if _, err := c.Template("nope"); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "copy-60x40") {
		t.Errorf("Template(nope): got %v, want ErrConfig listing the known templates", err)
	}
}

const goodStock = `name = "roll-60x40"
kind = "roll"
label_width_mm = 60
label_height_mm = 40
gap_mm = 2
`

func goodTemplate(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "labels", "templates", "copy-60x40.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadStrict(t *testing.T) {
	tmpl := goodTemplate(t)
	tests := []struct {
		name      string
		stock     string
		template  string
		wantInErr []string
	}{
		{"unknown stock key", goodStock + "colour = \"white\"\n", tmpl, []string{"stock/s.toml", "unknown key colour"}},
		{"unknown nested key", goodStock, tmpl + "\n[qr]\nangle = 90\n", []string{"templates/t.toml"}},
		{"misspelt key", goodStock, strings.Replace(tmpl, "font_mm = 4.2", "fontsize_mm = 4.2", 1), []string{"unknown key level.fontsize_mm"}},
		{"unknown stock", goodStock, strings.Replace(tmpl, `stock = "roll-60x40"`, `stock = "roll-99"`, 1), []string{"key stock", "roll-99", "roll-60x40"}},
		{"box outside label", goodStock, strings.Replace(tmpl, "x_mm = 44", "x_mm = 50", 1), []string{"[qr]", "outside"}},
		{"overlap", goodStock, strings.Replace(tmpl, "x_mm = 44", "x_mm = 30", 1), []string{"[copy]", "[qr]", "overlap"}},
		{"bad kind", strings.Replace(goodStock, `"roll"`, `"fanfold"`, 1), tmpl, []string{"key kind", "fanfold"}},
		{"sheet too big", `name = "roll-60x40"
kind = "sheet"
label_width_mm = 60
label_height_mm = 40
page_width_mm = 210
page_height_mm = 297
columns = 4
rows = 7
`, tmpl, []string{"outside the 210×297 mm page"}},
		{"font larger than box", goodStock, strings.Replace(tmpl, "font_mm = 4.2", "font_mm = 12", 1), []string{"[level]", "font_mm"}},
		{"syntax", goodStock + "name = \n", tmpl, []string{"stock/s.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"stock/s.toml":     {Data: []byte(tt.stock)},
				"templates/t.toml": {Data: []byte(tt.template)},
			}
			_, err := Load(fsys)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			for _, w := range tt.wantInErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to mention %q", err, w)
				}
			}
		})
	}
	fsys := fstest.MapFS{"stock/s.toml": {Data: []byte(goodStock)}, "templates/t.toml": {Data: []byte(tmpl)}}
	if _, err := Load(fsys); err != nil {
		t.Fatalf("the unmodified files: got %v, want no error", err)
	}
}

func TestLabelValidate(t *testing.T) {
	sgtin, _ := epc.NewSGTIN96(0, "0614141", "812345", 1)
	good := Label{Copy: 1, Copies: 2, DocumentNumber: "国保发〔2026〕12号", Level: "秘密", EPC: item(t, 1)}
	if err := good.Validate(); err != nil {
		t.Fatalf("good label: %v", err)
	}
	bad := map[string]func(*Label){
		"copy 0":           func(l *Label) { l.Copy = 0 },
		"copy > copies":    func(l *Label) { l.Copy = 3 },
		"no number":        func(l *Label) { l.DocumentNumber = "  " },
		"no level":         func(l *Label) { l.Level = "" },
		"control char":     func(l *Label) { l.DocumentNumber = "12\n号" },
		"too long":         func(l *Label) { l.DocumentNumber = strings.Repeat("号", 41) },
		"no EPC":           func(l *Label) { l.EPC = epc.EPC{} },
		"SGTIN not a GDTI": func(l *Label) { l.EPC = sgtin },
	}
	for name, mut := range bad {
		l := good
		mut(&l)
		if err := l.Validate(); !errors.Is(err, ErrLabel) {
			t.Errorf("%s: got %v, want ErrLabel", name, err)
		}
	}
}

func TestLoadFontRejects(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"c.ttc": "ttcf\x00\x01\x00\x00", "o.otf": "OTTO\x00\x0a", "x.ttf": "hello"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFont(p); !errors.Is(err, ErrConfig) {
			t.Errorf("LoadFont(%s): got %v, want ErrConfig", name, err)
		}
	}
	if _, err := LoadFont(filepath.Join(dir, "missing.ttf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFont(missing): got %v, want ErrNotExist", err)
	}
}

// zbar runs zbarimg, the independent decoder a custodian's scanner stands in for.
func zbar(t *testing.T, path string) []string {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatalf("zbarimg not found (Debian package zbar-tools, listed in deploy/dev/apt-packages.txt): %v", err)
	}
	out, err := exec.Command(bin, "-q", path).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v (output %q)", path, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

func wantScans(ls ...Label) []string {
	var w []string
	for _, l := range ls {
		w = append(w, "CODE-128:"+l.EPC.BarcodeData(), "QR-Code:"+l.EPC.ElementString())
	}
	sort.Strings(w)
	return w
}

func TestPNGScansBack(t *testing.T) {
	c, f := catalog(t), testFont(t)
	dir := t.TempDir()
	for _, name := range templateNames(c) {
		tp := c.Templates[name]
		for _, id := range []uint64{7, 123456, epc.MaxGDTI96Serial} {
			l := Label{Copy: 3, Copies: 5, DocumentNumber: "国保发〔2026〕12号", Level: "机密", EPC: item(t, id)}
			p := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, id))
			var buf bytes.Buffer
			if err := f.PNG(&buf, tp, l, DefaultPreviewDotsPerMM); err != nil {
				t.Fatalf("%s: PNG: %v", name, err)
			}
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			got, want := zbar(t, p), wantScans(l)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s, item %d: zbarimg got %q, want %q", name, id, got, want)
			}
			// A scanner's reading leads back to the same item.
			for _, s := range got {
				_, data, _ := strings.Cut(s, ":")
				back, err := epc.ParseGDTIElementString(data, 7, l.EPC.Filter())
				if err != nil || back != l.EPC {
					t.Errorf("%s: scanned %q parses to %v, %v; want %v", name, data, back, err, l.EPC)
				}
			}
		}
	}
}

func TestGS1128HasFNC1(t *testing.T) {
	m, err := gs1128("25306141411234525678")
	if err != nil {
		t.Fatal(err)
	}
	// Start C (11010011100) then FNC1 (11110101110): the symbol is GS1-128, not plain Code 128.
	var got strings.Builder
	for x := 0; x < 22; x++ {
		if m.at(x, 0) {
			got.WriteByte('1')
		} else {
			got.WriteByte('0')
		}
	}
	if want := "1101001110011110101110"; got.String() != want {
		t.Errorf("first 22 modules: got %s, want %s (Start C + FNC1)", got.String(), want)
	}
}

func poppler(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package poppler-utils, listed in deploy/dev/apt-packages.txt): %v", name, err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestPDF(t *testing.T) {
	c, f := catalog(t), testFont(t)
	dir := t.TempDir()
	tests := []struct {
		template  string
		n, skip   int
		wantPages int
		wantSize  string // pdfinfo "Page size" in points
	}{
		{"copy-a4-21up", 25, 0, 2, "595.28 x 841.89 pts (A4)"},
		{"copy-a4-21up", 5, 19, 2, "595.28 x 841.89 pts (A4)"},
		{"copy-60x40", 5, 0, 5, "170.08 x 113.39 pts"},
		{"copy-50x30", 3, 0, 3, "141.73 x 85.04 pts"},
		{"copy-40x30", 2, 0, 2, "113.39 x 85.04 pts"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d-skip%d", tt.template, tt.n, tt.skip), func(t *testing.T) {
			tp, err := c.Template(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			ls := copies(t, tt.n, 1000, "绝密")
			var buf bytes.Buffer
			if err := f.PDF(&buf, tp, ls, PDFOptions{Skip: tt.skip}); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, tt.template+".pdf")
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			info := poppler(t, "pdfinfo", p)
			if !strings.Contains(info, "Pages:           "+strconv.Itoa(tt.wantPages)+"\n") {
				t.Errorf("pdfinfo: got\n%s\nwant Pages: %d", info, tt.wantPages)
			}
			if !strings.Contains(info, "Page size:       "+tt.wantSize) {
				t.Errorf("pdfinfo: got\n%s\nwant Page size: %s", info, tt.wantSize)
			}
			fonts := poppler(t, "pdffonts", p)
			if !strings.Contains(fonts, "CID TrueType      Identity-H       yes ") {
				t.Errorf("pdffonts: got\n%s\nwant an embedded CID TrueType font", fonts)
			}
			text := poppler(t, "pdftotext", "-layout", p, "-")
			for _, want := range []string{"绝密", "国保发〔2026〕12号", "第1份/共" + strconv.Itoa(tt.n) + "份", ls[0].EPC.ElementString()} {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext: %q missing from\n%s", want, text)
				}
			}
			if strings.Count(text, "绝密") != tt.n {
				t.Errorf("pdftotext: got %d level marks, want %d", strings.Count(text, "绝密"), tt.n)
			}
			// Print page 1 at 300 dpi and scan it: what a scanner sees on paper.
			poppler(t, "pdftoppm", "-r", "300", "-gray", "-png", "-f", "1", "-l", "1", "-singlefile", p, filepath.Join(dir, "page"))
			onPage1 := tt.n
			if per := tp.Stock.PerPage(); tt.skip+tt.n > per {
				onPage1 = per - tt.skip
			}
			if got, want := zbar(t, filepath.Join(dir, "page.png")), wantScans(ls[:onPage1]...); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("zbarimg of page 1: got %d symbols %q, want %d %q", len(got), got, len(want), want)
			}
		})
	}
	tp, _ := c.Template("copy-a4-21up")
	if err := f.PDF(io.Discard, tp, copies(t, 1, 1, "秘密"), PDFOptions{Skip: 21}); !errors.Is(err, ErrConfig) {
		t.Errorf("Skip 21 on a 21-up sheet: got %v, want ErrConfig", err)
	}
	if err := f.PDF(io.Discard, tp, nil, PDFOptions{}); !errors.Is(err, ErrLabel) {
		t.Errorf("no labels: got %v, want ErrLabel", err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", p, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: output differs from the golden file (run go test -update after checking the diff)\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestZPLGolden(t *testing.T) {
	c := catalog(t)
	for _, name := range templateNames(c) {
		ls := copies(t, 2, 41, "机密")
		var buf bytes.Buffer
		if err := ZPL(&buf, c.Templates[name], ls, ZPLOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := buf.String()
		for _, l := range ls {
			for _, want := range []string{
				"^RFW,H,,,A^FD" + l.EPC.Hex() + "^FS",
				"^BCN,", ",N,N,N,D^FD" + l.EPC.ElementString() + "^FS",
				"^FDMA," + l.EPC.ElementString() + "^FS",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: ZPL lacks %q", name, want)
				}
			}
		}
		for _, want := range []string{"^CI28", "^RFR,H,2,12,1", "^HV1,24,EPC[,]_0D_0A,L", "^FD机密^FS", "^FD第1份/共2份^FS", "^FD国保发〔2026〕12号^FS"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: ZPL lacks %q", name, want)
			}
		}
		if got := strings.Count(out, "^XA"); got != 2 {
			t.Errorf("%s: got %d formats, want 2", name, got)
		}
		golden(t, name+".zpl", buf.Bytes())
	}
	var buf bytes.Buffer
	if err := ZPL(&buf, c.Templates["copy-60x40"], copies(t, 1, 1, "秘密"), ZPLOptions{NoRFID: true, DotsPerMM: DPI300}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "^RF") || !strings.Contains(buf.String(), "^PW720") {
		t.Errorf("NoRFID at 300 dpi: got\n%s\nwant no ^RF commands and ^PW720", buf.String())
	}
	golden(t, "copy-60x40-300dpi-norfid.zpl", buf.Bytes())
	if err := ZPL(io.Discard, c.Templates["copy-60x40"], copies(t, 1, 1, "秘密"), ZPLOptions{DotsPerMM: 10}); !errors.Is(err, ErrConfig) {
		t.Errorf("10 dots/mm: got %v, want ErrConfig", err)
	}
}

func TestZPLEscapes(t *testing.T) {
	c := catalog(t)
	l := Label{Copy: 1, Copies: 1, DocumentNumber: "A^B~C_D", Level: "秘密", EPC: item(t, 5)}
	var buf bytes.Buffer
	if err := ZPL(&buf, c.Templates["copy-60x40"], []Label{l}, ZPLOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "^FH_^FDA_5EB_7EC_5FD^FS") {
		t.Errorf("got\n%s\nwant the document number hex-escaped as A_5EB_7EC_5FD", buf.String())
	}
}

func TestParseZPLReadBack(t *testing.T) {
	ls := copies(t, 2, 9, "秘密")
	in := "EPC[" + ls[0].EPC.Hex() + "]\r\n\r\nEPC[" + ls[1].EPC.Hex() + "]\r\n"
	got, err := ParseZPLReadBack(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != ls[0].EPC || got[1] != ls[1].EPC {
		t.Errorf("got %v, want %v and %v", got, ls[0].EPC, ls[1].EPC)
	}
	for _, bad := range []string{"VOID\r\n", "EPC[2C74257BF46072000000162]\r\n", "EPC[" + ls[0].EPC.Hex() + "\r\n"} {
		if _, err := ParseZPLReadBack(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseZPLReadBack(%q): got no error, want one", bad)
		}
	}
}

func TestTSPLGolden(t *testing.T) {
	c := catalog(t)
	gbLevel, _ := simplifiedchinese.GB18030.NewEncoder().String("机密")
	gbDoc, _ := simplifiedchinese.GB18030.NewEncoder().String("国保发〔2026〕12号")
	for _, name := range templateNames(c) {
		ls := copies(t, 2, 41, "机密")
		var buf bytes.Buffer
		if err := TSPL(&buf, c.Templates[name], ls, TSPLOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := buf.String()
		s := c.Templates[name].Stock
		for _, want := range []string{
			fmt.Sprintf("SIZE %s mm,%s mm\r\n", num(s.LabelWidth), num(s.LabelHeight)),
			fmt.Sprintf("GAP %s mm,0 mm\r\n", num(s.Gap)),
			`"TSS24.BF2",0,`, `"` + gbLevel + `"`,
			`"` + gbDoc + `"`,
			`"EAN128",`, `"` + ls[1].EPC.BarcodeData() + `"`,
			`QRCODE `, `"` + ls[1].EPC.ElementString() + `"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: TSPL lacks %q", name, want)
			}
		}
		if strings.Contains(out, "机密") {
			t.Errorf("%s: TSPL holds UTF-8 text; TSS24.BF2 needs GB18030", name)
		}
		if got := strings.Count(out, "PRINT 1,1\r\n"); got != 2 {
			t.Errorf("%s: got %d PRINT commands, want 2", name, got)
		}
		golden(t, name+".tspl", buf.Bytes())
	}
	// A document number too wide for the 24-dot font is refused, not printed over the QR code.
	long := Label{Copy: 1, Copies: 1, DocumentNumber: "国家保密局办公厅发〔2026〕123号", Level: "秘密", EPC: item(t, 1)}
	if err := TSPL(io.Discard, c.Templates["copy-40x30"], []Label{long}, TSPLOptions{}); !errors.Is(err, ErrLabel) {
		t.Errorf("too-wide text: got %v, want ErrLabel", err)
	}
}

func TestSendTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		b, _ := io.ReadAll(conn) // ends when Send half-closes
		got <- b
	}()
	var job bytes.Buffer
	if err := ZPL(&job, catalog(t).Templates["copy-60x40"], copies(t, 2, 1, "机密"), ZPLOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Send(ctx, "tcp://"+ln.Addr().String(), job.Bytes()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, job.Bytes()) {
			t.Errorf("printer received %d bytes, want the %d-byte job", len(b), job.Len())
		}
	case <-ctx.Done():
		t.Fatal("printer received nothing")
	}
	// Nobody listening: a clear error, no hang.
	addr := ln.Addr().String()
	ln.Close()
	if err := Send(ctx, addr, job.Bytes()); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Send to closed port: got %v, want an error naming %s", err, addr)
	}
}

func TestSendDevice(t *testing.T) {
	job := []byte("SIZE 60 mm,40 mm\r\nCLS\r\nPRINT 1,1\r\n")
	p := filepath.Join(t.TempDir(), "lp0")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), p, job); err != nil {
		t.Fatalf("Send to file: %v", err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, job) {
		t.Errorf("file got %q, want %q", b, job)
	}
	if err := Send(context.Background(), p+"-missing", job); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Send to a missing device: got %v, want ErrNotExist (and no file created)", err)
	}
	if _, err := os.Stat(p + "-missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Send created %s-missing", p)
	}

	// A character device, as /dev/usb/lp0 is: a pseudo-terminal in raw mode.
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := rawTTY(tty); err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 0, len(job))
		chunk := make([]byte, 256)
		for len(buf) < len(job) {
			n, err := ptmx.Read(chunk)
			if err != nil {
				break
			}
			buf = append(buf, chunk[:n]...)
		}
		done <- buf
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Send(ctx, tty.Name(), job); err != nil {
		t.Fatalf("Send to pty %s: %v", tty.Name(), err)
	}
	select {
	case b := <-done:
		if !bytes.Equal(b, job) {
			t.Errorf("pty got %q, want %q", b, job)
		}
	case <-ctx.Done():
		t.Fatal("pty received nothing")
	}
	if err := Send(ctx, "no/such:thing", job); !errors.Is(err, ErrConfig) {
		t.Errorf("Send to a bad target: got %v, want ErrConfig", err)
	}
}

// BenchmarkPDF1000 is issue 8's labels_pdf_1000_s: seconds to lay out 1 000 copy labels (barcode,
// GS1 human-readable text, CJK font) on A4 sheets as one PDF.
//
// What limits it: the code — barcode and QR layout and the PDF writer's font subsetting; the
// machine — single-core speed (one document is laid out on one goroutine).
func BenchmarkPDF1000(b *testing.B) {
	c, f := catalog(b), testFont(b)
	tp := c.Templates["copy-a4-21up"]
	ls := make([]Label, 1000)
	for i := range ls {
		ls[i] = Label{Copy: i + 1, Copies: 1000, DocumentNumber: "国保发〔2026〕12号", Level: "机密", EPC: item(b, uint64(100000+i))}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.PDF(io.Discard, tp, ls, PDFOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "labels_pdf_1000_s")
}

func TestRender(t *testing.T) {
	c, f := catalog(t), testFont(t)
	tp := c.Templates["copy-50x30"]
	ls := copies(t, 3, 500, "秘密")
	dir := t.TempDir()
	for _, format := range []Format{FormatPDF, FormatPNG, FormatZPL, FormatTSPL} {
		var buf bytes.Buffer
		if err := Render(&buf, f, tp, ls, Options{Format: format}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		magic := map[Format]string{FormatPDF: "%PDF-", FormatPNG: "\x89PNG", FormatZPL: "^XA", FormatTSPL: "SIZE 50 mm,30 mm"}[format]
		if !bytes.HasPrefix(buf.Bytes(), []byte(magic)) {
			t.Errorf("%s: output starts %q, want %q", format, buf.Bytes()[:min(8, buf.Len())], magic)
		}
		if format == FormatPNG {
			p := filepath.Join(dir, "roll.png")
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, want := zbar(t, p), wantScans(ls...); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("stacked PNG: zbarimg got %q, want %q", got, want)
			}
		}
	}
	if err := Render(io.Discard, nil, tp, ls, Options{Format: FormatPDF}); !errors.Is(err, ErrConfig) {
		t.Errorf("PDF without a font: got %v, want ErrConfig", err)
	}
	if err := Render(io.Discard, f, tp, ls, Options{Format: "svg"}); !errors.Is(err, ErrConfig) {
		t.Errorf("format svg: got %v, want ErrConfig", err)
	}
}

func TestPrinterAddr(t *testing.T) {
	tests := map[string]string{
		"192.168.1.50":            "192.168.1.50:9100",
		"192.168.1.50:6101":       "192.168.1.50:6101",
		"tcp://zebra.office":      "zebra.office:9100",
		"tcp://zebra.office:9100": "zebra.office:9100",
		"[fd00::5]":               "[fd00::5]:9100",
		"[fd00::5]:9101":          "[fd00::5]:9101",
	}
	for in, want := range tests {
		got, err := printerAddr(in)
		if err != nil || got != want {
			t.Errorf("printerAddr(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "tcp://", "usb/lp0", "tcp://a b"} {
		if _, err := printerAddr(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("printerAddr(%q): got %v, want ErrConfig", bad, err)
		}
	}
}

// A printer that accepts the connection but stops reading (paper out) must not hang the
// caller past its deadline.
func TestSendTCPStalledPrinter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	defer func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	}()
	job := bytes.Repeat([]byte("^XA^FO10,10^FDx^FS^XZ\n"), 2<<20) // ~46 MB, far beyond socket buffers
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = Send(ctx, ln.Addr().String(), job)
	if err == nil {
		t.Fatal("got no error from a printer that never reads, want a timeout")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send returned after %v, want soon after the 300 ms deadline", d)
	}
}
