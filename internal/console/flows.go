package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// The custodian's other desk flows: receiving a document (收文), listing items for destruction
// (造册) and starting a recall campaign (清退). Each form posts to the register, which checks the
// rules and audits; a refusal comes back on the page in the person's language.

type receiveData struct {
	Units    []register.Unit
	Cabinets []register.Cabinet
	Levels   []custody.Level
}

func (c *Console) receivePage(w http.ResponseWriter, r *http.Request, p *page) {
	var d receiveData
	var err error
	if d.Units, err = c.reg.Units(r.Context(), p.Actor); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Cabinets, err = c.reg.Cabinets(r.Context(), p.Actor); err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Levels = custody.Levels
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "receive", p)
}

func (c *Console) receive(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	copies, _ := strconv.Atoi(r.PostFormValue("copies"))
	first, _ := strconv.Atoi(r.PostFormValue("first_copy"))
	last, _ := strconv.Atoi(r.PostFormValue("last_copy"))
	req := register.ReceiveRequest{FirstCopy: first, LastCopy: last,
		Document: register.Document{
			Number: clip(r.PostFormValue("number"), 200), Title: clip(r.PostFormValue("title"), 1000),
			IssuingUnit: clip(r.PostFormValue("issuing_unit"), 100), Level: custody.Level(clip(r.PostFormValue("level"), 50)),
			IssuedOn: clip(r.PostFormValue("issued_on"), 20), SecrecyTerm: clip(r.PostFormValue("secrecy_term"), 50), Copies: copies,
		},
		Cabinet: clip(r.PostFormValue("cabinet"), 100), From: clip(r.PostFormValue("from"), 200),
	}
	res, err := c.reg.ReceiveBatch(r.Context(), p.Actor, req)
	if err != nil {
		c.setFlash(r, p.refusal(err))
		http.Redirect(w, r, "/receive", http.StatusSeeOther)
		return
	}
	// Receiving goes on to the label and tag step for exactly these copies (issue 14 point 1,
	// issue 21 point 7): their page, with the labels to print and the tags to write.
	c.setFlash(r, noteFlash+p.Tf("receive.next", res.Batch, len(res.Items), res.Next.Labels))
	var list []string
	for _, id := range res.Next.Items {
		list = append(list, strconv.FormatInt(id, 10))
	}
	http.Redirect(w, r, "/receive/next?items="+url.QueryEscape(strings.Join(list, ",")), http.StatusSeeOther)
}

// ids reads item numbers separated by spaces, commas or new lines.
func ids(s string) []int64 {
	var out []int64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *Console) listBatch(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_, err := c.reg.ListDestruction(r.Context(), p.Actor, register.BatchRequest{Items: ids(r.PostFormValue("items")), Reason: formText(r, "reason")})
	back := "/batches"
	if err != nil {
		c.setFlash(r, p.refusal(err))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// certifyBatch records the secrecy bureau's destruction certificate for a batch sent to it.
func (c *Console) certifyBatch(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, _ := strconv.ParseInt(r.PostFormValue("batch"), 10, 64)
	_, err := c.reg.CertifyDestruction(r.Context(), p.Actor, id, clip(r.PostFormValue("certificate"), 200), "")
	back := "/batches"
	if err != nil {
		c.setFlash(r, p.refusal(err))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) startRecall(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	deadline := r.PostFormValue("deadline") // datetime-local, read by the register in the site's zone
	var docs []string
	for _, l := range strings.Split(clip(r.PostFormValue("documents"), 10000), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			docs = append(docs, l)
		}
	}
	_, err := c.reg.StartRecall(r.Context(), p.Actor, register.RecallRequest{Name: clip(r.PostFormValue("name"), 200), Deadline: clip(deadline, 50), Documents: docs})
	back := "/recalls"
	if err != nil {
		c.setFlash(r, p.refusal(err))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
