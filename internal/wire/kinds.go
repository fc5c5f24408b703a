package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Observation kinds (agent → custodyd, mqtt.md §5).
const (
	KindInventory = "inventory"
	KindDoor      = "door"
	KindScan      = "scan"
	KindPresence  = "presence"
	KindFault     = "fault"
	KindCmdResult = "cmd_result"
)

// Command kinds (custodyd → agent, mqtt.md §6). KindInventory is also a command.
const (
	KindUnlock    = "unlock"
	KindLock      = "lock"
	KindResync    = "resync"
	KindEncodeTag = "encode_tag"
)

// ObsKinds and CmdKinds list the kinds of each direction, in the order mqtt.md gives them.
var (
	ObsKinds = []string{KindInventory, KindDoor, KindScan, KindPresence, KindFault, KindCmdResult}
	CmdKinds = []string{KindInventory, KindUnlock, KindLock, KindResync, KindEncodeTag}
)

// KnownKind reports whether kind is defined for dir.
func KnownKind(dir Dir, kind string) bool {
	list := ObsKinds
	if dir == DirCmd {
		list = CmdKinds
	}
	for _, k := range list {
		if k == kind {
			return true
		}
	}
	return false
}

// Body is the decoded body of one kind.
type Body interface {
	validate() error
}

// Inventory is a finished inventory round set of one cabinet. Complete is false when a round was
// interrupted or an antenna failed: such a report never proves an item missing.
type Inventory struct {
	Cabinet  string          `json:"cabinet"`
	Round    string          `json:"round"`
	Started  string          `json:"started_at"`
	Ended    string          `json:"ended_at"`
	Rounds   int             `json:"rounds"`
	Antennas []AntennaHealth `json:"antennas"`
	Complete *bool           `json:"complete"`
	Tags     []TagRead       `json:"tags"`
}

// AntennaHealth is one antenna's state during the rounds.
type AntennaHealth struct {
	Antenna int    `json:"antenna"`
	OK      *bool  `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// TagRead is one tag seen during the rounds.
type TagRead struct {
	EPC     string  `json:"epc"`
	Antenna int     `json:"antenna"`
	RSSI    float64 `json:"rssi"`
	Reads   int     `json:"reads"`
	// Passes is how many of the round's passes read the tag (1.2; absent from older agents,
	// which leaves custodyd to take min(reads, rounds)). A tag read on two antennas or twice in
	// one pass has more reads than passes: the miss estimate needs the passes (issue 22).
	Passes    int    `json:"passes,omitempty"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
}

// Door is a cabinet door opening or closing; Badge is who opened it, when the controller knows.
type Door struct {
	Cabinet string `json:"cabinet"`
	State   string `json:"state"` // "open" or "closed"
	Badge   string `json:"badge,omitempty"`
}

// SymbologyUnreadable marks a scan the scanner sent but the agent could not read (garbled,
// truncated, a bad AIM identifier): its Data is the cause's short code (scanner.Cause), and
// custodyd shows the desk a "scan again" instead of nothing. It never matches a label.
const SymbologyUnreadable = "unreadable"

// Scan is one barcode read at a desk.
type Scan struct {
	Desk      string `json:"desk"`
	Scanner   string `json:"scanner"`
	Symbology string `json:"symbology"`
	Data      string `json:"data"`
}

// Presence lists tags that arrived in or left a cabinet between two rounds.
type Presence struct {
	Cabinet string   `json:"cabinet"`
	Round   string   `json:"round"`
	Arrived []string `json:"arrived"`
	Left    []string `json:"left"`
}

