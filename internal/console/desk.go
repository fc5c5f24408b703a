package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
)

// The custodian's desk: open a handover for a purpose, let the desk's scanner (through its agent,
// arriving live) or the keyboard add the counterpart's badge and the items, close with the
// counterpart's PIN (and a second custodian for top-secret items), print the receipt.

type deskRef struct{ Code, Name string }

type deskIndexData struct {
	Desks    []deskRef
	Purposes []purpose
	Purpose  string // preselected (?purpose=, only a known code: an alert's "record the checkout")
	Open     []register.Session
	// Approvals and Batches are what a take-out and a 送销 may use, picked, never typed.
	Approvals, Batches []approvalPick
}

type purpose struct {
	Code   string
	Name   string
	Fields string // the form fields the purpose takes (register.PurposeFields), space-separated
}

var purposeCodes = []string{register.PurposeBorrow, register.PurposeReturn, register.PurposeCirculate, register.PurposeReadingRoom,
	register.PurposeTakeOut, register.PurposeTransfer, register.PurposeArchive, register.PurposeDestroy, register.PurposeStore,
	register.PurposeDispatch, register.PurposeReceive}

func (c *Console) deskIndex(w http.ResponseWriter, r *http.Request, p *page) {
	var d deskIndexData
	desks, err := c.reg.Reads().DeskNames(r.Context())
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	for _, x := range desks {
		d.Desks = append(d.Desks, deskRef{Code: x.Code, Name: x.Name})
	}
	for _, code := range purposeCodes {
		d.Purposes = append(d.Purposes, purpose{code, p.X(register.PurposeText(code)), strings.Join(register.PurposeFields(code), " ")})
		if code == r.URL.Query().Get("purpose") {
			d.Purpose = code
		}
	}
	if d.Open, err = c.reg.Sessions(r.Context(), p.Actor, "open"); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Approvals, err = c.usable(r.Context(), p, register.ApproveTakeOut); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Batches, err = c.batchPicks(r.Context(), p); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "desk_index", p)
}

