// Package reconcile compares what the register says is in a cabinet with what an inventory round
// read there, and with the door and custody events around it, and says what disagrees.
//
// Contract: pure. Everything — the register snapshot, the report, the events, the open findings
// from earlier rounds and the current time — comes in as arguments; findings come out. Nothing here
// reads the clock, the store or MQTT (DESIGN.md §4), so every decision is reproducible from its
// input, which the golden scenarios in testcases/ do.
//
// The hard part is "missing" versus "not read" (reference/field.md): per-pass read rates of 60–70 %
// are common. So an absent tag is never more than `suspected` on one round; the caller must command
// a confirming inventory at once (Result.Confirm), and only a second, independent miss — with the
// combined chance that a present tag went unread on every pass below Policy.MaxUnread — makes it
// `confirmed`. That chance is the missed tag's own (TagPUnread): the round gives a prior — how
// often the cabinet's tags were read, fitted as a zero-truncated binomial over the passes (a
// capture–recapture model, M0), and how much they differ — and the tag's read history in earlier
// rounds (Input.History) sharpens it; the chance of no read in N passes is averaged over what the
// tag's rate may be. It is shown in the evidence, and docs/miss-calibration.md checks it against
// the simulator. An incomplete round (antenna fault, interrupted, the door
// opened during it) never produces `missing`.
package reconcile

import (
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// Kind is what a finding is about.
type Kind string

const (
	Missing             Kind = "missing"
	Misplaced           Kind = "misplaced"
	UnrecordedReturn    Kind = "unrecorded_return"
	UnrecordedRemoval   Kind = "unrecorded_removal"
	DestroyedSeen       Kind = "destroyed_seen"
	UnknownTag          Kind = "unknown_tag"
	Overdue             Kind = "overdue"
	InventoryMissed     Kind = "inventory_missed"
	InventoryIncomplete Kind = "inventory_incomplete"
	DoorLeftOpen        Kind = "door_left_open"
	DoorAfterHours      Kind = "door_after_hours"
	AgentOffline        Kind = "agent_offline"

	// Cabinet alarms (issue 15): what a cabinet's controller and readers report about the
	// cabinet itself. A finding of these kinds is the live condition; its alert is resolved only
	// by a person (a tamper that "fixed itself" is what an intruder leaves behind).
	Tamper            Kind = "tamper"
	PowerLost         Kind = "power_lost"
	LockFault         Kind = "lock_fault"
	ForcedDoor        Kind = "forced_door"
	ControllerOffline Kind = "controller_offline"
	ReaderFault       Kind = "reader_fault"

	// NotBound is an agent that spoke for a cabinet, desk or reader the register does not bind to
	// it (DESIGN.md §5 rule 12): ingest refused the observation; this is an attack, not noise.
	NotBound Kind = "not_bound"
	// ReportedLost is a 报失 (issue 14): a fact reported by a person, not a reading — critical at
	// once, one alert per loss case, cleared when a leader closes the case.
	ReportedLost Kind = "reported_lost"
	// SentSeen is a copy handed to the secrecy bureau for destruction (送销) read in a cabinet: the
	// handover record and the cabinet disagree. destroyed_seen stays for copies really destroyed.
	SentSeen Kind = "sent_seen"
	// AccountLocked is an account locked after repeated wrong passwords (issue 12): someone may be
	// guessing; the security administrator looks into it and unlocks.
	AccountLocked Kind = "account_locked"
	// TermExpiring is a document whose secrecy term ends within the reminder days (or has ended)
	// without a level change or declassification recorded.
	TermExpiring Kind = "term_expiring"
	// TransitOverdue is an envelope handed to a courier (机要交通) whose expected arrival passed
	// with no receipt of the other unit recorded: the copies are somewhere between here and there.
	TransitOverdue Kind = "transit_overdue"
	// CheckDue is a unit whose periodic check (清查) was not opened in the period that ended, or
	// not yet in one that ends within a week: a reminder to its custodian and the security
	// administrator, cleared when a check opens.
	CheckDue Kind = "check_due"
	// AuditBroken is the audit chain failing its verification while custodyd runs: the register's
	// history was edited outside custodyd (DESIGN.md §5, the chain is how that is seen). custodyd
	// refuses to start on such a chain; running, it raises this for the leaders and the secrecy
	// office, and only a person resolves it.
	AuditBroken Kind = "audit_broken"
)

// Kinds lists every kind.
var Kinds = []Kind{Missing, Misplaced, UnrecordedReturn, UnrecordedRemoval, DestroyedSeen, UnknownTag,
	Overdue, InventoryMissed, InventoryIncomplete, DoorLeftOpen, DoorAfterHours, AgentOffline,
	Tamper, PowerLost, LockFault, ForcedDoor, ControllerOffline, ReaderFault, NotBound,
	ReportedLost, SentSeen, AccountLocked, TermExpiring, TransitOverdue, CheckDue, AuditBroken}

var kindText = map[Kind]custody.Text{
	Missing:             {ZH: "缺失", EN: "Missing"},
	Misplaced:           {ZH: "错放", EN: "Misplaced"},
	UnrecordedReturn:    {ZH: "未登记归还", EN: "Unrecorded return"},
	UnrecordedRemoval:   {ZH: "未登记取出", EN: "Unrecorded removal"},
	DestroyedSeen:       {ZH: "已销毁文件标签再现", EN: "Destroyed item's tag seen"},
	UnknownTag:          {ZH: "未登记标签", EN: "Unknown tag"},
	Overdue:             {ZH: "逾期未还", EN: "Overdue"},
	InventoryMissed:     {ZH: "未按时清点", EN: "Inventory missed"},
	InventoryIncomplete: {ZH: "清点不完整", EN: "Inventory incomplete"},
	DoorLeftOpen:        {ZH: "柜门未关", EN: "Door left open"},
	DoorAfterHours:      {ZH: "非工作时间开柜", EN: "Door opened after hours"},
	AgentOffline:        {ZH: "采集代理离线", EN: "Agent offline"},
	Tamper:              {ZH: "柜体防拆报警", EN: "Tamper alarm"},
	PowerLost:           {ZH: "市电中断（电池供电）", EN: "Mains power lost"},
	LockFault:           {ZH: "门锁故障", EN: "Lock fault"},
	ForcedDoor:          {ZH: "柜门被强行打开", EN: "Door forced open"},
	ControllerOffline:   {ZH: "门控器失联", EN: "Controller offline"},
	ReaderFault:         {ZH: "读写器故障", EN: "Reader fault"},
	NotBound:            {ZH: "采集代理越权上报", EN: "Agent reported for a place not bound to it"},
	ReportedLost:        {ZH: "报失", EN: "Reported lost"},
	SentSeen:            {ZH: "已送销文件在柜内被读到", EN: "Item sent for destruction read in a cabinet"},
	AccountLocked:       {ZH: "账户因连续输错密码被锁定", EN: "Account locked after repeated wrong passwords"},
	TermExpiring:        {ZH: "保密期限即将届满", EN: "Secrecy term ending"},
	CheckDue:            {ZH: "定期清查未按时开始", EN: "Periodic check due"},
	TransitOverdue:      {ZH: "机要交通逾期未签收", EN: "Transit overdue"},
	AuditBroken:         {ZH: "审计链校验失败", EN: "Audit chain does not verify"},
}

// Text is the display name of the kind.
func (k Kind) Text() custody.Text { return kindText[k] }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindText[k]; return ok }

