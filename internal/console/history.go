package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// Histories and holdings (issue 21 point 5): every copy (份) and every document (文件) has a page
// with each move — who, when, the signatures that closed its handover, the approval it used —
// and what the cabinets read of it; every person has a page of what they hold now. Item ids,
// document numbers, people and approval numbers link here wherever the console shows them.
//
// The register says what each person may read: the copy's and the document's pages are the
// register's readers' (custodians and leaders, as the register page), and a title shows only
// where the register gives it (Documents redacts the rest); a person's holdings page is open to
// whom the register's clearance list is (a reader sees only their own).

func (c *Console) historyRoutes() {
	c.handle("GET /items/{id}", siteRoles, c.itemPage)
	c.handle("GET /documents/{id}", siteRoles, c.documentPage)
	c.handle("GET /people/{username}", anyone, c.personPage)
	c.handle("POST /items/{id}/loss", anyone, c.reportLoss) // the register decides who may report
}

// reportLoss reports the copy lost from its page (rule 9: at once), opening a loss case; the
// person lands on the case. A refusal comes back on the copy's page.
func (c *Console) reportLoss(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	lc, err := c.reg.ReportLoss(r.Context(), p.Actor, []int64{id}, formText(r, "note"))
	if err != nil {
		c.setFlash(r, p.refusal(err))
		back := "/items/" + strconv.FormatInt(id, 10)
		if !p.Can("site") {
			back = "/"
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/losses/"+strconv.FormatInt(lc.ID, 10), http.StatusSeeOther)
}

// move is one step of a copy's chain of custody with what closed it.
type move struct {
	register.Event
	Item       register.Item // the copy (on a document's page, which lists every copy's steps)
	Word       custody.Text  // the step in words, or
	Key        string        // its catalogue key, for a step the lifecycle does not name
	Approval   int64
	Batch      int64
	Signatures []register.Signature
}

// inventorySighting is one complete inventory of a cabinet and whether it read the copy.
type inventorySighting struct {
	At      time.Time
	Cabinet string
	Read    bool
	Antenna int
}

type itemData struct {
	Item      register.Item
	Doc       register.Document
	Moves     []move
	Seen      sighting
	Sightings []inventorySighting
	Approvals []register.Approval
}

func (c *Console) itemPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ctx := r.Context()
	it, err := c.reg.Item(ctx, p.Actor, id)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := itemData{Item: it}
	if d.Doc, err = c.document(ctx, p, it.DocumentID); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Moves, err = c.moves(ctx, p, []register.Item{it}); err != nil {
		c.fail(w, r, p, err)
		return
	}
	ss, err := c.sightings(ctx)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Seen = ss.Of(it.ID, it.State, it.Cabinet)
	if d.Sightings, err = c.inventorySightings(ctx, it); err != nil {
		c.fail(w, r, p, err)
		return
	}
	aps, err := c.reg.Approvals(ctx, p.Actor, false)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	for _, ap := range aps {
		if slices.Contains(ap.Items, it.ID) {
			d.Approvals = append(d.Approvals, ap)
		}
	}
	p.Titles = d.Doc.TitleVisible
	p.Err = c.takeFlash(r)
	p.Data = d
	c.render(w, r, http.StatusOK, "item", p)
}

// document is the document as the register shows it to the person (its title only if the
// register gives it).
func (c *Console) document(ctx context.Context, p *page, id int64) (register.Document, error) {
	docs, err := c.reg.Documents(ctx, p.Actor)
	if err != nil {
		return register.Document{}, err
	}
	for _, d := range docs {
		if d.ID == id {
			return d, nil
		}
	}
	return register.Document{}, &register.Error{Code: register.CodeNotFound, Text: custody.Text{ZH: "文件不存在", EN: "no such document"}}
}

// moves reads the copies' chains of custody, oldest first, each step with its handover's
// signatures and approval (one read per handover, however many copies it moved).
func (c *Console) moves(ctx context.Context, p *page, items []register.Item) ([]move, error) {
	sessions := map[int64]register.Session{}
	var out []move
	for _, it := range items {
		evs, err := c.reg.History(ctx, p.Actor, it.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			m := move{Event: e, Item: it, Word: custody.Action(e.Action).Text()}
			if m.Word.ZH == "" {
				// A step outside the lifecycle's actions: the register's registration of a
				// reproduction, whose note is the register's own (in English), not a person's.
				m.Key, m.Note = "history.action_other", ""
				if e.Action == "reproduce" {
					m.Key = "history.action_reproduce"
				}
			}
			var batch int64
			if custody.Action(e.Action) == custody.ListDestruction {
				// The register notes the batch a copy was listed in as "batch N": shown as the
				// batch's link, not as the note's words.
				if _, err := fmt.Sscanf(e.Note, "batch %d", &batch); err == nil {
					m.Batch, m.Note = batch, ""
				}
			}
			if e.Session != 0 {
				s, ok := sessions[e.Session]
				if !ok {
					if s, err = c.reg.Session(ctx, p.Actor, e.Session); err != nil {
						return nil, err
					}
					sessions[e.Session] = s
				}
				m.Approval, m.Signatures = s.Approval, s.Signatures
				if s.Batch != 0 {
					m.Batch = s.Batch
				}
			}
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b move) int { return strings.Compare(a.At, b.At) })
	return out, nil
}

// sightingsKept bounds a copy's list of inventories; sightingsSince is how far back it looks.
const (
	sightingsKept  = 30
	sightingsSince = 7 * 24 * time.Hour
)

// inventorySightings are the complete inventories of the last week that read the copy's tag,
// and those of its cabinet that did not while the register had it there, newest first.
func (c *Console) inventorySightings(ctx context.Context, it register.Item) ([]inventorySighting, error) {
	if it.EPC == "" {
		return nil, nil
	}
	epc := []byte(strings.ToUpper(it.EPC))
	var out []inventorySighting
	err := c.st.RecentObservations(ctx, time.Now().Add(-sightingsSince), wire.KindInventory, false, func(o store.Observation) error {
		mine := it.State == custody.InCabinet && bytes.Contains(o.Body, []byte(`"cabinet":"`+it.Cabinet+`"`))
		if !mine && !bytes.Contains(bytes.ToUpper(o.Body), epc) {
			return nil // most reports are of other cabinets and other tags: not decoded
		}
		var inv wire.Inventory
		if err := json.Unmarshal(o.Body, &inv); err != nil || inv.Complete == nil || !*inv.Complete {
			return nil
		}
		at, err := time.Parse(time.RFC3339Nano, inv.Ended)
		if err != nil {
			return nil
		}
		x := inventorySighting{At: at, Cabinet: inv.Cabinet}
		for _, t := range inv.Tags {
			if strings.EqualFold(t.EPC, it.EPC) {
				x.Read, x.Antenna = true, t.Antenna
				break
			}
		}
		if x.Read || inv.Cabinet == it.Cabinet {
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b inventorySighting) int { return b.At.Compare(a.At) })
	if len(out) > sightingsKept {
		out = out[:sightingsKept]
	}
	return out, nil
}

type documentData struct {
	Doc   register.Document
	Items []register.Item
	Moves []move
}

func (c *Console) documentPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ctx := r.Context()
	d := documentData{}
	if d.Doc, err = c.document(ctx, p, id); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Items, err = c.reg.Items(ctx, p.Actor, register.ItemFilter{Document: d.Doc.Number}); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Moves, err = c.moves(ctx, p, d.Items); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Titles = d.Doc.TitleVisible
	p.Data = d
	c.render(w, r, http.StatusOK, "document", p)
}

type personData struct {
	Clearance register.Clearance
	Overdue   int
}

// personPage is what a person holds now, with due times (overdue marked), and the approvals
// still open for them. The register decides who may read it (a reader: their own).
func (c *Console) personPage(w http.ResponseWriter, r *http.Request, p *page) {
	user := clip(r.PathValue("username"), 100)
	cl, err := c.reg.Clearance(r.Context(), p.Actor, user)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d := personData{Clearance: cl}
	for _, it := range cl.Holdings {
		if p.Overdue(it.Due) {
			d.Overdue++
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "person", p)
}

// Overdue reports whether a due time (as the register stores it) has passed.
func (p *page) Overdue(due string) bool {
	t, err := store.ParseTime(due)
	return err == nil && time.Now().After(t)
}
