package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Approvals in the console (issue 21 point 4): a request is filed from the desk or from a copy's
// page, a leader decides it from its page or, for a destruction batch, from the batches page,
// and the desk picks an approval from those that apply instead of taking a typed number.
//
// The register decides everything: who may request, who decides (the approval policy and the
// unit tree, shown on the page as the register computed it), that nobody decides what concerns
// themselves, that the 三员 decide nothing. The console offers the forms to everyone signed in
// and lets the register refuse: a refusal is shown in the person's words, writes nothing and is
// audited (p.refusal).

func (c *Console) approvalRoutes() {
	c.handle("GET /approvals", anyone, c.approvalsPage)
	c.handle("GET /approvals/new", anyone, c.approvalForm)
	c.handle("POST /approvals", anyone, c.requestApproval)
	c.handle("GET /approvals/{id}", anyone, c.approvalPage)
	c.handle("POST /approvals/{id}/decide", anyone, c.decideApproval)
}

// approvalRoles find the approvals in the navigation: those who request and decide them. Others
// (the 三员) may open the pages; the register says what they see and refuses what they may not do.
var approvalRoles = []custody.Role{custody.Custodian, custody.Leader, custody.Holder}

// requestKinds are the approvals a person files on their own; a destruction approval is filed
// by listing a batch (the batches page).
var requestKinds = []string{register.ApproveTakeOut, register.ApproveReproduce, register.ApproveScope}

type approvalsData struct {
	Pending []register.Approval
	Others  []register.Approval
	All     bool
}

func (c *Console) approvalsPage(w http.ResponseWriter, r *http.Request, p *page) {
	all := r.URL.Query().Get("all") == "1"
	aps, err := c.reg.Approvals(r.Context(), p.Actor, !all)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := approvalsData{All: all}
	for _, ap := range aps {
		if ap.State == "pending" && !ap.Expired {
			d.Pending = append(d.Pending, ap)
		} else {
			d.Others = append(d.Others, ap)
		}
	}
	c.flashInto(r, p)
	p.Data = d
	c.render(w, r, http.StatusOK, "approvals", p)
}

type approvalData struct {
	Approval register.Approval
	Items    []register.Item
	Batch    int64 // the destruction batch the approval decides, 0 if none
}

func (c *Console) approvalPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ap, err := c.reg.Approval(r.Context(), p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := approvalData{Approval: ap}
	for _, it := range ap.Items {
		x, err := c.reg.Item(r.Context(), p.Actor, it)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		d.Items = append(d.Items, x)
	}
	if ap.Kind == register.ApproveDestruction && p.Can("site") {
		bs, err := c.reg.Batches(r.Context(), p.Actor)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		for _, b := range bs {
			if b.Approval == ap.ID {
				d.Batch = b.ID
			}
		}
	}
	c.flashInto(r, p)
	p.Data = d
	c.render(w, r, http.StatusOK, "approval", p)
}

