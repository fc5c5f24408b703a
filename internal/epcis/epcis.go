// Package epcis turns the register's custody records into a GS1 EPCIS 2.0 JSON-LD
// EPCISDocument (issue 19 point 4): one ObjectEvent per custody step, per registration and per
// fixed check finding, each with the copy's GDTI pure-identity URI, CBV bizStep and disposition,
// the cabinet as readPoint and its room as bizLocation, the event time in the site zone with its
// offset, and an eventID that is the same every time the same fact is exported.
//
// Contract: the document is content-free (DESIGN rule 11) — the records it is given carry no
// title, document number or person, and it adds none; the level appears (as the extension
// property custody:level) only when the records carry it, which the register allows on an
// explicit, audited request. The package runs no SQL: register.CustodyRecords reads and audits.
// The mapping of each step is the table in docs/epcis.md, kept in stepMap and findingMap here.
package epcis

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// Context is the JSON-LD context of every document: GS1's EPCIS 2.0 context and the custody
// namespace of the extension property custody:level.
const (
	GS1Context      = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
	CustodyNS       = "https://custodyhq.github.io/custody/epcis/ns#"
	SchemaVersion   = "2.0"
	eventIDNamspace = "urn:custody:epcis:event:"
)

// Options places the office: its GLN (optional, 13 digits) with the company prefix that splits it
// into an SGLN, or the base URI of its own under which cabinets and rooms are named otherwise.
type Options struct {
	GLN           string
	CompanyPrefix string
	BaseURI       string // e.g. the console's URL; default "https://custody.invalid"
	Zone          sitetime.Zone
	Now           time.Time // the document's creationDate
}

// Document is an EPCISDocument as JSON-LD.
type Document struct {
	Context       []any  `json:"@context"`
	Type          string `json:"type"`
	SchemaVersion string `json:"schemaVersion"`
	CreationDate  string `json:"creationDate"`
	Body          Body   `json:"epcisBody"`
}

// Body holds the events.
type Body struct {
	EventList []Event `json:"eventList"`
}

// Event is one ObjectEvent.
type Event struct {
	Type                string    `json:"type"`
	EventTime           string    `json:"eventTime"`
	EventTimeZoneOffset string    `json:"eventTimeZoneOffset"`
	EventID             string    `json:"eventID"`
	EPCList             []string  `json:"epcList"`
	Action              string    `json:"action"`
	BizStep             string    `json:"bizStep"`
	Disposition         string    `json:"disposition"`
	ReadPoint           *Location `json:"readPoint,omitempty"`
	BizLocation         *Location `json:"bizLocation,omitempty"`
	Level               string    `json:"custody:level,omitempty"`
}

// Location is a readPoint or bizLocation.
type Location struct {
	ID string `json:"id"`
}

// mapping is one row of the table in docs/epcis.md.
type mapping struct{ action, bizStep, disposition string }

// stepMap maps a custody action to its EPCIS meaning. Loans and taking out are departing/
// arriving with the copy in progress with a person; a courier's journey is in_transit; a copy
// that leaves the register for good (destroyed, transferred, archived, released) is DELETE.
var stepMap = map[custody.Action]mapping{
	custody.Store:             {"OBSERVE", "storing", "available"},
	custody.CheckOut:          {"OBSERVE", "departing", "in_progress"},
	custody.Return:            {"OBSERVE", "arriving", "available"},
	custody.TakeOut:           {"OBSERVE", "departing", "in_progress"},
	custody.Dispatch:          {"OBSERVE", "departing", "in_transit"},
	custody.Receive:           {"OBSERVE", "receiving", "available"},
	custody.TransferOut:       {"DELETE", "departing", "inactive"},
	custody.ArchiveTransferTo: {"DELETE", "departing", "inactive"},
	custody.ListDestruction:   {"OBSERVE", "holding", "expired"},
	custody.Unlist:            {"OBSERVE", "storing", "available"},
	custody.Destroy:           {"OBSERVE", "destroying", "in_transit"},
	custody.CertifyDestroyed:  {"DELETE", "destroying", "destroyed"},
	custody.ReportLost:        {"OBSERVE", "inspecting", "unknown"},
	custody.Recover:           {"OBSERVE", "storing", "available"},
	custody.Release:           {"DELETE", "decommissioning", "inactive"},
}

// registeredMap is a copy's entry into the register.
var registeredMap = mapping{"ADD", "commissioning", "active"}

// findingMap maps a check outcome: found as the register says, or not.
var findingMap = map[string]mapping{
	register.CheckFound:       {"OBSERVE", "inspecting", "conformant"},
	register.CheckScanned:     {"OBSERVE", "inspecting", "conformant"},
	register.CheckConfirmed:   {"OBSERVE", "inspecting", "conformant"},
	register.CheckElsewhere:   {"OBSERVE", "inspecting", "non_conformant"},
	register.CheckNotFound:    {"OBSERVE", "inspecting", "non_conformant"},
	register.CheckUnconfirmed: {"OBSERVE", "inspecting", "non_conformant"},
	register.CheckLost:        {"OBSERVE", "inspecting", "unknown"},
}

