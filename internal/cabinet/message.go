package cabinet

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

// Type is a frame's message type (§6). Bit 7 set means controller → master.
type Type uint8

// Message types of version 1 (§6).
const (
	TypeHello       Type = 0x01
	TypePoll        Type = 0x02
	TypeStatus      Type = 0x03
	TypeLock        Type = 0x04
	TypeUnlock      Type = 0x05
	TypeSignal      Type = 0x06
	TypeHelloReply  Type = 0x81
	TypePollReply   Type = 0x82
	TypeStatusReply Type = 0x83
	TypeLockReply   Type = 0x84
	TypeUnlockReply Type = 0x85
	TypeSignalReply Type = 0x86
	TypeError       Type = 0xFF
)

var typeNames = map[Type]string{
	TypeHello: "hello", TypePoll: "poll", TypeStatus: "status", TypeLock: "lock", TypeUnlock: "unlock",
	TypeSignal: "signal", TypeHelloReply: "hello_reply", TypePollReply: "poll_reply",
	TypeStatusReply: "status_reply", TypeLockReply: "lock_reply", TypeUnlockReply: "unlock_reply",
	TypeSignalReply: "signal_reply", TypeError: "error_reply",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type_%02X", byte(t))
}

// IsReply reports whether t travels controller → master.
func (t Type) IsReply() bool { return t&0x80 != 0 }

// Message is the typed payload of a frame.
type Message interface {
	Type() Type
	appendPayload(dst []byte) []byte
	fields() string // canonical text after the type name (§9)
}

// Message decodes the payload according to f.Type. A reserved type or a payload that does not
// match its type gives an error wrapping ErrPayload.
func (f Frame) Message() (Message, error) {
	m, err := decodePayload(f.Type, f.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s payload % X: %w", f.Type, f.Payload, err)
	}
	return m, nil
}

// MarshalJSON flattens the frame for `custody-agent decode`: kind (the type name), offset, addr,
// seq and the message's own fields; a frame whose payload is invalid has kind "invalid".
func (f Frame) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	m, err := f.Message()
	if err != nil {
		out["kind"] = "invalid"
		out["type"] = byte(f.Type)
		out["payload"] = fmt.Sprintf("%X", f.Payload)
		out["error"] = err.Error()
	} else {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
		out["kind"] = f.Type.String()
	}
	out["offset"] = f.Offset
	out["addr"] = f.Addr
	out["seq"] = f.Seq
	return json.Marshal(out)
}

func payloadErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrPayload, fmt.Sprintf(format, a...))
}

func wantLen(p []byte, n int) error {
	if len(p) != n {
		return payloadErr("length %d, want %d", len(p), n)
	}
	return nil
}

