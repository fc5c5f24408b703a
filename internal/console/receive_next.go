package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/register"
)

// Receiving goes on to its next step (issue 21 point 7): the copies just registered, each with
// its barcode and EPC, the command that prints their labels, and a button that writes a copy's
// EPC onto the blank tag on a desk's encoding station (register.EncodeTag, through the station
// custodyd runs) — the page the receiving form lands on.

type receiveNextData struct {
	Items  []register.LedgerRow
	Desks  []deskRef
	IDs    string // the copies, for the way back after an encoding
	Labels string // the label-printing command for exactly these copies
}

func (c *Console) receiveNext(w http.ResponseWriter, r *http.Request, p *page) {
	want := map[int64]bool{}
	for _, id := range ids(clip(r.URL.Query().Get("items"), 4000)) {
		want[id] = true
	}
	var d receiveNextData
	rows, err := c.reg.Ledger(r.Context(), p.Actor, views["all"])
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	var list []string
	for _, x := range rows {
		if want[x.ID] {
			d.Items = append(d.Items, x)
			list = append(list, strconv.FormatInt(x.ID, 10))
		}
	}
	d.IDs = strings.Join(list, ",")
	if len(list) > 0 {
		d.Labels = "custodyctl labels print " + strings.Join(list, " ") + " -o labels.pdf"
	}
	desks, err := c.reg.Reads().DeskNames(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	for _, x := range desks {
		d.Desks = append(d.Desks, deskRef{Code: x.Code, Name: x.Name})
	}
	c.flashInto(r, p)
	p.Titles = p.Actor.SeesTitles()
	p.Data = d
	c.render(w, r, http.StatusOK, "receive_next", p)
}

// encodeTag writes a copy's EPC at a desk's station; the register checks and audits.
func (c *Console) encodeTag(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	back := "/receive/next?items=" + url.QueryEscape(strings.Join(strings.Fields(strings.ReplaceAll(clip(r.PostFormValue("items"), 4000), ",", " ")), ","))
	if c.opt.Station == nil {
		c.setFlash(r, p.T("receive.no_station"))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	e, err := c.reg.EncodeTag(r.Context(), p.Actor, id, clip(r.PostFormValue("desk"), 100), c.opt.Station)
	switch {
	case err == nil:
		c.setFlash(r, noteFlash+p.Tf("receive.encoded", e.Item.ID, e.Item.Document, e.Item.Copy, e.Desk))
	case errors.As(err, new(*register.Error)):
		c.setFlash(r, p.refusal(err))
	default:
		c.log.Error("console: encode tag", "item", id, "err", err)
		c.setFlash(r, p.T("error.internal"))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
