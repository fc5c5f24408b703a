// Package llrp drives networked UHF readers that speak the EPCglobal Low Level Reader Protocol
// (LLRP 1.0.1, and 1.1 where it agrees) over TCP — Impinj, Zebra FX and the other fixed readers of
// enterprise installations — behind the same reader.Driver as the serial families.
//
// The package is written from the LLRP 1.0.1 specification (EPCglobal, ratified 2007, "LLRP");
// section numbers in comments refer to it. It has two halves that do not know each other's
// insides: the codec (codec.go, report.go, status.go, record.go) is pure functions over []byte —
// message framing (§15.1), TV and TLV parameters (§15.2), the messages and parameters this driver
// sends and the ones it reads — with no I/O and no clock; the driver (driver.go) owns one TCP
// connection and runs inventory rounds over it.
//
// Contract of the driver: New does no I/O; the first Info (or Inventory) waits for the reader's
// READER_EVENT_NOTIFICATION with a ConnectionAttemptEvent (§13.2.6.2; a reader already serving
// another client refuses here, with ErrConnectionRefused), asks GET_READER_CAPABILITIES and sends
// SET_READER_CONFIG (ResetToFactoryDefault, a ROReportSpec that reports at the end of each AISpec,
// a KeepaliveSpec, and the ROSpec and antenna event notifications). Each round is one ROSpec with
// one AISpec over the plan's antennas: ADD_ROSPEC, ENABLE_ROSPEC, START_ROSPEC, the tag reports,
// the ROSpec end event, DELETE_ROSPEC. KEEPALIVEs are acknowledged by the reading goroutine
// whatever the driver is doing. A non-success LLRPStatus is a *StatusError with operator text in
// zh-CN and English; a lost connection ends Inventory with an error, and reconnecting with
// backoff is the owner's job (the agent's reader supervisor dials again, exactly as it reopens an
// unplugged serial reader): a driver is one connection, as a serial driver is one open port.
package llrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/reader"
)

// Port is LLRP's IANA-assigned TCP port (§15.3); 5085 is LLRP over TLS.
const Port = 5084

// Protocol versions in the header (§15.1.1).
const (
	Version101 = 1 // LLRP 1.0.1
	Version11  = 2 // LLRP 1.1
)

// MessageType is the 10-bit message type of the header.
type MessageType uint16

// Message types (§16.1; numbers as in the binary encoding).
const (
	GetReaderCapabilities         MessageType = 1
	GetReaderConfig               MessageType = 2
	SetReaderConfig               MessageType = 3
	CloseConnectionResponse       MessageType = 4
	GetReaderCapabilitiesResponse MessageType = 11
	GetReaderConfigResponse       MessageType = 12
	SetReaderConfigResponse       MessageType = 13
	CloseConnection               MessageType = 14
	AddROSpec                     MessageType = 20
	DeleteROSpec                  MessageType = 21
	StartROSpec                   MessageType = 22
	StopROSpec                    MessageType = 23
	EnableROSpec                  MessageType = 24
	DisableROSpec                 MessageType = 25
	GetROSpecs                    MessageType = 26
	AddROSpecResponse             MessageType = 30
	DeleteROSpecResponse          MessageType = 31
	StartROSpecResponse           MessageType = 32
	StopROSpecResponse            MessageType = 33
	EnableROSpecResponse          MessageType = 34
	DisableROSpecResponse         MessageType = 35
	GetROSpecsResponse            MessageType = 36
	AddAccessSpec                 MessageType = 40
	DeleteAccessSpec              MessageType = 41
	EnableAccessSpec              MessageType = 42
	DisableAccessSpec             MessageType = 43
	GetAccessSpecs                MessageType = 44
	ClientRequestOp               MessageType = 45
	GetSupportedVersion           MessageType = 46
	SetProtocolVersion            MessageType = 47
	AddAccessSpecResponse         MessageType = 50
	DeleteAccessSpecResponse      MessageType = 51
	EnableAccessSpecResponse      MessageType = 52
	DisableAccessSpecResponse     MessageType = 53
	GetAccessSpecsResponse        MessageType = 54
	ClientRequestOpResponse       MessageType = 55
	GetSupportedVersionResponse   MessageType = 56
	SetProtocolVersionResponse    MessageType = 57
	GetReport                     MessageType = 60
	ROAccessReport                MessageType = 61
	Keepalive                     MessageType = 62
	ReaderEventNotification       MessageType = 63
	EnableEventsAndReports        MessageType = 64
	KeepaliveAck                  MessageType = 72
	ErrorMessage                  MessageType = 100
	CustomMessage                 MessageType = 1023
)

