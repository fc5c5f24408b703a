package labels

import (
	"bytes"
	"testing"
)

// TestRenderReportsProgress: every format calls Options.Progress once per label, in order, and
// the output is the same bytes as without it (PDF aside: fpdf stamps the creation time).
func TestRenderReportsProgress(t *testing.T) {
	c, f := catalog(t), testFont(t)
	tp, err := c.Template("copy-60x40")
	if err != nil {
		t.Fatal(err)
	}
	ls := copies(t, 7, 2000, "机密")
	for _, format := range []Format{FormatZPL, FormatTSPL, FormatPDF, FormatPNG} {
		var got []int
		var with, without bytes.Buffer
		if err := Render(&with, f, tp, ls, Options{Format: format, Progress: func(done int) { got = append(got, done) }}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(got) != len(ls) || got[0] != 1 || got[len(got)-1] != len(ls) {
			t.Errorf("%s: got progress %v, want 1…%d", format, got, len(ls))
		}
		if format == FormatPDF {
			continue
		}
		if err := Render(&without, f, tp, ls, Options{Format: format}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(with.Bytes(), without.Bytes()) {
			t.Errorf("%s: output differs with a progress callback", format)
		}
	}
}