func decodePayload(t Type, p []byte) (Message, error) {
	switch t {
	case TypeHello:
		if err := wantLen(p, 2); err != nil {
			return nil, err
		}
		m := Hello{Min: p[0], Max: p[1]}
		if m.Min < 1 || m.Min > m.Max {
			return nil, payloadErr("versions %d..%d", m.Min, m.Max)
		}
		return m, nil
	case TypeHelloReply:
		if err := wantLen(p, 7); err != nil {
			return nil, err
		}
		m := HelloReply{Version: p[0], FWMajor: p[1], FWMinor: p[2], Caps: Caps(binary.BigEndian.Uint16(p[3:])), Boot: binary.BigEndian.Uint16(p[5:])}
		if m.Version < 1 {
			return nil, payloadErr("version 0")
		}
		if m.Caps&^capsAll != 0 {
			return nil, payloadErr("reserved caps bits %04X", uint16(m.Caps))
		}
		return m, nil
	case TypePoll:
		if err := wantLen(p, 1); err != nil {
			return nil, err
		}
		return Poll{Ack: p[0]}, nil
	case TypePollReply:
		if len(p) < 6 {
			return nil, payloadErr("length %d, want at least 6", len(p))
		}
		st, err := decodeStatus(p)
		if err != nil {
			return nil, err
		}
		n := int(p[5])
		if n > MaxPollEvents {
			return nil, payloadErr("%d events, at most %d", n, MaxPollEvents)
		}
		if err := wantLen(p, 6+5*n); err != nil {
			return nil, err
		}
		m := PollReply{Status: st}
		if n > 0 {
			m.Events = make([]EventRecord, n)
		}
		for i := range n {
			e := p[6+5*i:]
			ev := EventRecord{Num: e[0], Kind: EventKind(e[1]), Arg: e[2], Age: binary.BigEndian.Uint16(e[3:])}
			if ev.Num == 0 {
				return nil, payloadErr("event number 0")
			}
			if _, ok := eventNames[ev.Kind]; !ok || ev.Kind >= 0x80 {
				return nil, payloadErr("event kind 0x%02X", byte(ev.Kind))
			}
			m.Events[i] = ev
		}
		return m, nil
	case TypeStatus:
		return StatusRequest{}, wantLen(p, 0)
	case TypeLock:
		return LockRequest{}, wantLen(p, 0)
	case TypeStatusReply:
		if err := wantLen(p, 12); err != nil {
			return nil, err
		}
		st, err := decodeStatus(p)
		if err != nil {
			return nil, err
		}
		return StatusReply{Status: st, Boot: binary.BigEndian.Uint16(p[5:]), Uptime: binary.BigEndian.Uint32(p[7:]), Queued: p[11]}, nil
	case TypeLockReply, TypeUnlockReply, TypeSignalReply:
		if err := wantLen(p, 5); err != nil {
			return nil, err
		}
		st, err := decodeStatus(p)
		if err != nil {
			return nil, err
		}
		return CommandReply{Reply: t, Status: st}, nil
	case TypeUnlock:
		if err := wantLen(p, 2); err != nil {
			return nil, err
		}
		s := binary.BigEndian.Uint16(p)
		if s < 1 || s > MaxUnlockSeconds {
			return nil, payloadErr("unlock for %d s, want 1..%d", s, MaxUnlockSeconds)
		}
		return Unlock{Seconds: s}, nil
	case TypeSignal:
		if err := wantLen(p, 4); err != nil {
			return nil, err
		}
		m := Signal{LED: LED(p[0]), Pattern: Pattern(p[1]), Beeps: p[2], Seconds: p[3]}
		if m.LED > LEDAmber || m.Pattern > PatternFastBlink || m.Beeps > MaxBeeps {
			return nil, payloadErr("led %d pattern %d beeps %d", p[0], p[1], p[2])
		}
		return m, nil
	case TypeError:
		if err := wantLen(p, 2); err != nil {
			return nil, err
		}
		return ErrorReply{Code: ErrorCode(p[0]), Request: Type(p[1])}, nil
	}
	return nil, payloadErr("reserved type 0x%02X", byte(t))
}

// Limits of request values (§6).
const (
	MaxUnlockSeconds = 900
	MaxBeeps         = 10
)

// Hello negotiates the protocol version (§3).
type Hello struct {
	Min uint8 `json:"min_version"`
	Max uint8 `json:"max_version"`
}

func (Hello) Type() Type                        { return TypeHello }
func (m Hello) appendPayload(dst []byte) []byte { return append(dst, m.Min, m.Max) }
func (m Hello) fields() string                  { return fmt.Sprintf("min=%d max=%d", m.Min, m.Max) }

// HelloReply is the controller's answer to Hello.
type HelloReply struct {
	Version uint8  `json:"version"`
	FWMajor uint8  `json:"fw_major"`
	FWMinor uint8  `json:"fw_minor"`
	Caps    Caps   `json:"caps"`
	Boot    uint16 `json:"boot"`
}

func (HelloReply) Type() Type { return TypeHelloReply }
func (m HelloReply) appendPayload(d []byte) []byte {
	d = append(d, m.Version, m.FWMajor, m.FWMinor)
	d = binary.BigEndian.AppendUint16(d, uint16(m.Caps))
	return binary.BigEndian.AppendUint16(d, m.Boot)
}
func (m HelloReply) fields() string {
	return fmt.Sprintf("version=%d fw=%d.%d caps=%04X boot=%d", m.Version, m.FWMajor, m.FWMinor, uint16(m.Caps), m.Boot)
}

// Caps is the capability bit set of a controller (§6).
type Caps uint16

// Capability bits.
const (
	CapDoor Caps = 1 << iota
	CapLock
	CapTamper
	CapMains
	CapLED
	CapBeeper
	capsAll = CapDoor | CapLock | CapTamper | CapMains | CapLED | CapBeeper
)

// Poll collects events and acknowledges those received up to Ack (§5).
type Poll struct {
	Ack uint8 `json:"ack"`
}