var messageNames = map[MessageType]string{
	GetReaderCapabilities: "GET_READER_CAPABILITIES", GetReaderConfig: "GET_READER_CONFIG",
	SetReaderConfig: "SET_READER_CONFIG", CloseConnectionResponse: "CLOSE_CONNECTION_RESPONSE",
	GetReaderCapabilitiesResponse: "GET_READER_CAPABILITIES_RESPONSE", GetReaderConfigResponse: "GET_READER_CONFIG_RESPONSE",
	SetReaderConfigResponse: "SET_READER_CONFIG_RESPONSE", CloseConnection: "CLOSE_CONNECTION",
	AddROSpec: "ADD_ROSPEC", DeleteROSpec: "DELETE_ROSPEC", StartROSpec: "START_ROSPEC", StopROSpec: "STOP_ROSPEC",
	EnableROSpec: "ENABLE_ROSPEC", DisableROSpec: "DISABLE_ROSPEC", GetROSpecs: "GET_ROSPECS",
	AddROSpecResponse: "ADD_ROSPEC_RESPONSE", DeleteROSpecResponse: "DELETE_ROSPEC_RESPONSE",
	StartROSpecResponse: "START_ROSPEC_RESPONSE", StopROSpecResponse: "STOP_ROSPEC_RESPONSE",
	EnableROSpecResponse: "ENABLE_ROSPEC_RESPONSE", DisableROSpecResponse: "DISABLE_ROSPEC_RESPONSE",
	GetROSpecsResponse: "GET_ROSPECS_RESPONSE", AddAccessSpec: "ADD_ACCESSSPEC", DeleteAccessSpec: "DELETE_ACCESSSPEC",
	EnableAccessSpec: "ENABLE_ACCESSSPEC", DisableAccessSpec: "DISABLE_ACCESSSPEC", GetAccessSpecs: "GET_ACCESSSPECS",
	ClientRequestOp: "CLIENT_REQUEST_OP", GetSupportedVersion: "GET_SUPPORTED_VERSION", SetProtocolVersion: "SET_PROTOCOL_VERSION",
	AddAccessSpecResponse: "ADD_ACCESSSPEC_RESPONSE", DeleteAccessSpecResponse: "DELETE_ACCESSSPEC_RESPONSE",
	EnableAccessSpecResponse: "ENABLE_ACCESSSPEC_RESPONSE", DisableAccessSpecResponse: "DISABLE_ACCESSSPEC_RESPONSE",
	GetAccessSpecsResponse: "GET_ACCESSSPECS_RESPONSE", ClientRequestOpResponse: "CLIENT_REQUEST_OP_RESPONSE",
	GetSupportedVersionResponse: "GET_SUPPORTED_VERSION_RESPONSE", SetProtocolVersionResponse: "SET_PROTOCOL_VERSION_RESPONSE",
	GetReport: "GET_REPORT", ROAccessReport: "RO_ACCESS_REPORT", Keepalive: "KEEPALIVE",
	ReaderEventNotification: "READER_EVENT_NOTIFICATION", EnableEventsAndReports: "ENABLE_EVENTS_AND_REPORTS",
	KeepaliveAck: "KEEPALIVE_ACK", ErrorMessage: "ERROR_MESSAGE", CustomMessage: "CUSTOM_MESSAGE",
}