// Map gives the (action, bizStep, disposition) of a record, and false for a record this
// version cannot place (a step added to custody.Actions without a row here: the tests fail).
func Map(r register.CustodyRecord) (action, bizStep, disposition string, ok bool) {
	var m mapping
	switch r.Kind {
	case register.RecordRegistered:
		m, ok = registeredMap, true
	case register.RecordStep:
		m, ok = stepMap[custody.Action(r.Action)]
		if custody.Action(r.Action) == custody.TransferOut && custody.State(r.From) == custody.InTransit {
			// The other unit's receipt for a courier's envelope: the copy arrived there and
			// leaves this register.
			m = mapping{"DELETE", "arriving", "inactive"}
		}
	case register.RecordFinding:
		m, ok = findingMap[r.Outcome]
	}
	return m.action, m.bizStep, m.disposition, ok
}

// Build makes the document. A record without an EPC (the office configured no company prefix
// and the copy has no tag) or of an unknown kind is an error: an export that silently drops
// custody facts would read as a complete history.
func Build(recs []register.CustodyRecord, o Options) (Document, error) {
	zone := o.Zone.Location()
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	ctx := []any{GS1Context}
	for _, r := range recs {
		if r.Level != "" {
			ctx = append(ctx, map[string]string{"custody": CustodyNS})
			break
		}
	}
	d := Document{Context: ctx, Type: "EPCISDocument", SchemaVersion: SchemaVersion,
		CreationDate: now.In(zone).Format(time.RFC3339), Body: Body{EventList: []Event{}}}
	installation := o.GLN
	if installation == "" {
		installation = o.CompanyPrefix + "|" + o.base()
	}
	for _, r := range recs {
		act, step, disp, ok := Map(r)
		if !ok {
			return Document{}, &Error{Text: custody.Text{
				ZH: fmt.Sprintf("记录 %s（动作 %q，结果 %q）没有对应的 EPCIS 事件映射", r.Key, r.Action, r.Outcome),
				EN: fmt.Sprintf("record %s: no EPCIS mapping for action %q outcome %q", r.Key, r.Action, r.Outcome)}}
		}
		if r.EPC == "" {
			return Document{}, &Error{Text: custody.Text{
				ZH: fmt.Sprintf("文件份 %d 没有 EPC 标识：请先配置 [identity] company_prefix", r.Item),
				EN: fmt.Sprintf("item %d has no EPC: configure [identity] company_prefix", r.Item)}}
		}
		t := r.At.In(zone)
		e := Event{Type: "ObjectEvent", EventTime: t.Format(time.RFC3339Nano), EventTimeZoneOffset: t.Format("-07:00"),
			EventID: EventID(installation, r.Key), EPCList: []string{r.EPC}, Action: act, BizStep: step, Disposition: disp,
			Level: string(r.Level)}
		if r.Cabinet != "" {
			e.ReadPoint = &Location{ID: o.location("cabinet", r.Cabinet)}
		}
		if r.Room != "" {
			e.BizLocation = &Location{ID: o.location("room", r.Room)}
		} else if r.Cabinet != "" {
			e.BizLocation = &Location{ID: o.location("cabinet", r.Cabinet)}
		}
		d.Body.EventList = append(d.Body.EventList, e)
	}
	return d, nil
}

// Error is why a document cannot be built, in the operator's words.
type Error struct{ Text custody.Text }

func (e *Error) Error() string { return "epcis: " + e.Text.EN }

// Marshal is Build followed by JSON encoding, indented as people read exports.
func Marshal(recs []register.CustodyRecord, o Options) ([]byte, error) {
	d, err := Build(recs, o)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(d, "", "  ")
}

// EventID is a name-based (version 5, SHA-1) UUID of the installation and the record's key, as
// urn:uuid: — the same fact exported twice has the same id, and two offices' ids differ. It is
// not the EPCIS 2.0 event hash (ni:///sha-256): that hash covers the event's canonical content,
// which changes when, for instance, the office later configures a GLN; the register's record is
// the identity that stays.
func EventID(installation, key string) string {
	h := sha1.New()
	h.Write(nsURL[:])
	h.Write([]byte(eventIDNamspace + installation + "|" + key))
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// nsURL is RFC 4122's URL namespace (6ba7b811-9dad-11d1-80b4-00c04fd430c8).
var nsURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

func (o Options) base() string {
	if o.BaseURI == "" {
		return "https://custody.invalid"
	}
	return strings.TrimRight(o.BaseURI, "/")
}

// location names a cabinet or room: an SGLN with the code as extension when the office has a
// GLN (urn:epc:id:sgln:<company prefix>.<location reference>.<extension>), else a URI under the
// office's base. Codes are escaped as TDS asks of URI components.
func (o Options) location(kind, code string) string {
	if sgln, ok := SGLN(o.GLN, o.CompanyPrefix, kind+"-"+code); ok {
		return sgln
	}
	return o.base() + "/epcis/" + kind + "/" + url.PathEscape(code)
}

// SGLN gives the SGLN pure-identity URI of a 13-digit GLN split after the company prefix, with
// ext as extension; false when the GLN is not 13 digits starting with the prefix.
func SGLN(gln, prefix, ext string) (string, bool) {
	if len(gln) != 13 || prefix == "" || !strings.HasPrefix(gln, prefix) || len(prefix) > 12 {
		return "", false
	}
	for _, c := range gln {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	var b strings.Builder
	for _, c := range []byte(ext) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return "urn:epc:id:sgln:" + prefix + "." + gln[len(prefix):12] + "." + b.String(), true
}

// ValidGLN reports whether gln is 13 digits with a correct GS1 check digit.
func ValidGLN(gln string) bool {
	if len(gln) != 13 {
		return false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		c := gln[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(c-'0') * w
	}
	return gln[12] >= '0' && gln[12] <= '9' && int(gln[12]-'0') == (10-sum%10)%10
}
