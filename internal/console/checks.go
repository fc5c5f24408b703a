package console

import (
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/report"
)

// Periodic checks (清查, issue 14 point 7): the list of checks and the form that opens one; one
// check with every copy's outcome and the forms to scan, confirm for a holder at the desk, sign
// and close; the signed record as stored. A holder sees the copies an open check waits for them
// to confirm, and confirms them as themselves. The register decides who may do each step and
// audits it; a refusal comes back on the page (and is audited by the page wrapper).

// checkRoles may open the checks page; the register narrows what each sees.
var checkRoles = []custody.Role{custody.Custodian, custody.Leader, custody.SecAdmin, custody.Holder}

func (c *Console) checkRoutes() {
	c.handle("GET /checks", checkRoles, c.checksPage)
	c.handle("POST /checks", deskRoles, c.openCheck)
	c.handle("GET /checks/{id}", checkRoles, c.checkPage)
	c.handle("POST /checks/{id}/scan", deskRoles, c.checkStep("scan"))
	c.handle("POST /checks/{id}/inventory", deskRoles, c.checkStep("inventory"))
	c.handle("POST /checks/{id}/confirm", checkRoles, c.checkStep("confirm"))
	c.handle("POST /checks/{id}/sign", siteRoles, c.checkStep("sign"))
	c.handle("POST /checks/{id}/close", deskRoles, c.checkStep("close"))
	c.handle("GET /checks/{id}/pdf", checkRoles, c.checkPDF)
}

type checksData struct {
	Checks   []register.Check
	Units    []register.Unit
	Awaiting []register.HolderCheckItem
}

func (c *Console) checksPage(w http.ResponseWriter, r *http.Request, p *page) {
	var d checksData
	var err error
	if p.Actor.Has(custody.Custodian, custody.Leader, custody.SecAdmin) {
		if d.Checks, err = c.reg.Checks(r.Context(), p.Actor, ""); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	if p.Actor.Has(custody.Custodian) {
		if d.Units, err = c.reg.Units(r.Context(), p.Actor); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	if d.Awaiting, err = c.reg.AwaitingMe(r.Context(), p.Actor); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "checks", p)
}

func (c *Console) openCheck(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ch, err := c.reg.OpenCheck(r.Context(), p.Actor, register.OpenCheckRequest{Unit: clip(r.PostFormValue("unit"), 100)})
	if err != nil {
		c.setFlash(r, p.refusal(err))
		http.Redirect(w, r, "/checks", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/checks/"+strconv.FormatInt(ch.ID, 10), http.StatusSeeOther)
}

func checkID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func (c *Console) checkPage(w http.ResponseWriter, r *http.Request, p *page) {
	ch, err := c.reg.Check(r.Context(), p.Actor, checkID(r))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Err = c.takeFlash(r)
	p.Data = ch
	c.render(w, r, http.StatusOK, "check", p)
}

// checkStep posts one step of a check to the register and goes back to the check's page (a
// holder confirming goes back to the list, the only check page they have).
func (c *Console) checkStep(step string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		id := checkID(r)
		var err error
		switch step {
		case "inventory":
			_, err = c.reg.CheckInventory(r.Context(), p.Actor, id, c.opt.Inventory)
		case "scan":
			_, err = c.reg.CheckScan(r.Context(), p.Actor, id, clip(r.PostFormValue("data"), 200))
		case "confirm":
			item, _ := strconv.ParseInt(r.PostFormValue("item"), 10, 64)
			_, err = c.reg.ConfirmHolding(r.Context(), p.Actor, id, register.ConfirmRequest{Item: item,
				Badge: clip(r.PostFormValue("badge"), 100), PIN: clip(r.PostFormValue("pin"), 20), Note: r.PostFormValue("note")})
		case "sign":
			_, err = c.reg.SignCheck(r.Context(), p.Actor, id, register.SignRequest{PIN: clip(r.PostFormValue("pin"), 20), Note: r.PostFormValue("note")})
		case "close":
			_, err = c.reg.CloseCheck(r.Context(), p.Actor, id, report.CheckPDF(c.reg.Zone(), c.opt.FontPath))
		}
		if err != nil {
			c.setFlash(r, p.refusal(err))
		}
		back := "/checks/" + strconv.FormatInt(id, 10)
		if !p.Actor.Has(custody.Custodian, custody.Leader, custody.SecAdmin) {
			back = "/checks"
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// checkPDF serves the signed record as stored when the check closed.
func (c *Console) checkPDF(w http.ResponseWriter, r *http.Request, p *page) {
	id := checkID(r)
	pdf, err := c.reg.CheckReport(r.Context(), p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="check-`+strconv.FormatInt(id, 10)+`.pdf"`)
	w.Write(pdf)
}

// Outcome names a check outcome in the page's language.
func (p *page) Outcome(o string) string { return register.CheckOutcomeText(o).In(p.Lang) }