// Fault is a device fault raised or cleared.
type Fault struct {
	Device  string `json:"device"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Cleared *bool  `json:"cleared"`
}

// CmdResult answers one command, naming it by its envelope id. Oldest, in the answer to a resync,
// is the lowest seq the agent still holds (a gap below it can no longer be filled). Tag answers an
// encode_tag command (contract 1.1).
type CmdResult struct {
	Cmd    string     `json:"cmd"`
	Kind   string     `json:"kind"`
	OK     *bool      `json:"ok"`
	Error  string     `json:"error,omitempty"`
	Oldest uint64     `json:"oldest,omitempty"`
	Tag    *TagResult `json:"tag,omitempty"`
}

// Outcomes of an encode_tag command.
const (
	TagWritten = "written" // the EPC was written and read back
	TagAlready = "already" // the tag in the field already carried it: nothing was written
	TagRefused = "refused" // nothing was written; Reason says why
)

// Reasons an encode_tag command is refused. The agent knows nothing of the register: it tells
// custodyd which EPC it found, and custodyd names the item that owns it.
const (
	TagNoTag       = "no_tag"       // no tag in the station's field
	TagSeveral     = "several_tags" // more than one tag in the field: which one to write is unknowable
	TagOtherItem   = "other_item"   // the tag carries one of our GDTIs (company prefix) that is not this item's
	TagVerify      = "verify"       // the write was not confirmed by reading back
	TagReaderDown  = "reader_down"  // the station's reader is not connected or stopped answering
	TagNoStation   = "no_station"   // this agent has no station reader for the desk
	TagWriteFailed = "write_failed" // the reader refused the write (locked tag, weak field)
	TagStale       = "stale"        // the command waited too long to be executed (persistent session)
)

// TagReasons lists the refusal reasons, in the order mqtt.md gives them.
var TagReasons = []string{TagNoTag, TagSeveral, TagOtherItem, TagVerify, TagReaderDown, TagNoStation, TagWriteFailed, TagStale}

// TagResult is what an encode_tag command did. EPC is the EPC found on the tag when it was
// refused (other_item: the foreign item's EPC) and the EPC written (or already there) otherwise.
// Seen is how many distinct tags the station's field held.
type TagResult struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	EPC     string `json:"epc,omitempty"`
	Seen    int    `json:"seen"`
}

// InventoryCmd asks for an inventory: "now" (scheduled or on demand) or "confirm" (after a suspected
// miss; the agent runs its most thorough rounds).
type InventoryCmd struct {
	Cabinet string `json:"cabinet"`
	Mode    string `json:"mode"`
	Reason  string `json:"reason,omitempty"`
}

// Unlock opens a cabinet's lock for Seconds (default chosen by the agent when 0).
type Unlock struct {
	Cabinet string `json:"cabinet"`
	Seconds int    `json:"seconds,omitempty"`
}

// Lock locks a cabinet.
type Lock struct {
	Cabinet string `json:"cabinet"`
}

// EncodeTag asks the tag-encoding station at a desk to write EPC onto the one tag in its field.
// Item is custodyd's reference for logs (e.g. "item:42"). CompanyPrefix lets the agent tell a tag
// of another registered item (a GDTI-96 under that prefix, not EPC) from blank stock: the first is
// refused, the second overwritten.
type EncodeTag struct {
	Desk          string `json:"desk"`
	Item          string `json:"item"`
	EPC           string `json:"epc"`
	CompanyPrefix string `json:"company_prefix"`
}

// Resync asks the agent to publish again every observation with From ≤ seq ≤ To still in its
// outbox; To = 0 means through the latest.
type Resync struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to,omitempty"`
}

// Limits of the bodies, shared with the JSON Schemas.
const (
	MaxTags    = 5000
	MaxText    = 256
	MaxScan    = 4096
	MaxAntenna = 64
	MaxRounds  = 1000
	MaxUnlockS = 600
)