// decideApproval approves or rejects; back (a path on this console) is where the person
// returns: the approval's page, or the batches page the decision was made from.
func (c *Console) decideApproval(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	back := "/approvals/" + strconv.FormatInt(id, 10)
	if b := localPath(r.PostFormValue("back")); b == "/batches" {
		back = b
	}
	approve := r.PostFormValue("decision") == "approve"
	_, err = c.reg.DecideApproval(r.Context(), p.Actor, id, register.DecideRequest{Approve: approve, Note: formText(r, "note"), Consent: formText(r, "consent")})
	switch {
	case err != nil:
		c.setFlash(r, p.refusal(err))
		if _, rerr := c.reg.Approval(r.Context(), p.Actor, id); rerr != nil && back != "/batches" {
			back = "/approvals" // an approval the person may not read: the refusal shows on the list
		}
	case approve:
		c.setFlash(r, okFlash+"approval.done_approved")
	default:
		c.setFlash(r, okFlash+"approval.done_rejected")
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

type requestFormData struct {
	Kind      string
	Kinds     []string
	Items     []register.Item // the copies the request names (from a copy's page)
	Choices   []register.Item // copies in a cabinet to pick from, when none was named
	People    []register.Person
	Units     []register.Unit
	Documents []register.Document
	Document  string
}

// approvalForm is the request form. A copy's page links here with its id (item=…); the desk
// links here without one, and the form lists the copies in the cabinets to tick, so nobody
// types an id.
func (c *Console) approvalForm(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := requestFormData{Kind: q.Get("kind"), Kinds: requestKinds}
	if !slices.Contains(requestKinds, d.Kind) {
		d.Kind = register.ApproveTakeOut
	}
	ctx := r.Context()
	for _, s := range q["item"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		it, err := c.reg.Item(ctx, p.Actor, id)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		d.Items = append(d.Items, it)
	}
	if err := c.requestChoices(ctx, p, &d, q.Get("document")); err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.flashInto(r, p)
	p.Data = d
	c.render(w, r, http.StatusOK, "approvals_new", p)
}

// requestChoices fills what the form offers to pick: copies, people, units, documents. Only a
// custodian files for others; a reader asks for their own take-out (the register says so).
func (c *Console) requestChoices(ctx context.Context, p *page, d *requestFormData, doc string) error {
	if !p.Actor.Has(custody.Custodian, custody.Leader, custody.Holder) {
		return nil
	}
	var err error
	if len(d.Items) == 0 && d.Kind != register.ApproveScope && p.Actor.Has(custody.Custodian) {
		if d.Choices, err = c.reg.Items(ctx, p.Actor, register.ItemFilter{State: custody.InCabinet}); err != nil {
			return err
		}
	}
	if p.Actor.Has(custody.Custodian) {
		people, err := c.reg.People(ctx, p.Actor)
		if err != nil {
			return err
		}
		for _, x := range people {
			if x.Active && slices.ContainsFunc(x.Roles, func(r custody.Role) bool {
				return r == custody.Holder || r == custody.Leader || r == custody.Custodian
			}) {
				d.People = append(d.People, x)
			}
		}
		if d.Kind == register.ApproveScope {
			if d.Units, err = c.reg.Units(ctx, p.Actor); err != nil {
				return err
			}
			if d.Documents, err = c.reg.Documents(ctx, p.Actor); err != nil {
				return err
			}
			if id, err := strconv.ParseInt(doc, 10, 64); err == nil {
				for _, x := range d.Documents {
					if x.ID == id {
						d.Document = x.Number
					}
				}
			}
		}
	}
	return nil
}

func (c *Console) requestApproval(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, "error.not_found")
		return
	}
	kind := clip(r.PostFormValue("kind"), 50)
	req := register.ApprovalRequest{Kind: kind, Reason: formText(r, "reason"),
		For: clip(r.PostFormValue("for"), 100), With: clip(r.PostFormValue("with"), 100),
		Document: clip(r.PostFormValue("document"), 200),
		Due:      clip(r.PostFormValue("due"), 50), Expires: clip(r.PostFormValue("expires"), 50)}
	for _, s := range r.PostForm["item"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			req.Items = append(req.Items, id)
		}
	}
	if n, err := strconv.Atoi(r.PostFormValue("copies")); err == nil {
		req.Copies = n
	}
	for _, u := range r.PostForm["scope_unit"] {
		req.ScopeUnits = append(req.ScopeUnits, clip(u, 100))
	}
	for _, u := range r.PostForm["scope_person"] {
		req.ScopePeople = append(req.ScopePeople, clip(u, 100))
	}
	ap, err := c.reg.RequestApproval(r.Context(), p.Actor, req)
	if err != nil {
		c.setFlash(r, p.refusal(err))
		v := url.Values{"kind": {kind}}
		for _, id := range req.Items {
			v.Add("item", strconv.FormatInt(id, 10))
		}
		http.Redirect(w, r, "/approvals/new?"+v.Encode(), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/approvals/"+strconv.FormatInt(ap.ID, 10), http.StatusSeeOther)
}

// ApprovalState is an approval's state in words (待审批, 已批准, 已驳回, 已使用, 已过期).
func (p *page) ApprovalState(ap register.Approval) string {
	if ap.Expired && (ap.State == "pending" || ap.State == "approved") {
		return p.T("approval.state_expired")
	}
	return p.X(register.ApprovalStateText(ap.State))
}

// ApprovalKind is an approval's kind in words.
func (p *page) ApprovalKind(kind string) string { return p.X(register.ApprovalKindText(kind)) }

// approvalPick is one choice of the desk's approval picker.
type approvalPick struct {
	ID    int64
	Label string
}

// usable lists the approvals of kind the desk could open a handover with, each named by what
// people recognise: for whom, how many copies, when due.
func (c *Console) usable(ctx context.Context, p *page, kind string) ([]approvalPick, error) {
	aps, err := c.reg.UsableApprovals(ctx, p.Actor, kind)
	if err != nil {
		return nil, err
	}
	out := make([]approvalPick, 0, len(aps))
	for _, ap := range aps {
		parts := []string{p.Tf("approval.number", ap.ID)}
		if ap.For != "" {
			parts = append(parts, c.reg.PersonName(ctx, ap.For))
		}
		if len(ap.Items) > 0 {
			parts = append(parts, p.Tf("approval.copies_n", len(ap.Items)))
		}
		if ap.Due != "" {
			parts = append(parts, p.Tf("approval.due_at", p.Time(ap.Due)))
		}
		out = append(out, approvalPick{ID: ap.ID, Label: strings.Join(parts, " · ")})
	}
	return out, nil
}

// batchPicks are the approved destruction batches a 送销 handover can take.
func (c *Console) batchPicks(ctx context.Context, p *page) ([]approvalPick, error) {
	bs, err := c.reg.Batches(ctx, p.Actor)
	if err != nil {
		return nil, err
	}
	var out []approvalPick
	for _, b := range bs {
		if b.State == "approved" {
			out = append(out, approvalPick{ID: b.ID, Label: p.Tf("batches.pick", b.ID, len(b.Items), b.Reason)})
		}
	}
	return out, nil
}
