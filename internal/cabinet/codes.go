package cabinet

import "fmt"

// EventKind is what happened at a cabinet (§6.2). Kinds from 0x80 are the client's own.
type EventKind uint8

// Event kinds sent by controllers.
const (
	EventDoorOpened    EventKind = 0x01
	EventDoorClosed    EventKind = 0x02
	EventLocked        EventKind = 0x03
	EventUnlocked      EventKind = 0x04
	EventLockFault     EventKind = 0x05
	EventTamper        EventKind = 0x06
	EventTamperCleared EventKind = 0x07
	EventPowerLost     EventKind = 0x08
	EventPowerRestored EventKind = 0x09
	EventBoot          EventKind = 0x0A
	EventOverflow      EventKind = 0x0B
	// EventLinkLost and EventLinkRestored are raised by the Client, never sent on the wire.
	EventLinkLost     EventKind = 0x80
	EventLinkRestored EventKind = 0x81
)

var eventNames = map[EventKind]string{
	EventDoorOpened: "door_opened", EventDoorClosed: "door_closed", EventLocked: "locked",
	EventUnlocked: "unlocked", EventLockFault: "lock_fault", EventTamper: "tamper",
	EventTamperCleared: "tamper_cleared", EventPowerLost: "power_lost",
	EventPowerRestored: "power_restored", EventBoot: "boot", EventOverflow: "overflow",
	EventLinkLost: "link_lost", EventLinkRestored: "link_restored",
}

func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("0x%02X", uint8(k))
}

// MarshalText gives the name in JSON.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// EventRecord is one queued controller event as carried in a PollReply (§6.2).
type EventRecord struct {
	Num  uint8     `json:"num"`
	Kind EventKind `json:"event"`
	Arg  uint8     `json:"arg"`
	Age  uint16    `json:"age_ds"` // tenths of a second between the event and the reply
}

// ErrorCode is the code of an ERROR reply (§7). It is an error itself, so errors.Is(err,
// cabinet.CodeDoorOpen) picks a refusal out of a Client error.
type ErrorCode uint8

// Error codes of version 1.
const (
	CodeUnknownType        ErrorCode = 0x01
	CodeBadPayload         ErrorCode = 0x02
	CodeVersionUnsupported ErrorCode = 0x03
	CodeNotNegotiated      ErrorCode = 0x04
	CodeLockFault          ErrorCode = 0x05
	CodeDoorOpen           ErrorCode = 0x06
	CodeBusy               ErrorCode = 0x07
	CodeTamperLockout      ErrorCode = 0x08
)

type codeText struct{ name, zh, en string }

var codeTexts = map[ErrorCode]codeText{
	CodeUnknownType:        {"unknown_type", "未知命令", "unknown message type"},
	CodeBadPayload:         {"bad_payload", "参数错误", "payload has the wrong length or a value out of range"},
	CodeVersionUnsupported: {"version_unsupported", "协议版本不兼容", "no common protocol version"},
	CodeNotNegotiated:      {"not_negotiated", "尚未协商协议版本", "send HELLO first"},
	CodeLockFault:          {"lock_fault", "锁具故障", "the lock did not reach the commanded position"},
	CodeDoorOpen:           {"door_open", "柜门未关，无法上锁", "cannot lock while the door is open"},
	CodeBusy:               {"busy", "控制器忙，请稍后重试", "controller busy, retry later"},
	CodeTamperLockout:      {"tamper_lockout", "防拆报警中，拒绝开锁", "unlock refused while the tamper alarm is active"},
}

// String is the code's protocol name, e.g. "door_open", or "0xNN" for an unknown code.
func (c ErrorCode) String() string {
	if t, ok := codeTexts[c]; ok {
		return t.name
	}
	return fmt.Sprintf("0x%02X", uint8(c))
}

// Text is the people-facing text in lang ("zh-CN" or "en"; anything else gives English).
func (c ErrorCode) Text(lang string) string {
	t, ok := codeTexts[c]
	switch {
	case !ok && lang == "zh-CN":
		return fmt.Sprintf("控制器错误 0x%02X", uint8(c))
	case !ok:
		return fmt.Sprintf("controller error 0x%02X", uint8(c))
	case lang == "zh-CN":
		return t.zh
	}
	return t.en
}

func (c ErrorCode) Error() string { return "cabinet controller: " + c.Text("en") }