func (Poll) Type() Type                        { return TypePoll }
func (m Poll) appendPayload(dst []byte) []byte { return append(dst, m.Ack) }
func (m Poll) fields() string                  { return fmt.Sprintf("ack=%d", m.Ack) }

// PollReply carries the status and the oldest unacknowledged events.
type PollReply struct {
	Status
	Events []EventRecord `json:"events"`
}

func (PollReply) Type() Type { return TypePollReply }
func (m PollReply) appendPayload(dst []byte) []byte {
	dst = m.Status.append(dst)
	dst = append(dst, byte(len(m.Events)))
	for _, e := range m.Events {
		dst = append(dst, e.Num, byte(e.Kind), e.Arg)
		dst = binary.BigEndian.AppendUint16(dst, e.Age)
	}
	return dst
}
func (m PollReply) fields() string {
	evs := make([]string, len(m.Events))
	for i, e := range m.Events {
		evs[i] = fmt.Sprintf("%d:%s:%d:%d", e.Num, e.Kind, e.Arg, e.Age)
	}
	return m.Status.fields() + " events=[" + strings.Join(evs, ",") + "]"
}

// StatusRequest asks for the controller's status.
type StatusRequest struct{}

func (StatusRequest) Type() Type                    { return TypeStatus }
func (StatusRequest) appendPayload(d []byte) []byte { return d }
func (StatusRequest) fields() string                { return "" }

// StatusReply is the answer to StatusRequest.
type StatusReply struct {
	Status
	Boot   uint16 `json:"boot"`
	Uptime uint32 `json:"uptime_s"`
	Queued uint8  `json:"queued"`
}

func (StatusReply) Type() Type { return TypeStatusReply }
func (m StatusReply) appendPayload(d []byte) []byte {
	d = m.Status.append(d)
	d = binary.BigEndian.AppendUint16(d, m.Boot)
	d = binary.BigEndian.AppendUint32(d, m.Uptime)
	return append(d, m.Queued)
}
func (m StatusReply) fields() string {
	return fmt.Sprintf("%s boot=%d uptime=%d queued=%d", m.Status.fields(), m.Boot, m.Uptime, m.Queued)
}

// LockRequest locks the bolt.
type LockRequest struct{}

func (LockRequest) Type() Type                    { return TypeLock }
func (LockRequest) appendPayload(d []byte) []byte { return d }
func (LockRequest) fields() string                { return "" }

// Unlock unlocks the bolt for Seconds (1..900), then it relocks by itself.
type Unlock struct {
	Seconds uint16 `json:"seconds"`
}

func (Unlock) Type() Type                      { return TypeUnlock }
func (m Unlock) appendPayload(d []byte) []byte { return binary.BigEndian.AppendUint16(d, m.Seconds) }
func (m Unlock) fields() string                { return fmt.Sprintf("seconds=%d", m.Seconds) }

// Signal drives the LED and the beeper.
type Signal struct {
	LED     LED     `json:"led"`
	Pattern Pattern `json:"pattern"`
	Beeps   uint8   `json:"beeps"`
	Seconds uint8   `json:"seconds"`
}

func (Signal) Type() Type { return TypeSignal }
func (m Signal) appendPayload(d []byte) []byte {
	return append(d, byte(m.LED), byte(m.Pattern), m.Beeps, m.Seconds)
}
func (m Signal) fields() string {
	return fmt.Sprintf("led=%s pattern=%s beeps=%d seconds=%d", m.LED, m.Pattern, m.Beeps, m.Seconds)
}

// CommandReply answers Lock, Unlock and Signal with the resulting status.
type CommandReply struct {
	Reply Type `json:"-"` // TypeLockReply, TypeUnlockReply or TypeSignalReply
	Status
}

func (m CommandReply) Type() Type                    { return m.Reply }
func (m CommandReply) appendPayload(d []byte) []byte { return m.Status.append(d) }
func (m CommandReply) fields() string                { return m.Status.fields() }

// ErrorReply refuses a request (§7).
type ErrorReply struct {
	Code    ErrorCode `json:"code"`
	Request Type      `json:"-"`
}

func (ErrorReply) Type() Type                      { return TypeError }
func (m ErrorReply) appendPayload(d []byte) []byte { return append(d, byte(m.Code), byte(m.Request)) }
func (m ErrorReply) fields() string {
	return fmt.Sprintf("code=%s request=%s", m.Code.String(), m.Request)
}