func (c *Console) deskOpen(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	req := register.OpenRequest{
		Desk: formText(r, "desk"), Purpose: clip(r.PostFormValue("purpose"), 50),
		Cabinet: formText(r, "cabinet"), Place: formText(r, "place"),
		TargetUnit: formText(r, "target_unit"), Note: formText(r, "note"),
		Courier: formText(r, "courier"), Receipt: formText(r, "receipt"), Supervisor: formText(r, "supervisor"),
		Envelope: formText(r, "envelope"), Destination: formText(r, "destination"), Receiver: formText(r, "receiver"),
		Expected: clip(r.PostFormValue("expected"), 50), // datetime-local in the site's zone, read by the register
	}
	if n, err := strconv.ParseInt(r.PostFormValue("approval"), 10, 64); err == nil {
		req.Approval = n
	}
	if n, err := strconv.ParseInt(r.PostFormValue("batch"), 10, 64); err == nil {
		req.Batch = n
	}
	if due := r.PostFormValue("due"); due != "" {
		// The form's datetime-local value is in the site's time zone, which the register reads.
		req.Due = clip(due, 50)
	}
	if _, err := c.reg.OpenSession(r.Context(), p.Actor, req); err != nil {
		c.setFlash(r, p.refusal(err))
		http.Redirect(w, r, "/desk", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/desk/"+url.PathEscape(req.Desk), http.StatusSeeOther)
}

// openSession is the id of the desk's open handover, 0 if none.
func (c *Console) openSession(r *http.Request, desk string) (int64, error) {
	return c.reg.Reads().OpenSessionAt(r.Context(), desk)
}

type deskData struct {
	Desk    string
	Session *register.Session
	Purpose string
	// Confirm is what closing asks for now (the register's rules); the confirmation form shows
	// those fields only, and the live part carries them so they follow the scans.
	Confirm register.Confirmation
	Receipt report.Table // the receipt page: the paper the PDF prints
}

// Needs names the confirmation fields the handover asks for, space-separated, for desk.js.
func (d deskData) Needs() string {
	var n []string
	for _, x := range []struct {
		on   bool
		name string
	}{{d.Confirm.PIN, "pin"}, {d.Confirm.NewPIN, "new_pin"}, {d.Confirm.Second, "second"}, {d.Confirm.Companion, "companion"}} {
		if x.on {
			n = append(n, x.name)
		}
	}
	return strings.Join(n, " ")
}

func (c *Console) deskPage(w http.ResponseWriter, r *http.Request, p *page) {
	desk := clip(r.PathValue("desk"), 100)
	// Only a desk the register knows has a page: its code is shown in the heading, and a path
	// must not put words on a page (/desk/系统升级，请将密码发送至… would show them).
	if _, found, err := c.reg.Reads().DeskName(r.Context(), desk); err != nil {
		c.fail(w, r, p, err)
		return
	} else if !found {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	p.Desk = desk
	c.noteLive(r, p, "desk") // before the session is read
	id, err := c.openSession(r, desk)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := deskData{Desk: desk}
	if id != 0 {
		s, err := c.reg.Session(r.Context(), p.Actor, id)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		d.Session = &s
		d.Purpose = p.X(register.PurposeText(s.Purpose))
		if d.Confirm, err = c.reg.Confirmation(r.Context(), s); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	p.Err = c.takeFlash(r)
	p.Desk = desk
	p.Data = d
	c.render(w, r, http.StatusOK, "desk", p)
}

func (c *Console) deskBack(w http.ResponseWriter, r *http.Request, desk string, p *page, err error) {
	u := "/desk/" + url.PathEscape(desk)
	if err != nil {
		c.setFlash(r, p.refusal(err))
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// deskScan takes a typed code, or a keyboard-wedge scanner's, into the desk's open handover.
func (c *Console) deskScan(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	desk := clip(r.PathValue("desk"), 100)
	id, err := c.openSession(r, desk)
	if err == nil && id == 0 {
		c.renderError(w, r, http.StatusNotFound, "desk.no_session")
		return
	}
	if err == nil {
		_, err = c.reg.Scan(r.Context(), p.Actor, id, clip(r.PostFormValue("code"), 500))
	}
	c.deskBack(w, r, desk, p, err)
}

func (c *Console) deskClose(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	desk := clip(r.PathValue("desk"), 100)
	id, err := c.openSession(r, desk)
	if err == nil && id == 0 {
		c.renderError(w, r, http.StatusNotFound, "desk.no_session")
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	s, err := c.reg.CloseSession(r.Context(), p.Actor, id, register.CloseRequest{
		PIN: clip(r.PostFormValue("pin"), 50), SecondBadge: clip(r.PostFormValue("second_badge"), 100), SecondPIN: clip(r.PostFormValue("second_pin"), 50),
		CompanionBadge: clip(r.PostFormValue("companion_badge"), 100), CompanionPIN: clip(r.PostFormValue("companion_pin"), 50),
		NewPIN: clip(r.PostFormValue("new_pin"), 50)})
	if err != nil {
		c.deskBack(w, r, desk, p, err)
		return
	}
	if s.Purpose == register.PurposeReceive {
		c.raiseTransits(r.Context()) // an envelope back from transit ends its overdue alert
	}
	http.Redirect(w, r, "/receipts/"+strconv.FormatInt(s.ID, 10), http.StatusSeeOther)
}

func (c *Console) deskAbandon(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	desk := clip(r.PathValue("desk"), 100)
	id, err := c.openSession(r, desk)
	if err == nil && id == 0 {
		c.renderError(w, r, http.StatusNotFound, "desk.no_session")
		return
	}
	if err == nil && r.PostFormValue("confirm") != "1" {
		// Asked before anything is done: an abandon cannot be taken back (issue 21 point 7).
		c.setFlash(r, p.T("desk.abandon_unconfirmed"))
		http.Redirect(w, r, "/desk/"+url.PathEscape(desk), http.StatusSeeOther)
		return
	}
	if err == nil {
		// The reason is the register's to require: it refuses (and audits) an abandon without one.
		_, err = c.reg.AbandonSession(r.Context(), p.Actor, id, formText(r, "reason"))
	}
	if err != nil {
		c.deskBack(w, r, desk, p, err)
		return
	}
	http.Redirect(w, r, "/desk", http.StatusSeeOther)
}

func (c *Console) receiptSession(w http.ResponseWriter, r *http.Request, p *page) (register.Session, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return register.Session{}, false
	}
	s, err := c.reg.Session(r.Context(), p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return s, false
	}
	return s, true
}

func (c *Console) receiptPage(w http.ResponseWriter, r *http.Request, p *page) {
	s, ok := c.receiptSession(w, r, p)
	if !ok {
		return
	}
	// The page shows the paper the PDF prints, from the same table, so the two never differ
	// (issue 21 point 8: the page lacked the level mark, the due time and the desk).
	p.Data = deskData{Desk: s.Desk, Session: &s, Purpose: p.X(register.PurposeText(s.Purpose)), Receipt: report.Receipt(s, c.reg.Zone())}
	c.render(w, r, http.StatusOK, "receipt", p)
}

func (c *Console) receiptPDF(w http.ResponseWriter, r *http.Request, p *page) {
	s, ok := c.receiptSession(w, r, p)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="receipt-`+strconv.FormatInt(s.ID, 10)+`.pdf"`)
	if err := report.PDF(w, report.Receipt(s, c.reg.Zone()), c.opt.FontPath); err != nil {
		c.log.Error("console: receipt pdf", "session", s.ID, "err", err)
	}
}