// PerItem reports whether findings of this kind are about one item or tag (as opposed to a
// cabinet, a door or an agent); an offline agent inhibits alerts of these kinds.
func (k Kind) PerItem() bool {
	switch k {
	case Missing, Misplaced, UnrecordedReturn, UnrecordedRemoval, DestroyedSeen, UnknownTag, SentSeen:
		return true
	}
	return false
}

// Alarm reports whether the kind is a cabinet alarm (tamper, power, lock, forced door, controller
// or reader): about the cabinet's hardware, raised from the agent's fault and door observations.
func (k Kind) Alarm() bool {
	switch k {
	case Tamper, PowerLost, LockFault, ForcedDoor, ControllerOffline, ReaderFault:
		return true
	}
	return false
}

// Loss reports whether a confirmed finding of this kind means an item is gone.
func (k Kind) Loss() bool { return k == Missing || k == UnrecordedRemoval }

// Confidence says how sure a finding is.
type Confidence string

const (
	Suspected Confidence = "suspected" // one round says so; a confirming inventory is due
	Confirmed Confidence = "confirmed" // independent rounds (or a plain fact) say so
)

// Item is one numbered copy as the register has it now.
type Item struct {
	ID      int64         `json:"id"`
	Number  string        `json:"number"` // document number and copy, e.g. 国保发〔2026〕7号/3
	Level   custody.Level `json:"level"`
	EPC     string        `json:"epc,omitempty"`
	State   custody.State `json:"state"`
	Cabinet string        `json:"cabinet,omitempty"` // for in_cabinet and destruction_pending: where it belongs
	Holder  string        `json:"holder,omitempty"`
	Due     time.Time     `json:"due,omitzero"`
	// Purpose is why an item is out (borrow, circulate, reading_room, take_out): the overdue
	// text names the move by it (借出, 传阅, 阅文室阅读, 携带外出).
	Purpose string `json:"purpose,omitempty"`
	// LastEvent is the item's latest custody event (store, check-out, return …), for the evidence
	// and for the grace time of unrecorded_removal.
	LastEvent *Event `json:"last_event,omitempty"`
}

