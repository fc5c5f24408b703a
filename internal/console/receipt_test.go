package console_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The receipt page and the receipt PDF carry the same paper (issue 21 point 8: the page lacked
// the level mark, the due time and the desk the PDF has): every header field of the page is in
// the PDF with its value, every field of the PDF is on the page, and so are the mark, the title,
// the column heads and each copy's row — read from the PDF's text as a person copying it would.
func TestReceiptPageCarriesWhatThePDFCarries(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	s.openBorrowing(t, c)
	for _, code := range []string{"B-0042", itoa(s.items[0]), itoa(s.items[1])} {
		s.post(t, c, "/desk/D-01/scan", url.Values{"code": {code}})
	}
	code, loc := s.post(t, c, "/desk/D-01/close", url.Values{"pin": {"2468"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/receipts/") {
		t.Fatalf("close the borrowing: got %d to %q", code, loc)
	}
	_, page := get(t, c, s.base+loc)
	resp, err := c.Get(s.base + loc + "/pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	paper := string(out)
	flat := strings.Join(strings.Fields(paper), "")

	section := page[strings.Index(page, `id="receipt"`):]
	section = section[:strings.Index(section, "</section>")]
	cells := func(re string) []string {
		var v []string
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(section, -1) {
			v = append(v, strings.TrimSpace(html.UnescapeString(m[1])))
		}
		return v
	}
	labels, values := cells(`<dt>([^<]*)</dt>`), cells(`<dd>([^<]*)</dd>`)
	if len(labels) != len(values) || len(labels) == 0 {
		t.Fatalf("receipt page: got %d labels and %d values", len(labels), len(values))
	}
	onPage := map[string]string{}
	for i, l := range labels {
		onPage[l] = values[i]
		// The PDF prints "label：value", cut to its half of the line when long.
		v := []rune(strings.Join(strings.Fields(values[i]), ""))
		if len(v) > 12 {
			v = v[:12]
		}
		if !strings.Contains(flat, l+"："+string(v)) {
			t.Errorf("the PDF lacks the page's field %s：%s", l, values[i])
		}
	}
	// Every "label：" of the PDF's header is a field of the page.
	head := paper[:strings.Index(paper, "序号")]
	for _, m := range regexp.MustCompile(`(?:^|\s)([\p{Han}]+)：`).FindAllStringSubmatch(head, -1) {
		if _, ok := onPage[m[1]]; !ok {
			t.Errorf("the page lacks the PDF's field %s", m[1])
		}
	}
	// What the issue found missing, by name.
	for _, want := range []string{"机密★10年", "归还期限", "工作台", "D-01"} {
		if !strings.Contains(section, want) || !strings.Contains(paper, want) {
			t.Errorf("want %q on both the page and the PDF", want)
		}
	}
	for _, x := range append(append(cells(`<th>([^<]*)</th>`), cells(`<td>([^<]+)</td>`)...), cells(`<h1>([^<]*)</h1>`)...) {
		if !strings.Contains(flat, strings.Join(strings.Fields(x), "")) {
			t.Errorf("the PDF lacks the page's %q", x)
		}
	}
}
