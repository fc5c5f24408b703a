package labels

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrConfig is wrapped by every error about stock or template files.
var ErrConfig = errors.New("invalid label configuration")

// Stock is a kind of label material.
type Stock struct {
	Name  string `toml:"name"`
	Title string `toml:"title"` // for people, zh-CN / English
	// Kind is "roll" (thermal roll, one PDF page per label) or "sheet" (A4 sheets, a grid of
	// labels per page).
	Kind        string  `toml:"kind"`
	LabelWidth  float64 `toml:"label_width_mm"`
	LabelHeight float64 `toml:"label_height_mm"`
	Gap         float64 `toml:"gap_mm"` // roll: gap between labels (TSPL GAP)
	PageWidth   float64 `toml:"page_width_mm"`
	PageHeight  float64 `toml:"page_height_mm"`
	Columns     int     `toml:"columns"`
	Rows        int     `toml:"rows"`
	MarginLeft  float64 `toml:"margin_left_mm"`
	MarginTop   float64 `toml:"margin_top_mm"`
	ColumnGap   float64 `toml:"column_gap_mm"`
	RowGap      float64 `toml:"row_gap_mm"`
	file        string
}

// Box is a rectangle on the label, in millimetres from the label's top-left corner.
type Box struct {
	X float64 `toml:"x_mm"`
	Y float64 `toml:"y_mm"`
	W float64 `toml:"w_mm"`
	H float64 `toml:"h_mm"`
}

// TextBox is a box holding one line of text; FontSize is the em size in millimetres, reduced
// when the text would not fit the width.
type TextBox struct {
	Box
	FontSize float64 `toml:"font_mm"`
	Border   bool    `toml:"border"`
	Center   bool    `toml:"center"`
}

// Template is the layout of one label for one stock.
type Template struct {
	Name  string `toml:"name"`
	Title string `toml:"title"`
	// StockName names the stock this layout was drawn for; the label size must match.
	StockName string `toml:"stock"`
	// CopyFormat renders the copy number; {copy} and {copies} are replaced.
	CopyFormat string  `toml:"copy_format"`
	Level      TextBox `toml:"level"`
	Copy       TextBox `toml:"copy"`
	Document   TextBox `toml:"document_number"`
	Barcode    Box     `toml:"barcode"` // GS1-128 bars, quiet zones included
	HRI        TextBox `toml:"hri"`     // the element string printed under the bars
	QR         Box     `toml:"qr"`      // square; the smaller side counts
	Stock      *Stock  `toml:"-"`
	file       string
}

// Catalog holds the stocks and templates of one labels/ directory.
type Catalog struct {
	Stocks    map[string]*Stock
	Templates map[string]*Template
}

// Load reads stock/*.toml and templates/*.toml from fsys (usually os.DirFS of the labels
// directory) and checks every file strictly.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{Stocks: map[string]*Stock{}, Templates: map[string]*Template{}}
	stockFiles, err := fs.Glob(fsys, "stock/*.toml")
	if err != nil {
		return nil, fmt.Errorf("labels: list stocks: %w", err)
	}
	for _, f := range stockFiles {
		var s Stock
		if err := decodeStrict(fsys, f, &s); err != nil {
			return nil, err
		}
		s.file = f
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("labels: %s: %w", f, err)
		}
		if prev, dup := c.Stocks[s.Name]; dup {
			return nil, fmt.Errorf("labels: %s: stock %q already defined in %s: %w", f, s.Name, prev.file, ErrConfig)
		}
		c.Stocks[s.Name] = &s
	}
	tmplFiles, err := fs.Glob(fsys, "templates/*.toml")
	if err != nil {
		return nil, fmt.Errorf("labels: list templates: %w", err)
	}
	for _, f := range tmplFiles {
		// Compact by default: TSPL's built-in Chinese font is 24 dots (3 mm at 203 dpi) per
		// character and cannot shrink, so "第 3 份 / 共 5 份" would not fit small labels.
		t := Template{CopyFormat: "第{copy}份/共{copies}份"}
		if err := decodeStrict(fsys, f, &t); err != nil {
			return nil, err
		}
		t.file = f
		s, ok := c.Stocks[t.StockName]
		if !ok {
			return nil, fmt.Errorf("labels: %s: key stock: unknown stock %q (have %s): %w", f, t.StockName, strings.Join(c.StockNames(), ", "), ErrConfig)
		}
		t.Stock = s
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("labels: %s: %w", f, err)
		}
		if prev, dup := c.Templates[t.Name]; dup {
			return nil, fmt.Errorf("labels: %s: template %q already defined in %s: %w", f, t.Name, prev.file, ErrConfig)
		}
		c.Templates[t.Name] = &t
	}
	if len(c.Templates) == 0 {
		return nil, fmt.Errorf("labels: no templates/*.toml found: %w", ErrConfig)
	}
	return c, nil
}

