package custody

import "fmt"

// State is where an item stands in its lifecycle (DESIGN.md §5).
type State string

const (
	Registered         State = "registered"          // 已登记: recorded, not yet stored
	InCabinet          State = "in_cabinet"          // 在柜: in a steel cabinet
	CheckedOut         State = "checked_out"         // 借出: with a named holder, due back
	OutOfOffice        State = "out_of_office"       // 携带外出: taken out with a leader's approval
	InTransit          State = "in_transit"          // 传递中: with a courier
	TransferredOut     State = "transferred_out"     // 已移交: handed to another unit against a receipt
	DestructionPending State = "destruction_pending" // 待销毁: on an approved destruction list
	// SentForDestruction is 已送销: handed to the secrecy bureau's courier at the desk against its
	// receipt; the bureau destroys centrally and its certificate number makes it destroyed.
	SentForDestruction State = "sent_for_destruction"
	Destroyed          State = "destroyed" // 已销毁: the bureau's destruction certificate is entered
	Lost               State = "lost"      // 丢失: reported lost
	// Released is 解除管理: a copy of a declassified document released from custody.
	Released State = "released"
)

// States lists every state.
var States = []State{Registered, InCabinet, CheckedOut, OutOfOffice, InTransit, TransferredOut, DestructionPending, SentForDestruction, Destroyed, Lost, Released}

var stateText = map[State]Text{
	Registered:         {"已登记", "Registered"},
	InCabinet:          {"在柜", "In cabinet"},
	CheckedOut:         {"借出", "Checked out"},
	OutOfOffice:        {"携带外出", "Out of office"},
	InTransit:          {"传递中", "In transit"},
	TransferredOut:     {"已移交", "Transferred out"},
	DestructionPending: {"待销毁", "Awaiting destruction"},
	SentForDestruction: {"已送销", "Sent for destruction"},
	Destroyed:          {"已销毁", "Destroyed"},
	Lost:               {"丢失", "Lost"},
	Released:           {"已解除管理", "Released (declassified)"},
}

// Text returns the display names of the state.
func (s State) Text() Text { return stateText[s] }

// Valid reports whether s is a known state.
func (s State) Valid() bool { _, ok := stateText[s]; return ok }

// Action is a step in an item's life.
type Action string

const (
	Store             Action = "store"              // 入柜: put a registered item into a cabinet
	CheckOut          Action = "check_out"          // 借出/分发: custodian hands it to a holder
	Return            Action = "return"             // 归还: back to the custodian and into a cabinet
	Handover          Action = "handover"           // holder to holder directly: always refused (不得横传)
	TakeOut           Action = "take_out"           // 携带外出: out of the office with approval
	Dispatch          Action = "dispatch"           // 交通信员: give to a courier
	Receive           Action = "receive"            // courier delivers it back into a cabinet
	TransferOut       Action = "transfer_out"       // 移交: to another unit against a receipt
	ListDestruction   Action = "list_destruction"   // 造册: put on a destruction list
	Unlist            Action = "unlist_destruction" // take off a destruction list
	Destroy           Action = "destroy"            // 送销: an approved batch handed to the bureau's courier
	CertifyDestroyed  Action = "certify_destroyed"  // 销毁确认: the bureau's certificate number entered
	ReportLost        Action = "report_lost"        // 报失
	Recover           Action = "recover"            // 找回: a lost item found and stored again
	ArchiveTransferTo Action = "archive"            // 归档: hand to the archive (a transfer out)
	Release           Action = "release"            // 解除管理: a declassified document's copy leaves custody
)

// Actions lists every action.
var Actions = []Action{Store, CheckOut, Return, Handover, TakeOut, Dispatch, Receive, TransferOut, ListDestruction, Unlist, Destroy, CertifyDestroyed, ReportLost, Recover, ArchiveTransferTo, Release}

var actionText = map[Action]Text{
	Store:             {"入柜", "store"},
	CheckOut:          {"借出", "check out"},
	Return:            {"归还", "return"},
	Handover:          {"横向传递", "pass to another reader"},
	TakeOut:           {"携带外出", "take out of the office"},
	Dispatch:          {"交付传递", "dispatch by courier"},
	Receive:           {"接收入柜", "receive into a cabinet"},
	TransferOut:       {"移交", "transfer to another unit"},
	ListDestruction:   {"列入销毁清册", "list for destruction"},
	Unlist:            {"移出销毁清册", "take off the destruction list"},
	Destroy:           {"送销", "send for destruction"},
	CertifyDestroyed:  {"登记销毁证明", "record the destruction certificate"},
	ReportLost:        {"报失", "report lost"},
	Recover:           {"找回入柜", "recover and store"},
	ArchiveTransferTo: {"归档", "archive"},
	Release:           {"解除管理", "release from custody"},
}