func (t MessageType) String() string {
	if n, ok := messageNames[t]; ok {
		return n
	}
	return fmt.Sprintf("message type %d", uint16(t))
}

// Known reports whether t is a message type of LLRP 1.0.1 or 1.1.
func (t MessageType) Known() bool { _, ok := messageNames[t]; return ok }

// ParamType is a parameter type: 1–127 for TV parameters, 128–1023 for TLV parameters.
type ParamType uint16

// TV parameter types (§15.2.1; the numbers of the binary encoding).
const (
	ParamAntennaID                ParamType = 1
	ParamFirstSeenTimestampUTC    ParamType = 2
	ParamFirstSeenTimestampUptime ParamType = 3
	ParamLastSeenTimestampUTC     ParamType = 4
	ParamLastSeenTimestampUptime  ParamType = 5
	ParamPeakRSSI                 ParamType = 6
	ParamChannelIndex             ParamType = 7
	ParamTagSeenCount             ParamType = 8
	ParamROSpecID                 ParamType = 9
	ParamInventoryParameterSpecID ParamType = 10
	ParamC1G2CRC                  ParamType = 11
	ParamC1G2PC                   ParamType = 12
	ParamEPC96                    ParamType = 13
	ParamSpecIndex                ParamType = 14
	ParamClientRequestOpSpecRes   ParamType = 15
	ParamAccessSpecID             ParamType = 16
	ParamOpSpecID                 ParamType = 17
	ParamC1G2SingulationDetails   ParamType = 18
	ParamC1G2XPCW1                ParamType = 19 // LLRP 1.1
	ParamC1G2XPCW2                ParamType = 20 // LLRP 1.1
)

// tvLen is the whole length in bytes (type byte included) of each TV parameter: a TV parameter
// carries no length (§15.2.1), so an unknown one cannot be skipped.
var tvLen = [128]uint8{
	ParamAntennaID: 3, ParamFirstSeenTimestampUTC: 9, ParamFirstSeenTimestampUptime: 9,
	ParamLastSeenTimestampUTC: 9, ParamLastSeenTimestampUptime: 9, ParamPeakRSSI: 2, ParamChannelIndex: 3,
	ParamTagSeenCount: 3, ParamROSpecID: 5, ParamInventoryParameterSpecID: 3, ParamC1G2CRC: 3, ParamC1G2PC: 3,
	ParamEPC96: 13, ParamSpecIndex: 3, ParamClientRequestOpSpecRes: 3, ParamAccessSpecID: 5, ParamOpSpecID: 3,
	ParamC1G2SingulationDetails: 5, ParamC1G2XPCW1: 3, ParamC1G2XPCW2: 3,
}

// TLV parameter types used here (§16.2).
const (
	ParamUTCTimestamp                 ParamType = 128
	ParamUptime                       ParamType = 129
	ParamGeneralDeviceCapabilities    ParamType = 137
	ParamLLRPCapabilities             ParamType = 142
	ParamRegulatoryCapabilities       ParamType = 143
	ParamUHFBandCapabilities          ParamType = 144
	ParamTransmitPowerLevelTableEntry ParamType = 145
	ParamROSpec                       ParamType = 177
	ParamROBoundarySpec               ParamType = 178
	ParamROSpecStartTrigger           ParamType = 179
	ParamROSpecStopTrigger            ParamType = 182
	ParamAISpec                       ParamType = 183
	ParamAISpecStopTrigger            ParamType = 184
	ParamTagObservationTrigger        ParamType = 185
	ParamInventoryParameterSpec       ParamType = 186
	ParamKeepaliveSpec                ParamType = 220
	ParamAntennaConfiguration         ParamType = 222
	ParamRFTransmitter                ParamType = 224
	ParamROReportSpec                 ParamType = 237
	ParamTagReportContentSelector     ParamType = 238
	ParamTagReportData                ParamType = 240
	ParamEPCData                      ParamType = 241
	ParamReaderEventNotificationSpec  ParamType = 244
	ParamEventNotificationState       ParamType = 245
	ParamReaderEventNotificationData  ParamType = 246
	ParamROSpecEvent                  ParamType = 249
	ParamReaderExceptionEvent         ParamType = 252
	ParamAISpecEvent                  ParamType = 254
	ParamAntennaEvent                 ParamType = 255
	ParamConnectionAttemptEvent       ParamType = 256
	ParamConnectionCloseEvent         ParamType = 257
	ParamLLRPStatus                   ParamType = 287
	ParamFieldError                   ParamType = 288
	ParamParameterError               ParamType = 289
	ParamC1G2InventoryCommand         ParamType = 330
	ParamC1G2SingulationControl       ParamType = 336
	ParamC1G2StateAwareAction         ParamType = 337
	ParamCustom                       ParamType = 1023
)

