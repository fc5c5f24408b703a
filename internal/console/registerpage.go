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
		ids, err := c.search(r, d.Q)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		var hit []register.LedgerRow
		for _, x := range rows {
			if ids[x.ID] {
				hit = append(hit, x)
			}
		}
		rows = hit
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

// search finds the items a query names: a document number (every copy), an item number, an EPC
// (hex, any case) or a label barcode, as the scanner reads it.
func (c *Console) search(r *http.Request, q string) (map[int64]bool, error) {
	ids := map[int64]bool{}
	n, _ := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64)
	bc := strings.NewReplacer("(", "", ")", "", " ", "", "\x1d", "").Replace(q)
	err := each(r.Context(), c.st.DB(), `SELECT i.id FROM items i JOIN documents d ON d.id = i.document_id
		WHERE d.number = ?1 OR i.id = ?2 OR upper(i.epc) = upper(?1) OR i.barcode = ?1 OR i.barcode = ?3 OR replace(replace(i.barcode, '(', ''), ')', '') = ?3 LIMIT 5000`,
		func(s scanner) error {
			var id int64
			err := s.Scan(&id)
			ids[id] = true
			return err
		}, q, n, bc)
	return ids, err
}

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