// Event is a custody event of an item.
type Event struct {
	Action custody.Action `json:"action"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor,omitempty"`
}

// Report is one inventory round of one cabinet, as the agent sent it.
type Report struct {
	Agent   string    `json:"agent"`
	Cabinet string    `json:"cabinet"`
	Round   string    `json:"round"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Passes is how many passes (reader inventory cycles) the round ran.
	Passes   int       `json:"passes"`
	Complete bool      `json:"complete"`
	Confirm  bool      `json:"confirm,omitempty"` // a confirming round commanded after a suspected miss
	Antennas []Antenna `json:"antennas,omitempty"`
	Tags     []Tag     `json:"tags"`
}

// Antenna is the health of one antenna port during the round.
type Antenna struct {
	Port  int    `json:"port"`
	OK    bool   `json:"ok"`
	Fault string `json:"fault,omitempty"`
}

// Tag is one EPC as the round read it.
type Tag struct {
	EPC      string    `json:"epc"`
	Antennas []int     `json:"antennas,omitempty"`
	RSSI     float64   `json:"rssi"`             // strongest, dBm
	Reads    int       `json:"reads"`            // total reads over the round
	Passes   int       `json:"passes,omitempty"` // passes it was read on; 0: unknown, taken as min(reads, passes)
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// Door is one door cycle of a cabinet. Close is zero while the door is still open.
type Door struct {
	Cabinet string    `json:"cabinet"`
	Open    time.Time `json:"open"`
	Close   time.Time `json:"close,omitzero"`
	By      string    `json:"by,omitempty"` // badge or person, when the controller knows
}

// Sighting is where and how well a tag was last read elsewhere (another cabinet's latest round).
// The caller passes them so a cross-read from a neighbouring cabinet is not called misplaced, and
// an item that moved is called misplaced there rather than missing here.
type Sighting struct {
	Cabinet string    `json:"cabinet"`
	Round   string    `json:"round"`
	At      time.Time `json:"at"`
	Passes  int       `json:"passes"` // passes it was read on
	Of      int       `json:"of"`     // passes the round ran
	RSSI    float64   `json:"rssi"`
}

// Policy holds the thresholds. The zero value is completed by Defaults.
type Policy struct {
	// RemovalGrace is how long after a door closes a checkout may still be recorded before an
	// absent item is an unrecorded removal (Traka's exception e-mail: 15 min).
	RemovalGrace time.Duration `json:"removal_grace"`
	// MaxUnread: a miss is confirmed when the combined probability that a present tag went unread
	// in every missing round is at most this (and there were at least two independent misses).
	MaxUnread float64 `json:"max_unread"`
	// MaxMisses confirms after this many independent misses whatever the read statistics say: a
	// reader that reads so badly that it cannot tell is itself a problem worth a person's visit.
	MaxMisses int `json:"max_misses"`
	// FirmPasses: a tag read on at least this many passes (or this many reads) is present beyond
	// doubt; fewer makes presence findings suspected.
	FirmPasses int `json:"firm_passes"`
	// SightingWindow: a sighting elsewhere older than this says nothing about now.
	SightingWindow time.Duration `json:"sighting_window"`
}

// Defaults fills zero fields.
func (p Policy) Defaults() Policy {
	if p.RemovalGrace == 0 {
		p.RemovalGrace = 15 * time.Minute
	}
	if p.MaxUnread == 0 {
		p.MaxUnread = 0.001
	}
	if p.MaxMisses == 0 {
		p.MaxMisses = 3
	}
	if p.FirmPasses == 0 {
		p.FirmPasses = 2
	}
	if p.SightingWindow == 0 {
		p.SightingWindow = 24 * time.Hour
	}
	return p
}

// Finding is one disagreement, with what it rests on.
type Finding struct {
	Kind       Kind       `json:"kind"`
	Subject    string     `json:"subject"` // item/<id>, tag/<epc>, cabinet/<code>, agent/<id>
	Confidence Confidence `json:"confidence"`
	Cabinet    string     `json:"cabinet,omitempty"`
	Agent      string     `json:"agent,omitempty"`
	// Item fields are for the secure network only (console, MQTT alerts); external channels never
	// see them (DESIGN.md §5 rule 11).
	ItemID int64         `json:"item_id,omitempty"`
	Item   string        `json:"item,omitempty"`
	Level  custody.Level `json:"level,omitempty"`
	EPC    string        `json:"epc,omitempty"`
	Holder string        `json:"holder,omitempty"`
	// Ours is set for unknown_tag: the EPC carries our company prefix (a label of ours not in the
	// register), as against a foreign tag.
	Ours     bool         `json:"ours,omitempty"`
	At       time.Time    `json:"at"`
	Text     custody.Text `json:"text"`
	Evidence Evidence     `json:"evidence"`
	// Urgent makes the alert critical whatever the kind's base severity: a cabinet on battery
	// whose door opens or whose controller goes silent (power_lost).
	Urgent bool `json:"urgent,omitempty"`
}

// TagHistory is how well one tag has been read in its cabinet's recent complete rounds: passes
// run while it was registered there and how many of them read it. The caller keeps it (package
// alert, from the rounds it reconciled); reconcile only reads it.
type TagHistory struct {
	Passes int `json:"passes"`
	Read   int `json:"read"`
}

// Evidence is what produced a finding.
type Evidence struct {
	Rounds    []RoundStats `json:"rounds,omitempty"`
	Tag       *Tag         `json:"tag,omitempty"`
	Elsewhere *Sighting    `json:"elsewhere,omitempty"` // the same tag read in another cabinet
	LastSeen  time.Time    `json:"last_seen,omitzero"`
	LastEvent *Event       `json:"last_event,omitempty"`
	Door      *Door        `json:"door,omitempty"`
	// Misses is the number of independent rounds that did not read the item.
	Misses int `json:"misses,omitempty"`
	// PUnread is the estimated probability that this tag, were it present, went unread in every
	// one of those rounds: the product, round by round, of the chance of a miss given its read
	// history up to that round (TagPUnread), which is the joint chance by the chain rule.
	PUnread float64   `json:"p_unread,omitempty"`
	Reason  string    `json:"reason,omitempty"` // a stable word for why (e.g. "antenna_fault", "door_opened_mid_round")
	Since   time.Time `json:"since,omitzero"`
	// Cabinets are the cabinets an offline agent serves.
	Cabinets []string `json:"cabinets,omitempty"`
	// Fault is the agent's own text of a device fault (cabinet alarms).
	Fault string `json:"fault,omitempty"`
	// Events are the cabinet's recent controller and command events, oldest first (cabinet
	// alarms): what the controller said, when, and what custodyd commanded.
	Events []DeviceEvent `json:"events,omitempty"`
}

// DeviceEvent is one thing a cabinet's controller, reader or custodyd did, for an alarm's
// evidence. Source is "controller" (an observation from the agent), "command" (a lock or unlock
// custodyd sent, or its result) or "inventory" (a round the alarm triggered).
type DeviceEvent struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// RoundStats are one round's read statistics.
type RoundStats struct {
	Round    string    `json:"round"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Passes   int       `json:"passes"`
	Complete bool      `json:"complete"`
	Antennas []Antenna `json:"antennas,omitempty"`
	// Expected and Read: register items expected in the cabinet, and how many of them were read.
	Expected int `json:"expected"`
	Read     int `json:"read"`
	// ReadRate is the fitted per-pass probability that a present tag is read.
	ReadRate float64 `json:"read_rate"`
	// PriorWeight is how many passes' worth of evidence the cabinet's typical rate counts for when
	// judging one tag: the strength α+β of the Beta prior (mean ReadRate) fitted from how much the
	// tags' read counts spread. Small when tags read very differently, large when alike.
	PriorWeight float64 `json:"prior_weight,omitempty"`
	// PUnread is the chance that a present tag with no read history of its own was read on no pass
	// of this round: E[(1-p)^Passes] for p drawn from that prior (TagPUnread with no history).
	PUnread float64 `json:"p_unread"`
	// Unseen is Chao's estimate (f1²/2f2) of present tags that no pass read.
	Unseen float64 `json:"unseen_estimate"`
}

// Result is what one reconciliation says.
type Result struct {
	Findings []Finding `json:"findings"`
	// Cleared are the subjects of open findings (by kind) whose condition has ended.
	Cleared []Key `json:"cleared,omitempty"`
	// Confirm asks the caller to command a confirming inventory of the cabinet at once.
	Confirm bool `json:"confirm,omitempty"`
	// RecheckAt asks the caller to reconcile the cabinet again then (an unrecorded-removal grace
	// time ends).
	RecheckAt time.Time  `json:"recheck_at,omitzero"`
	Stats     RoundStats `json:"stats"`
}

// Key identifies a finding: one open finding per (kind, subject).
type Key struct {
	Kind    Kind   `json:"kind"`
	Subject string `json:"subject"`
}

// Key returns the finding's key.
func (f Finding) Key() Key { return Key{f.Kind, f.Subject} }