// HeaderLen is the length of a message header: 3 reserved bits, 3-bit version, 10-bit type,
// 32-bit length (header included), 32-bit message ID (§15.1.1).
const HeaderLen = 10

// MaxMessage bounds the length a decoder accepts. The specification allows 4 GiB; a reader's
// largest real message is a report of a few thousand tags (≈ 40 bytes each), so a length beyond
// this is a damaged or hostile header, not a report.
const MaxMessage = 1 << 20

// Header is a decoded message header.
type Header struct {
	Version uint8
	Type    MessageType
	Length  uint32 // the whole message, header included
	ID      uint32
}

// Decode errors specific to LLRP; a *reader.DecodeError wraps one of them (or one of reader's).
var (
	ErrVersion   = fmt.Errorf("%w: unsupported LLRP version", reader.ErrMalformed)
	ErrReserved  = fmt.Errorf("%w: reserved header bits set", reader.ErrMalformed)
	ErrType      = fmt.Errorf("%w: unknown message type", reader.ErrMalformed)
	ErrTVUnknown = fmt.Errorf("%w: unknown TV parameter (it carries no length and cannot be skipped)", reader.ErrMalformed)
	ErrParamLen  = fmt.Errorf("%w: parameter length runs past its container", reader.ErrMalformed)
)

// ParseHeader checks a 10-byte header. A header is plausible when its reserved bits are zero, its
// version is 1.0.1 or 1.1, its type is an LLRP message type, and its length lies between the
// header's and MaxMessage: that is what a decoder uses to find the next message after damage.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, reader.ErrTruncated
	}
	w := binary.BigEndian.Uint16(b)
	h := Header{Version: uint8(w>>10) & 7, Type: MessageType(w & 0x3FF), Length: binary.BigEndian.Uint32(b[2:]), ID: binary.BigEndian.Uint32(b[6:])}
	switch {
	case w>>13 != 0:
		return h, ErrReserved
	case h.Version != Version101 && h.Version != Version11:
		return h, ErrVersion
	case !h.Type.Known():
		return h, ErrType
	case h.Length < HeaderLen || h.Length > MaxMessage:
		return h, reader.ErrLength
	}
	return h, nil
}

// Message is one whole LLRP message: its header and the body after it. Body aliases the decoder's
// buffer until the next call unless the message was cloned.
type Message struct {
	Header
	Offset int64  // stream offset of the header
	Body   []byte // the parameters and fields after the header
}

// Clone copies the body out of the decoder's buffer.
func (m Message) Clone() Message {
	m.Body = append([]byte(nil), m.Body...)
	return m
}

// Decoder splits an LLRP byte stream into messages. LLRP has no sync byte; a message is found by
// its header (see ParseHeader), so after a damaged header the decoder looks for the next plausible
// one byte by byte and reports the bytes between as one *reader.DecodeError. It keeps one buffer
// that grows to the largest message seen, never beyond MaxMessage, and never panics on any input.
type Decoder struct {
	r       io.Reader
	buf     []byte
	start   int
	end     int
	base    int64 // stream offset of buf[0]
	readErr error
	bad     int64 // stream offset where the current bad stretch began; -1 when none
	badErr  error
}