// DecodeBody decodes and checks the body of e for direction dir. A newer minor version may add
// members; for our own minor an unknown member is a schema error.
func (e *Envelope) DecodeBody(dir Dir) (Body, error) {
	var b Body
	switch {
	case dir == DirObs && e.Kind == KindInventory:
		b = new(Inventory)
	case dir == DirObs && e.Kind == KindDoor:
		b = new(Door)
	case dir == DirObs && e.Kind == KindScan:
		b = new(Scan)
	case dir == DirObs && e.Kind == KindPresence:
		b = new(Presence)
	case dir == DirObs && e.Kind == KindFault:
		b = new(Fault)
	case dir == DirObs && e.Kind == KindCmdResult:
		b = new(CmdResult)
	case dir == DirCmd && e.Kind == KindInventory:
		b = new(InventoryCmd)
	case dir == DirCmd && e.Kind == KindUnlock:
		b = new(Unlock)
	case dir == DirCmd && e.Kind == KindLock:
		b = new(Lock)
	case dir == DirCmd && e.Kind == KindResync:
		b = new(Resync)
	case dir == DirCmd && e.Kind == KindEncodeTag:
		b = new(EncodeTag)
	default:
		return nil, errorf(ReasonUnknownKind, "kind %q is not a %s kind", truncate(e.Kind, 40), dir)
	}
	newer, err := checkVersion(e.V)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(e.Body))
	if !newer {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(b); err != nil {
		return nil, errorf(ReasonSchema, "%s body: %v", e.Kind, err)
	}
	if err := b.validate(); err != nil {
		return nil, errorf(ReasonSchema, "%s body: %v", e.Kind, err)
	}
	return b, nil
}

func text(name, s string, required bool, max int) error {
	if s == "" {
		if required {
			return fmt.Errorf("%s is missing", name)
		}
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("%s is longer than %d bytes", name, max)
	}
	return nil
}

func code(name, s string) error {
	if !ValidID(s) {
		return fmt.Errorf("%s %q is not a valid code", name, truncate(s, 40))
	}
	return nil
}

func stamp(name, s string) (time.Time, error) {
	t, err := ParseTime(s)
	if err != nil {
		return t, fmt.Errorf("%s %q is not an RFC 3339 time", name, truncate(s, 40))
	}
	return t, nil
}

