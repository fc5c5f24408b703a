package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
)

// The register (台账) and its reports: search by document number, item number, EPC or barcode
// (a scanner acting as a keyboard types the barcode into the search box), holdings per person,
// overdue items, recall progress, CSV and PDF downloads.

const pageRows = 500

type registerData struct {
	Q       string
	View    string
	Rows    []register.LedgerRow
	Total   int
	TooLong bool
	Seen    sightings // what the cabinets say of each copy, beside the register's state
}

var views = map[string]register.LedgerFilter{
	"all":     {},
	"held":    {Held: true},
	"overdue": {Overdue: true},
}

func (c *Console) registerPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := registerData{Q: q.Get("q"), View: q.Get("view")}
	c.flashInto(r, p)
	if _, ok := views[d.View]; !ok {
		d.View = "all"
	}
	if len(d.Q) > maxSearch {
		d.TooLong, d.Q = true, ""
		p.Err = p.T("register.too_long")
		p.Data = d
		c.render(w, r, http.StatusBadRequest, "register", p)
		return
	}
	d.Q = strings.TrimSpace(d.Q)
	rows, err := c.reg.Ledger(r.Context(), p.Actor, views[d.View])
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Q != "" {
		m := newMatcher(d.Q)
		var hit []register.LedgerRow
		for _, x := range rows {
			if m.match(x) {
				hit = append(hit, x)
			}
		}
		rows = hit
	}
	if d.Seen, err = c.sightings(r.Context()); err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Total = len(rows)
	if len(rows) > pageRows {
		rows = rows[:pageRows]
	}
	d.Rows = rows
	p.Titles = p.Actor.SeesTitles()
	p.Data = d
	c.render(w, r, http.StatusOK, "register", p)
}

// matcher finds the rows a search names (issue 21 point 6), among the rows the register gave
// this person (so a title is searched only where the person may read it: the register redacts
// it otherwise):
//   - an item number (#12 or 12), an EPC (any case) or a label's barcode as a scanner types it
//     (with or without the GS1 parentheses and separators): that copy;
//   - otherwise words, each of which must appear in the document number (in part: 45号, 京保; the
//     bracket styles 〔〕 [] ［］ 【】 are one), the title, the holder's name or username, or the unit.
type matcher struct {
	raw, barcode string
	id           int64
	words        []string
}

func newMatcher(q string) matcher {
	m := matcher{raw: q, barcode: strings.NewReplacer("(", "", ")", "", " ", "", "\x1d", "").Replace(q)}
	m.id, _ = strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64)
	m.words = strings.Fields(fold(q))
	return m
}

func (m matcher) match(x register.LedgerRow) bool {
	if m.names(x) {
		return true
	}
	if len(m.words) == 0 {
		return false
	}
	hay := fold(strings.Join([]string{x.Document, x.Title, x.HolderName, x.Holder, x.Unit}, "\n"))
	for _, w := range m.words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// names is whether the search is this copy's own label: its item number, EPC or barcode.
func (m matcher) names(x register.LedgerRow) bool {
	return (m.id > 0 && x.ID == m.id) || (x.EPC != "" && strings.EqualFold(x.EPC, m.raw)) ||
		(x.Barcode != "" && (x.Barcode == m.raw || strings.NewReplacer("(", "", ")", "").Replace(x.Barcode) == m.barcode))
}

// fold makes the ways people write a document number the same: every bracket style is [ ],
// full-width letters and digits are ASCII, and case does not count.
var fold = func() func(string) string {
	r := strings.NewReplacer("〔", "[", "〕", "]", "［", "[", "］", "]", "【", "[", "】", "]", "（", "(", "）", ")", "　", " ")
	return func(s string) string {
		s = r.Replace(s)
		return strings.ToLower(strings.Map(func(c rune) rune {
			if c >= '！' && c <= '～' { // full-width ASCII (０-９, Ａ-Ｚ …)
				return c - '！' + '!'
			}
			return c
		}, s))
	}
}()

func (c *Console) registerDownload(w http.ResponseWriter, r *http.Request, p *page) {
	view := r.PathValue("kind")
	f, ok := views[view]
	if !ok {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	rows, err := c.reg.Ledger(r.Context(), p.Actor, f)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	// Report papers are zh-CN: they are the office's official forms.
	title := map[string]string{"all": "涉密文件台账", "held": "个人持有涉密文件清单", "overdue": "逾期未还涉密文件清单"}[view]
	t := report.Ledger(title, nil, rows, c.reg.Zone())
	name := "register-" + view
	switch r.URL.Query().Get("format") {
	case "pdf":
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf"`)
		err = report.PDF(w, t, c.opt.FontPath)
	default:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		err = report.CSV(w, t)
	}
	if err != nil {
		c.log.Error("console: download", "view", view, "err", err)
	}
}