// NewDecoder returns a decoder reading r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 64<<10), bad: -1}
}

// Next returns the next message. Errors: *reader.DecodeError for a stretch that formed no message
// (call again to continue), reader.ErrIdle for an empty read, and the reader's own error (io.EOF
// at the end) once every buffered byte is consumed.
func (d *Decoder) Next() (Message, error) {
	for {
		for d.end-d.start >= HeaderLen {
			b := d.buf[d.start:d.end]
			h, err := ParseHeader(b)
			if err != nil {
				if d.bad < 0 {
					// Bytes that do not start a plausible header are garbage, whatever the field
					// that gave them away (ParseHeader says which, for a caller that asks).
					d.bad, d.badErr = d.base+int64(d.start), reader.ErrGarbage
				}
				d.start++
				continue
			}
			if int(h.Length) > len(b) {
				if d.readErr != nil {
					// The stream ended inside this message: it is cut short, and a plausible
					// header inside it is its data, not a message of its own.
					if d.bad < 0 {
						d.bad, d.badErr = d.base+int64(d.start), reader.ErrTruncated
					}
					d.start = d.end
					break
				}
				if int(h.Length) > len(d.buf) {
					nb := make([]byte, max(int(h.Length), 2*len(d.buf)))
					n := copy(nb, d.buf[d.start:d.end])
					d.buf, d.base, d.start, d.end = nb, d.base+int64(d.start), 0, n
				}
				break // need more bytes
			}
			if d.bad >= 0 {
				return Message{}, d.flushBad() // the good message waits for the next call
			}
			m := Message{Header: h, Offset: d.base + int64(d.start), Body: b[HeaderLen:h.Length]}
			d.start += int(h.Length)
			return m, nil
		}
		if d.readErr != nil {
			if d.start < d.end {
				if d.bad < 0 {
					d.bad, d.badErr = d.base+int64(d.start), reader.ErrTruncated
				}
				d.start = d.end
			}
			if d.bad >= 0 {
				return Message{}, d.flushBad()
			}
			return Message{}, d.readErr
		}
		if d.bad >= 0 && d.base+int64(d.start)-d.bad >= 64<<10 {
			return Message{}, d.flushBad() // an endless stream of garbage still gets reported
		}
		if d.start > 0 && len(d.buf)-d.end < len(d.buf)/4 {
			n := copy(d.buf, d.buf[d.start:d.end])
			d.base += int64(d.start)
			d.start, d.end = 0, n
		}
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			n = 0
			if err == nil {
				err = errors.New("reader returned an impossible count")
			}
		}
		d.end += n
		if err != nil {
			d.readErr = err
		} else if n == 0 {
			return Message{}, reader.ErrIdle
		}
	}
}

func (d *Decoder) flushBad() error {
	e := &reader.DecodeError{Offset: d.bad, Skipped: d.base + int64(d.start) - d.bad, Err: d.badErr}
	d.bad, d.badErr = -1, nil
	return e
}

// Param is one parameter: its type, whether it is TV, and its value (the bytes after its type, or
// after its type and length for TLV). Value aliases the message body.
type Param struct {
	Type  ParamType
	TV    bool
	Value []byte
}

