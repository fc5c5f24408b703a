package apitype

import (
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// The alert and finding shapes below are the JSON of /api/v1/alerts and /api/v1/findings as
// custodyctl reads them. Unlike the register's shapes they are not the server's own types: the
// server's alert.Alert carries bookkeeping of its own (what version was last published), and a
// finding is reconcile's Finding, which is also reconcile's input vocabulary (tags, doors,
// rounds) and stays with the pure core. So these mirror the server's JSON field for field, and
// TestAlertShapesMatchTheServer (shapes_test.go) fails when either side gains, loses or renames
// a field.

// Severity orders alerts: info, warning, major, critical.
type Severity string

// Severities.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Major    Severity = "major"
	Critical Severity = "critical"
)

// AlertState is where an alert is in its lifecycle.
type AlertState string

// Alert states.
const (
	AlertOpen         AlertState = "open"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

var alertStateText = map[AlertState]custody.Text{
	AlertOpen:         {ZH: "未处理", EN: "open"},
	AlertAcknowledged: {ZH: "已确认收到", EN: "acknowledged"},
	AlertResolved:     {ZH: "已解除", EN: "resolved"},
}

// Text is the display name of the state.
func (s AlertState) Text() custody.Text { return alertStateText[s] }

// Alert is one alert as the console shows it (the secure network).
type Alert struct {
	ID            int64         `json:"id"`
	Ref           string        `json:"ref"`
	Kind          FindingKind   `json:"kind"`
	KindText      custody.Text  `json:"kind_text"`
	Subject       string        `json:"subject"`
	Severity      Severity      `json:"severity"`
	State         AlertState    `json:"state"`
	Cabinet       string        `json:"cabinet,omitempty"`
	Room          string        `json:"room,omitempty"`
	Agent         string        `json:"agent,omitempty"`
	Level         custody.Level `json:"level,omitempty"`
	ConfirmedLoss bool          `json:"confirmed_loss"`
	Count         int           `json:"count"`
	SuppressedBy  string        `json:"suppressed_by,omitempty"`
	OpenedAt      time.Time     `json:"opened_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	AckedBy       string        `json:"acked_by,omitempty"`
	AckedAt       time.Time     `json:"acked_at,omitzero"`
	AckNote       string        `json:"ack_note,omitempty"`
	ResolvedBy    string        `json:"resolved_by,omitempty"`
	ResolvedAt    time.Time     `json:"resolved_at,omitzero"`
	ResolveNote   string        `json:"resolve_note,omitempty"`
	NotifiedAt    time.Time     `json:"notified_at,omitzero"`
	IncidentID    int64         `json:"incident_id,omitempty"`
	LossCase      int64         `json:"loss_case,omitempty"`
}

// AlertEvent is one step of an alert's history.
type AlertEvent struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"`
	Audience string    `json:"audience,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// FindingKind is what a finding is about (missing, misplaced, …).
type FindingKind string

// findingKindText words the kinds as reconcile's table does (held together by a test).
var findingKindText = map[FindingKind]custody.Text{
	"missing":              {ZH: "缺失", EN: "Missing"},
	"misplaced":            {ZH: "错放", EN: "Misplaced"},
	"unrecorded_return":    {ZH: "未登记归还", EN: "Unrecorded return"},
	"unrecorded_removal":   {ZH: "未登记取出", EN: "Unrecorded removal"},
	"destroyed_seen":       {ZH: "已销毁文件标签再现", EN: "Destroyed item's tag seen"},
	"unknown_tag":          {ZH: "未登记标签", EN: "Unknown tag"},
	"overdue":              {ZH: "逾期未还", EN: "Overdue"},
	"inventory_missed":     {ZH: "未按时清点", EN: "Inventory missed"},
	"inventory_incomplete": {ZH: "清点不完整", EN: "Inventory incomplete"},
	"door_left_open":       {ZH: "柜门未关", EN: "Door left open"},
	"door_after_hours":     {ZH: "非工作时间开柜", EN: "Door opened after hours"},
	"agent_offline":        {ZH: "采集代理离线", EN: "Agent offline"},
	"tamper":               {ZH: "柜体防拆报警", EN: "Tamper alarm"},
	"power_lost":           {ZH: "市电中断（电池供电）", EN: "Mains power lost"},
	"lock_fault":           {ZH: "门锁故障", EN: "Lock fault"},
	"forced_door":          {ZH: "柜门被强行打开", EN: "Door forced open"},
	"controller_offline":   {ZH: "门控器失联", EN: "Controller offline"},
	"reader_fault":         {ZH: "读写器故障", EN: "Reader fault"},
	"not_bound":            {ZH: "采集代理越权上报", EN: "Agent reported for a place not bound to it"},
	"reported_lost":        {ZH: "报失", EN: "Reported lost"},
	"sent_seen":            {ZH: "已送销文件在柜内被读到", EN: "Item sent for destruction read in a cabinet"},
	"account_locked":       {ZH: "账户因连续输错密码被锁定", EN: "Account locked after repeated wrong passwords"},
	"term_expiring":        {ZH: "保密期限即将届满", EN: "Secrecy term ending"},
	"check_due":            {ZH: "定期清查未按时开始", EN: "Periodic check due"},
	"transit_overdue":      {ZH: "机要交通逾期未签收", EN: "Transit overdue"},
	"audit_broken":         {ZH: "审计链校验失败", EN: "Audit chain does not verify"},
}

// Text is the display name of the kind.
func (k FindingKind) Text() custody.Text { return findingKindText[k] }

// Finding is a stored finding: what reconciliation (or a site check) found, with its evidence.
type Finding struct {
	ID         int64         `json:"id"`
	AlertID    int64         `json:"alert_id,omitempty"`
	Kind       FindingKind   `json:"kind"`
	Subject    string        `json:"subject"` // item/<id>, tag/<epc>, cabinet/<code>, agent/<id>
	Confidence string        `json:"confidence"`
	Cabinet    string        `json:"cabinet,omitempty"`
	Agent      string        `json:"agent,omitempty"`
	ItemID     int64         `json:"item_id,omitempty"`
	Item       string        `json:"item,omitempty"`
	Level      custody.Level `json:"level,omitempty"`
	EPC        string        `json:"epc,omitempty"`
	Holder     string        `json:"holder,omitempty"`
	Ours       bool          `json:"ours,omitempty"`
	At         time.Time     `json:"at"`
	Text       custody.Text  `json:"text"`
	Evidence   Evidence      `json:"evidence"`
	Urgent     bool          `json:"urgent,omitempty"`
	OpenedAt   time.Time     `json:"opened_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	ClearedAt  time.Time     `json:"cleared_at,omitzero"`
}

// Evidence is what produced a finding.
type Evidence struct {
	Rounds    []RoundStats  `json:"rounds,omitempty"`
	Tag       *Tag          `json:"tag,omitempty"`
	Elsewhere *Sighting     `json:"elsewhere,omitempty"`
	LastSeen  time.Time     `json:"last_seen,omitzero"`
	LastEvent *CustodyEvent `json:"last_event,omitempty"`
	Door      *Door         `json:"door,omitempty"`
	Misses    int           `json:"misses,omitempty"`
	PUnread   float64       `json:"p_unread,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Since     time.Time     `json:"since,omitzero"`
	Cabinets  []string      `json:"cabinets,omitempty"`
	Fault     string        `json:"fault,omitempty"`
	Events    []DeviceEvent `json:"events,omitempty"`
}

// DeviceEvent is one thing a cabinet's controller, reader or custodyd did, for an alarm's
// evidence.
type DeviceEvent struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// RoundStats are one inventory round's read statistics.
type RoundStats struct {
	Round       string    `json:"round"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Passes      int       `json:"passes"`
	Complete    bool      `json:"complete"`
	Antennas    []Antenna `json:"antennas,omitempty"`
	Expected    int       `json:"expected"`
	Read        int       `json:"read"`
	ReadRate    float64   `json:"read_rate"`
	PriorWeight float64   `json:"prior_weight,omitempty"`
	PUnread     float64   `json:"p_unread"`
	Unseen      float64   `json:"unseen_estimate"`
}

// Antenna is one antenna port's health in a round.
type Antenna struct {
	Port  int    `json:"port"`
	OK    bool   `json:"ok"`
	Fault string `json:"fault,omitempty"`
}

// Tag is one EPC as a round read it.
type Tag struct {
	EPC      string    `json:"epc"`
	Antennas []int     `json:"antennas,omitempty"`
	RSSI     float64   `json:"rssi"`
	Reads    int       `json:"reads"`
	Passes   int       `json:"passes,omitempty"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// Door is one door cycle of a cabinet. Close is zero while the door is still open.
type Door struct {
	Cabinet string    `json:"cabinet"`
	Open    time.Time `json:"open"`
	Close   time.Time `json:"close,omitzero"`
	By      string    `json:"by,omitempty"`
}

// Sighting is where and how well a tag was last read elsewhere.
type Sighting struct {
	Cabinet string    `json:"cabinet"`
	Round   string    `json:"round"`
	At      time.Time `json:"at"`
	Passes  int       `json:"passes"`
	Of      int       `json:"of"`
	RSSI    float64   `json:"rssi"`
}

// CustodyEvent is an item's latest custody event (store, check-out, return …).
type CustodyEvent struct {
	Action custody.Action `json:"action"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor,omitempty"`
}