// Text returns the display names of the action.
func (a Action) Text() Text { return actionText[a] }

// Refusal explains why a step is not allowed. Code is stable for programs.
type Refusal struct {
	Code   string // "wrong_state", "wrong_role", "forbidden_action", "unknown"
	Reason Text
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Reason.EN }

type edge struct {
	from State
	act  Action
}

// step is one allowed edge of the lifecycle and who may take it.
type step struct {
	to    State
	roles []Role
}

// The lifecycle. Only the custodian moves items (rule 2); a holder may only report a loss of
// something they hold; leaders approve (package register) but do not move items; the 三员 never
// touch items. Destroy (送销) is reachable only from destruction_pending, which only an approved
// batch list produces (rule 8); destroyed only from sent_for_destruction, when the secrecy bureau's
// certificate is entered — the office never destroys by itself.
var lifecycle = map[edge]step{
	{Registered, Store}:                    {InCabinet, []Role{Custodian}},
	{InCabinet, CheckOut}:                  {CheckedOut, []Role{Custodian}},
	{CheckedOut, Return}:                   {InCabinet, []Role{Custodian}},
	{OutOfOffice, Return}:                  {InCabinet, []Role{Custodian}},
	{InCabinet, TakeOut}:                   {OutOfOffice, []Role{Custodian}},
	{InCabinet, Dispatch}:                  {InTransit, []Role{Custodian}},
	{InTransit, Receive}:                   {InCabinet, []Role{Custodian}},
	{InCabinet, TransferOut}:               {TransferredOut, []Role{Custodian}},
	{InTransit, TransferOut}:               {TransferredOut, []Role{Custodian}},
	{InCabinet, ArchiveTransferTo}:         {TransferredOut, []Role{Custodian}},
	{InCabinet, ListDestruction}:           {DestructionPending, []Role{Custodian}},
	{DestructionPending, Unlist}:           {InCabinet, []Role{Custodian}},
	{DestructionPending, Destroy}:          {SentForDestruction, []Role{Custodian}},
	{SentForDestruction, CertifyDestroyed}: {Destroyed, []Role{Custodian}},
	{Registered, ReportLost}:               {Lost, []Role{Custodian, Leader}},
	{InCabinet, ReportLost}:                {Lost, []Role{Custodian, Leader}},
	{CheckedOut, ReportLost}:               {Lost, []Role{Custodian, Leader, Holder}},
	{OutOfOffice, ReportLost}:              {Lost, []Role{Custodian, Leader, Holder}},
	{InTransit, ReportLost}:                {Lost, []Role{Custodian, Leader}},
	{DestructionPending, ReportLost}:       {Lost, []Role{Custodian, Leader}},
	{SentForDestruction, ReportLost}:       {Lost, []Role{Custodian, Leader}},
	{Lost, Recover}:                        {InCabinet, []Role{Custodian}},
	// Only for a declassified document (checked in package register).
	{InCabinet, Release}: {Released, []Role{Custodian}},
}

// Check says whether an actor holding role may take action on an item in state from, and the
// state it leads to. A refusal is a *Refusal.
func Check(from State, a Action, role Role) (State, error) {
	if !from.Valid() {
		return "", &Refusal{"unknown", Text{fmt.Sprintf("未知状态 %q", from), fmt.Sprintf("unknown state %q", from)}}
	}
	if _, ok := actionText[a]; !ok {
		return "", &Refusal{"unknown", Text{fmt.Sprintf("未知操作 %q", a), fmt.Sprintf("unknown action %q", a)}}
	}
	if a == Handover {
		return "", &Refusal{"forbidden_action", Text{
			"涉密文件须经机要人员传递，不得在阅文人之间横传",
			"items pass only through the custodian; passing between readers is forbidden",
		}}
	}
	st, ok := lifecycle[edge{from, a}]
	if !ok {
		return "", &Refusal{"wrong_state", Text{
			fmt.Sprintf("状态为“%s”的文件不能%s", from.Text().ZH, a.Text().ZH),
			fmt.Sprintf("cannot %s an item that is %s", a.Text().EN, from.Text().EN),
		}}
	}
	for _, r := range st.roles {
		if r == role {
			return st.to, nil
		}
	}
	return "", &Refusal{"wrong_role", Text{
		fmt.Sprintf("%s无权执行“%s”", role.Text().ZH, a.Text().ZH),
		fmt.Sprintf("a %s may not %s an item", role.Text().EN, a.Text().EN),
	}}
}