// NextParam splits the first parameter off b (§15.2). A TV parameter starts with a byte whose top
// bit is set and has the fixed length of its type; a TLV parameter starts with 6 reserved bits and
// a 10-bit type, then a 16-bit length that counts its own header.
func NextParam(b []byte) (p Param, rest []byte, err error) {
	if len(b) == 0 {
		return Param{}, nil, io.EOF
	}
	if b[0]&0x80 != 0 {
		t := b[0] & 0x7F
		n := int(tvLen[t])
		if n == 0 {
			return Param{Type: ParamType(t), TV: true}, nil, fmt.Errorf("%w: type %d", ErrTVUnknown, t)
		}
		if len(b) < n {
			return Param{Type: ParamType(t), TV: true}, nil, fmt.Errorf("%w: TV type %d needs %d bytes, %d left", ErrParamLen, t, n, len(b))
		}
		return Param{Type: ParamType(t), TV: true, Value: b[1:n]}, b[n:], nil
	}
	if len(b) < 4 {
		return Param{}, nil, fmt.Errorf("%w: %d bytes left, a TLV header needs 4", ErrParamLen, len(b))
	}
	t := ParamType(binary.BigEndian.Uint16(b) & 0x3FF)
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < 4 || n > len(b) {
		return Param{Type: t}, nil, fmt.Errorf("%w: TLV type %d claims %d bytes, %d left", ErrParamLen, t, n, len(b))
	}
	return Param{Type: t, Value: b[4:n]}, b[n:], nil
}

// Find returns the first parameter of type t among the parameters in b, walking only the top
// level (sub-parameters are inside Value).
func Find(b []byte, t ParamType) (Param, bool, error) {
	for len(b) > 0 {
		p, rest, err := NextParam(b)
		if err != nil {
			return Param{}, false, err
		}
		if p.Type == t {
			return p, true, nil
		}
		b = rest
	}
	return Param{}, false, nil
}

// Builder writes messages and parameters. Begin/End bracket a TLV parameter (or a message) whose
// length is filled in when it ends; the zero Builder is ready to use and its buffer is reused.
type Builder struct {
	b     []byte
	stack []int
}

// Reset empties the builder and keeps its buffer.
func (w *Builder) Reset() { w.b, w.stack = w.b[:0], w.stack[:0] }

// Bytes returns the bytes written; they alias the builder until Reset.
func (w *Builder) Bytes() []byte { return w.b }

// U8 appends a byte.
func (w *Builder) U8(v uint8) *Builder { w.b = append(w.b, v); return w }

// U16 appends a big-endian 16-bit value.
func (w *Builder) U16(v uint16) *Builder { w.b = binary.BigEndian.AppendUint16(w.b, v); return w }

// U32 appends a big-endian 32-bit value.
func (w *Builder) U32(v uint32) *Builder { w.b = binary.BigEndian.AppendUint32(w.b, v); return w }

// U64 appends a big-endian 64-bit value.
func (w *Builder) U64(v uint64) *Builder { w.b = binary.BigEndian.AppendUint64(w.b, v); return w }

// Raw appends bytes as they are.
func (w *Builder) Raw(b []byte) *Builder { w.b = append(w.b, b...); return w }

// UTF8 appends a string field: a 16-bit byte count and the bytes (§15.2.2, utf8v).
func (w *Builder) UTF8(s string) *Builder {
	w.U16(uint16(len(s)))
	w.b = append(w.b, s...)
	return w
}

// TV appends a TV parameter: its type with the top bit set, then the value as given.
func (w *Builder) TV(t ParamType, value ...byte) *Builder {
	w.b = append(w.b, 0x80|byte(t))
	w.b = append(w.b, value...)
	return w
}

// Message starts a message; EndMessage fills in its length.
func (w *Builder) Message(version uint8, t MessageType, id uint32) *Builder {
	w.stack = append(w.stack, len(w.b))
	w.U16(uint16(version&7)<<10 | uint16(t)&0x3FF).U32(0).U32(id)
	return w
}

// EndMessage closes the message begun last.
func (w *Builder) EndMessage() *Builder {
	at := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	binary.BigEndian.PutUint32(w.b[at+2:], uint32(len(w.b)-at))
	return w
}

// Begin starts a TLV parameter; End fills in its length.
func (w *Builder) Begin(t ParamType) *Builder {
	w.stack = append(w.stack, len(w.b))
	w.U16(uint16(t) & 0x3FF).U16(0)
	return w
}

// End closes the TLV parameter begun last.
func (w *Builder) End() *Builder {
	at := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	binary.BigEndian.PutUint16(w.b[at+2:], uint16(len(w.b)-at))
	return w
}
