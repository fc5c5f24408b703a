package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/register"
)

// The scan box in the navigation (issue 21 point 6): on any page, a label scanned (a scanner is a
// keyboard that types the barcode and Enter) or a number typed goes to that copy's page when it
// names exactly one copy the person may see, otherwise to the register's search for it. It uses
// the register page's matcher, over the rows the register gives this person.
func (c *Console) find(w http.ResponseWriter, r *http.Request, p *page) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxSearch {
		// The register page refuses it in words (register.too_long).
		http.Redirect(w, r, "/register?q="+url.QueryEscape(q), http.StatusSeeOther)
		return
	}
	m := newMatcher(q)
	if len(q) > 0 {
		rows, err := c.reg.Ledger(r.Context(), p.Actor, views["all"])
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		// A copy's own label first (a scanned barcode, an EPC, #12); else words naming one copy.
		for _, test := range []func(register.LedgerRow) bool{m.names, m.match} {
			if id, ok := one(rows, test); ok {
				http.Redirect(w, r, "/items/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
				return
			}
		}
	}
	http.Redirect(w, r, "/register?q="+url.QueryEscape(q), http.StatusSeeOther)
}

// one is the id of the only row that passes test.
func one(rows []register.LedgerRow, test func(register.LedgerRow) bool) (int64, bool) {
	var id int64
	n := 0
	for _, x := range rows {
		if test(x) {
			if n++; n > 1 {
				return 0, false
			}
			id = x.ID
		}
	}
	return id, n == 1
}