// Template returns the named template, or an error listing the known ones.
func (c *Catalog) Template(name string) (*Template, error) {
	t, ok := c.Templates[name]
	if !ok {
		names := make([]string, 0, len(c.Templates))
		for n := range c.Templates {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("labels: unknown template %q (have %s): %w", name, strings.Join(names, ", "), ErrConfig)
	}
	return t, nil
}

// StockNames lists the stock names in order.
func (c *Catalog) StockNames() []string {
	names := make([]string, 0, len(c.Stocks))
	for n := range c.Stocks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func decodeStrict(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("labels: read %s: %w", name, err)
	}
	md, err := toml.Decode(string(b), v)
	if err != nil {
		return fmt.Errorf("labels: %s: %v: %w", name, err, ErrConfig)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("labels: %s: unknown key %s: %w", name, strings.Join(keys, ", "), ErrConfig)
	}
	return nil
}

func (s *Stock) validate() error {
	if s.Name == "" || s.Name != path.Base(s.Name) {
		return fmt.Errorf("key name: want a plain name, got %q: %w", s.Name, ErrConfig)
	}
	if s.LabelWidth <= 0 || s.LabelHeight <= 0 || s.LabelWidth > 300 || s.LabelHeight > 300 {
		return fmt.Errorf("keys label_width_mm, label_height_mm: want 0 < size ≤ 300 mm, got %g×%g: %w", s.LabelWidth, s.LabelHeight, ErrConfig)
	}
	switch s.Kind {
	case "roll":
		if s.Gap < 0 || s.Gap > 20 {
			return fmt.Errorf("key gap_mm: want 0–20, got %g: %w", s.Gap, ErrConfig)
		}
		if s.Columns != 0 || s.Rows != 0 || s.PageWidth != 0 || s.PageHeight != 0 {
			return fmt.Errorf("keys columns, rows, page_*: only for kind \"sheet\": %w", ErrConfig)
		}
	case "sheet":
		if s.Columns < 1 || s.Rows < 1 {
			return fmt.Errorf("keys columns, rows: want at least 1, got %d, %d: %w", s.Columns, s.Rows, ErrConfig)
		}
		if s.PageWidth <= 0 || s.PageHeight <= 0 {
			return fmt.Errorf("keys page_width_mm, page_height_mm: want > 0: %w", ErrConfig)
		}
		right := s.MarginLeft + float64(s.Columns)*s.LabelWidth + float64(s.Columns-1)*s.ColumnGap
		bottom := s.MarginTop + float64(s.Rows)*s.LabelHeight + float64(s.Rows-1)*s.RowGap
		if s.MarginLeft < 0 || s.MarginTop < 0 || right > s.PageWidth+0.01 || bottom > s.PageHeight+0.01 {
			return fmt.Errorf("grid %d×%d of %g×%g mm ends at %.2f×%.2f mm, outside the %g×%g mm page: %w",
				s.Columns, s.Rows, s.LabelWidth, s.LabelHeight, right, bottom, s.PageWidth, s.PageHeight, ErrConfig)
		}
	default:
		return fmt.Errorf("key kind: want \"roll\" or \"sheet\", got %q: %w", s.Kind, ErrConfig)
	}
	return nil
}

// PerPage is the number of labels on one PDF page.
func (s *Stock) PerPage() int {
	if s.Kind == "sheet" {
		return s.Columns * s.Rows
	}
	return 1
}

func (t *Template) validate() error {
	if t.Name == "" || t.Name != path.Base(t.Name) {
		return fmt.Errorf("key name: want a plain name, got %q: %w", t.Name, ErrConfig)
	}
	if !strings.Contains(t.CopyFormat, "{copy}") {
		return fmt.Errorf("key copy_format: want {copy} in %q: %w", t.CopyFormat, ErrConfig)
	}
	w, h := t.Stock.LabelWidth, t.Stock.LabelHeight
	check := func(key string, b Box, needFont float64) error {
		if b.W <= 0 || b.H <= 0 {
			return fmt.Errorf("table [%s]: want w_mm and h_mm > 0: %w", key, ErrConfig)
		}
		if b.X < 0 || b.Y < 0 || b.X+b.W > w+0.01 || b.Y+b.H > h+0.01 {
			return fmt.Errorf("table [%s]: box %g,%g %g×%g mm lies outside the %g×%g mm label: %w", key, b.X, b.Y, b.W, b.H, w, h, ErrConfig)
		}
		if needFont >= 0 && (needFont <= 0 || needFont > b.H) {
			return fmt.Errorf("table [%s]: key font_mm: want 0 < font_mm ≤ h_mm, got %g: %w", key, needFont, ErrConfig)
		}
		return nil
	}
	for _, e := range []struct {
		key  string
		box  Box
		font float64
	}{
		{"level", t.Level.Box, t.Level.FontSize},
		{"copy", t.Copy.Box, t.Copy.FontSize},
		{"document_number", t.Document.Box, t.Document.FontSize},
		{"barcode", t.Barcode, -1},
		{"hri", t.HRI.Box, t.HRI.FontSize},
		{"qr", t.QR, -1},
	} {
		if err := check(e.key, e.box, e.font); err != nil {
			return err
		}
	}
	boxes := map[string]Box{"level": t.Level.Box, "copy": t.Copy.Box, "document_number": t.Document.Box,
		"barcode": t.Barcode, "hri": t.HRI.Box, "qr": t.QR}
	keys := []string{"level", "copy", "document_number", "barcode", "hri", "qr"}
	for i, a := range keys {
		for _, b := range keys[i+1:] {
			if overlap(boxes[a], boxes[b]) {
				return fmt.Errorf("tables [%s] and [%s] overlap: %w", a, b, ErrConfig)
			}
		}
	}
	return nil
}

func overlap(a, b Box) bool {
	const eps = 0.01
	return a.X+eps < b.X+b.W && b.X+eps < a.X+a.W && a.Y+eps < b.Y+b.H && b.Y+eps < a.Y+a.H
}