// MarshalJSON adds the request type by name and the bilingual texts.
func (m ErrorReply) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"code": m.Code.String(), "request": m.Request.String(),
		"text_zh": m.Code.Text("zh-CN"), "text_en": m.Code.Text("en")})
}

// Error makes an ErrorReply usable as a Go error; it unwraps to its code's sentinel where there is
// one (e.g. ErrDoorOpen).
func (m ErrorReply) Error() string {
	return fmt.Sprintf("controller refused %s: %s (%s)", m.Request, m.Code.Text("en"), m.Code.Text("zh-CN"))
}

// Unwrap lets errors.Is match the code.
func (m ErrorReply) Unwrap() error { return m.Code }

// Status is the 5-byte status block (§6.1).
type Status struct {
	Door       Door        `json:"door"`
	Lock       LockState   `json:"lock"`
	Flags      StatusFlags `json:"flags"`
	UnlockLeft uint16      `json:"unlock_left_s"`
}

func decodeStatus(p []byte) (Status, error) {
	s := Status{Door: Door(p[0]), Lock: LockState(p[1]), Flags: StatusFlags(p[2]), UnlockLeft: binary.BigEndian.Uint16(p[3:])}
	if s.Door > DoorUnknown || s.Lock > LockFault || s.Flags&^flagsAll != 0 {
		return Status{}, payloadErr("status door %d lock %d flags %02X", p[0], p[1], p[2])
	}
	return s, nil
}

func (s Status) append(d []byte) []byte {
	d = append(d, byte(s.Door), byte(s.Lock), byte(s.Flags))
	return binary.BigEndian.AppendUint16(d, s.UnlockLeft)
}

func (s Status) fields() string {
	return fmt.Sprintf("door=%s lock=%s flags=%s unlock_left=%d", s.Door, s.Lock, s.Flags, s.UnlockLeft)
}

// Door is the door switch state.
type Door uint8

// Door states.
const (
	DoorClosed Door = iota
	DoorOpen
	DoorUnknown
)

func (d Door) String() string { return enumName([]string{"closed", "open", "unknown"}, uint8(d)) }

// MarshalText gives the name in JSON.
func (d Door) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// LockState is the bolt state.
type LockState uint8

// Bolt states.
const (
	Locked LockState = iota
	Unlocked
	LockFault
)

func (l LockState) String() string {
	return enumName([]string{"locked", "unlocked", "fault"}, uint8(l))
}

// MarshalText gives the name in JSON.
func (l LockState) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// StatusFlags are the status block flag bits.
type StatusFlags uint8

// Status flags.
const (
	FlagTamper StatusFlags = 1 << iota
	FlagMainsLost
	FlagOverflow
	FlagNotNegotiated
	flagsAll = FlagTamper | FlagMainsLost | FlagOverflow | FlagNotNegotiated
)

var flagNames = []string{"tamper", "mains_lost", "overflow", "not_negotiated"}

func (f StatusFlags) String() string {
	var s []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	if f&^flagsAll != 0 {
		s = append(s, fmt.Sprintf("0x%02X", uint8(f&^flagsAll)))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "+")
}

// MarshalJSON lists the set flags by name.
func (f StatusFlags) MarshalJSON() ([]byte, error) {
	s := []string{}
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return json.Marshal(s)
}

// LED colours for Signal.
type LED uint8

// LED colours.
const (
	LEDOff LED = iota
	LEDGreen
	LEDRed
	LEDAmber
)

func (l LED) String() string { return enumName([]string{"off", "green", "red", "amber"}, uint8(l)) }

// MarshalText gives the name in JSON.
func (l LED) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Pattern is the LED pattern for Signal.
type Pattern uint8

// LED patterns.
const (
	PatternSteady Pattern = iota
	PatternSlowBlink
	PatternFastBlink
)

func (p Pattern) String() string {
	return enumName([]string{"steady", "slow_blink", "fast_blink"}, uint8(p))
}

// MarshalText gives the name in JSON.
func (p Pattern) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func enumName(names []string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("0x%02X", v)
}

// Every payload type is a Message.
var (
	_ Message = Hello{}
	_ Message = HelloReply{}
	_ Message = Poll{}
	_ Message = PollReply{}
	_ Message = StatusRequest{}
	_ Message = StatusReply{}
	_ Message = LockRequest{}
	_ Message = Unlock{}
	_ Message = Signal{}
	_ Message = CommandReply{}
	_ Message = ErrorReply{}
	_ error   = ErrorReply{}
	_ error   = ErrorCode(0)
)