// validEPC accepts an EPC as upper- or lower-case hex, 4 to 62 bytes (the Gen2 EPC memory bank).
func validEPC(s string) bool {
	if len(s) < 8 || len(s) > 124 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (b *Inventory) validate() error {
	if err := code("cabinet", b.Cabinet); err != nil {
		return err
	}
	if err := code("round", b.Round); err != nil {
		return err
	}
	start, err := stamp("started_at", b.Started)
	if err != nil {
		return err
	}
	end, err := stamp("ended_at", b.Ended)
	if err != nil {
		return err
	}
	if end.Before(start) {
		return fmt.Errorf("ended_at %s is before started_at %s", b.Ended, b.Started)
	}
	if b.Rounds < 1 || b.Rounds > MaxRounds {
		return fmt.Errorf("rounds %d is outside 1..%d", b.Rounds, MaxRounds)
	}
	if b.Antennas == nil {
		return fmt.Errorf("antennas is missing")
	}
	if len(b.Antennas) > MaxAntenna {
		return fmt.Errorf("%d antennas exceed %d", len(b.Antennas), MaxAntenna)
	}
	for i, a := range b.Antennas {
		if a.Antenna < 1 || a.Antenna > MaxAntenna {
			return fmt.Errorf("antennas[%d].antenna %d is outside 1..%d", i, a.Antenna, MaxAntenna)
		}
		if a.OK == nil {
			return fmt.Errorf("antennas[%d].ok is missing", i)
		}
		if err := text(fmt.Sprintf("antennas[%d].error", i), a.Error, false, MaxText); err != nil {
			return err
		}
	}
	if b.Complete == nil {
		return fmt.Errorf("complete is missing")
	}
	if b.Tags == nil {
		return fmt.Errorf("tags is missing")
	}
	if len(b.Tags) > MaxTags {
		return fmt.Errorf("%d tags exceed %d", len(b.Tags), MaxTags)
	}
	for i, t := range b.Tags {
		if !validEPC(t.EPC) {
			return fmt.Errorf("tags[%d].epc %q is not 8 to 124 hex digits", i, truncate(t.EPC, 40))
		}
		if t.Antenna < 1 || t.Antenna > MaxAntenna {
			return fmt.Errorf("tags[%d].antenna %d is outside 1..%d", i, t.Antenna, MaxAntenna)
		}
		if t.RSSI < -150 || t.RSSI > 0 {
			return fmt.Errorf("tags[%d].rssi %g is outside -150..0 dBm", i, t.RSSI)
		}
		if t.Passes < 0 || t.Passes > max(b.Rounds, 1) {
			return fmt.Errorf("tags[%d].passes %d is outside 0–%d (the round's passes)", i, t.Passes, b.Rounds)
		}
		if t.Reads < 1 {
			return fmt.Errorf("tags[%d].reads %d is below 1", i, t.Reads)
		}
		first, err := stamp(fmt.Sprintf("tags[%d].first_seen", i), t.FirstSeen)
		if err != nil {
			return err
		}
		last, err := stamp(fmt.Sprintf("tags[%d].last_seen", i), t.LastSeen)
		if err != nil {
			return err
		}
		if last.Before(first) {
			return fmt.Errorf("tags[%d].last_seen is before first_seen", i)
		}
	}
	return nil
}

func (b *Door) validate() error {
	if err := code("cabinet", b.Cabinet); err != nil {
		return err
	}
	if b.State != "open" && b.State != "closed" {
		return fmt.Errorf("state %q is not open or closed", truncate(b.State, 40))
	}
	return text("badge", b.Badge, false, MaxText)
}

func (b *Scan) validate() error {
	if err := code("desk", b.Desk); err != nil {
		return err
	}
	if err := code("scanner", b.Scanner); err != nil {
		return err
	}
	if err := text("symbology", b.Symbology, true, 32); err != nil {
		return err
	}
	return text("data", b.Data, true, MaxScan)
}

func (b *Presence) validate() error {
	if err := code("cabinet", b.Cabinet); err != nil {
		return err
	}
	if err := code("round", b.Round); err != nil {
		return err
	}
	if b.Arrived == nil || b.Left == nil {
		return fmt.Errorf("arrived and left are both required (empty arrays allowed)")
	}
	if len(b.Arrived)+len(b.Left) > MaxTags {
		return fmt.Errorf("%d tags exceed %d", len(b.Arrived)+len(b.Left), MaxTags)
	}
	for _, list := range [][]string{b.Arrived, b.Left} {
		for _, epc := range list {
			if !validEPC(epc) {
				return fmt.Errorf("epc %q is not 8 to 124 hex digits", truncate(epc, 40))
			}
		}
	}
	return nil
}

func (b *Fault) validate() error {
	if err := code("device", b.Device); err != nil {
		return err
	}
	if err := code("code", b.Code); err != nil {
		return err
	}
	if b.Cleared == nil {
		return fmt.Errorf("cleared is missing")
	}
	return text("message", b.Message, false, MaxText)
}

func (b *CmdResult) validate() error {
	if err := code("cmd", b.Cmd); err != nil {
		return err
	}
	if !KnownKind(DirCmd, b.Kind) {
		return fmt.Errorf("kind %q is not a command kind", truncate(b.Kind, 40))
	}
	if b.OK == nil {
		return fmt.Errorf("ok is missing")
	}
	if b.Oldest > MaxSeq {
		return fmt.Errorf("oldest %d is above 2^53-1", b.Oldest)
	}
	if t := b.Tag; t != nil {
		if b.Kind != KindEncodeTag {
			return fmt.Errorf("tag answers only encode_tag, not %s", b.Kind)
		}
		switch t.Outcome {
		case TagWritten, TagAlready:
			if t.Reason != "" {
				return fmt.Errorf("tag.reason %q with outcome %s", truncate(t.Reason, 40), t.Outcome)
			}
		case TagRefused:
			found := false
			for _, r := range TagReasons {
				found = found || r == t.Reason
			}
			if !found {
				return fmt.Errorf("tag.reason %q is not a refusal reason", truncate(t.Reason, 40))
			}
		default:
			return fmt.Errorf("tag.outcome %q is not written, already or refused", truncate(t.Outcome, 40))
		}
		if t.EPC != "" && !validEPC(t.EPC) {
			return fmt.Errorf("tag.epc %q is not 8 to 124 hex digits", truncate(t.EPC, 40))
		}
		if t.Seen < 0 || t.Seen > MaxTags {
			return fmt.Errorf("tag.seen %d is outside 0..%d", t.Seen, MaxTags)
		}
	}
	return text("error", b.Error, false, MaxText)
}

func (b *InventoryCmd) validate() error {
	if err := code("cabinet", b.Cabinet); err != nil {
		return err
	}
	if b.Mode != "now" && b.Mode != "confirm" {
		return fmt.Errorf("mode %q is not now or confirm", truncate(b.Mode, 40))
	}
	return text("reason", b.Reason, false, MaxText)
}

func (b *Unlock) validate() error {
	if err := code("cabinet", b.Cabinet); err != nil {
		return err
	}
	if b.Seconds < 0 || b.Seconds > MaxUnlockS {
		return fmt.Errorf("seconds %d is outside 0..%d", b.Seconds, MaxUnlockS)
	}
	return nil
}

func (b *Lock) validate() error { return code("cabinet", b.Cabinet) }

func (b *EncodeTag) validate() error {
	if err := code("desk", b.Desk); err != nil {
		return err
	}
	if err := code("item", b.Item); err != nil {
		return err
	}
	if !validEPC(b.EPC) {
		return fmt.Errorf("epc %q is not 8 to 124 hex digits", truncate(b.EPC, 40))
	}
	if n := len(b.CompanyPrefix); n < 6 || n > 12 || strings.Trim(b.CompanyPrefix, "0123456789") != "" {
		return fmt.Errorf("company_prefix %q is not 6 to 12 digits", truncate(b.CompanyPrefix, 40))
	}
	return nil
}

func (b *Resync) validate() error {
	if b.From < 1 || b.From > MaxSeq {
		return fmt.Errorf("from %d is outside 1..2^53-1", b.From)
	}
	if b.To != 0 && (b.To < b.From || b.To > MaxSeq) {
		return fmt.Errorf("to %d is below from %d or above 2^53-1", b.To, b.From)
	}
	return nil
}

// Availability is the retained body of agents/{agent}/availability.
type Availability struct {
	State string `json:"state"` // "online" or "offline"
}

// Availability payloads, byte for byte (the Last Will is set once at connect, so it is fixed).
var (
	Online  = []byte(`{"state":"online"}`)
	Offline = []byte(`{"state":"offline"}`)
)

// ParseAvailability reads an availability payload.
func ParseAvailability(p []byte) (string, error) {
	var a Availability
	if len(p) > 1024 || json.Unmarshal(p, &a) != nil {
		return "", errorf(ReasonMalformed, "availability is not a JSON object")
	}
	if a.State != "online" && a.State != "offline" {
		return "", errorf(ReasonSchema, "availability state %q is not online or offline", truncate(a.State, 40))
	}
	return a.State, nil
}

// Alert is one message on base/alerts: identifiers only, never a title or content (DESIGN rule 11).
type Alert struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	Severity string  `json:"severity"`
	Cabinet  string  `json:"cabinet,omitempty"`
	Room     string  `json:"room,omitempty"`
	Items    []int64 `json:"items,omitempty"` // register item ids, never a document number
	Count    int     `json:"count"`
	At       string  `json:"at"`
	State    string  `json:"state"`
	Link     string  `json:"link"`
}
