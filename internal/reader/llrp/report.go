package llrp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Tag is one TagReportData (§16.2.7.3) of an RO_ACCESS_REPORT. The Has* fields say which optional
// parameters the reader sent; EPC aliases the message body.
type Tag struct {
	EPC          []byte
	Antenna      int // from 1, as LLRP numbers antennas
	PeakRSSI     int // dBm
	ChannelIndex int // from 1, an index into the reader's frequency table
	SeenCount    int
	FirstSeenUTC uint64 // microseconds since the Unix epoch
	PC           uint16
	ROSpecID     uint32
	HasAntenna   bool
	HasRSSI      bool
	HasChannel   bool
	HasSeenCount bool
	HasFirstSeen bool
	HasPC        bool
	HasROSpecID  bool
}

// FirstSeen is FirstSeenTimestampUTC as a time, the zero time when the reader did not send it.
func (t *Tag) FirstSeen() time.Time {
	if !t.HasFirstSeen {
		return time.Time{}
	}
	return time.UnixMicro(int64(t.FirstSeenUTC)).UTC()
}

// TagIterator walks the TagReportData of an RO_ACCESS_REPORT body in order without allocating:
//
//	it := llrp.Tags(body)
//	for it.Next() {
//		use(&it.Tag) // reused by the next call: copy what you keep
//	}
//	if err := it.Err(); err != nil { … }
//
// Custom parameters (type 1023, vendor extensions, §14.2.5) and the other TLV parameters this
// driver does not use are skipped by their length, at the report's level and inside each tag. An
// error means the report is malformed; the tags before it were delivered.
type TagIterator struct {
	Tag Tag
	b   []byte
	err error
}

// Tags returns an iterator over the TagReportData of an RO_ACCESS_REPORT body.
func Tags(body []byte) TagIterator { return TagIterator{b: body} }

// Next advances to the next tag; it returns false at the end or on an error (see Err).
func (it *TagIterator) Next() bool {
	for len(it.b) > 0 && it.err == nil {
		p, rest, err := NextParam(it.b)
		if err != nil {
			it.err = fmt.Errorf("RO_ACCESS_REPORT: %w", err)
			return false
		}
		it.b = rest
		if p.Type != ParamTagReportData || p.TV {
			continue // AccessSpec results, RFSurveyReportData, Custom: not ours
		}
		it.Tag = Tag{}
		if err := parseTag(p.Value, &it.Tag); err != nil {
			it.err = fmt.Errorf("RO_ACCESS_REPORT: TagReportData: %w", err)
			return false
		}
		return true
	}
	return false
}

// Err is why the iteration stopped early, nil at the end of a sound report.
func (it *TagIterator) Err() error { return it.err }

// ForEachTag calls fn for each TagReportData of an RO_ACCESS_REPORT body (see TagIterator), with a
// Tag that is reused between calls.
func ForEachTag(body []byte, fn func(*Tag)) error {
	it := Tags(body)
	for it.Next() {
		fn(&it.Tag)
	}
	return it.Err()
}

// parseTag reads the sub-parameters of one TagReportData. The TV parameters are handled inline
// (rather than through NextParam) because this is the hot loop of a busy reader.
func parseTag(b []byte, t *Tag) error {
	for len(b) > 0 {
		if c := b[0]; c&0x80 != 0 {
			typ := c & 0x7F
			n := int(tvLen[typ])
			if n == 0 {
				return fmt.Errorf("%w: type %d", ErrTVUnknown, typ)
			}
			if len(b) < n {
				return fmt.Errorf("%w: TV type %d needs %d bytes, %d left", ErrParamLen, typ, n, len(b))
			}
			v := b[1:n]
			switch ParamType(typ) {
			case ParamEPC96:
				t.EPC = v
			case ParamAntennaID:
				t.Antenna, t.HasAntenna = int(binary.BigEndian.Uint16(v)), true
			case ParamPeakRSSI:
				t.PeakRSSI, t.HasRSSI = int(int8(v[0])), true
			case ParamChannelIndex:
				t.ChannelIndex, t.HasChannel = int(binary.BigEndian.Uint16(v)), true
			case ParamTagSeenCount:
				t.SeenCount, t.HasSeenCount = int(binary.BigEndian.Uint16(v)), true
			case ParamFirstSeenTimestampUTC:
				t.FirstSeenUTC, t.HasFirstSeen = binary.BigEndian.Uint64(v), true
			case ParamC1G2PC:
				t.PC, t.HasPC = binary.BigEndian.Uint16(v), true
			case ParamROSpecID:
				t.ROSpecID, t.HasROSpecID = binary.BigEndian.Uint32(v), true
			}
			b = b[n:]
			continue
		}
		p, rest, err := NextParam(b)
		if err != nil {
			return err
		}
		b = rest
		if p.Type == ParamEPCData {
			// EPCData: EPCLengthBits, then the EPC bits padded to a whole number of bytes (§16.2.7.3.1).
			if len(p.Value) < 2 {
				return fmt.Errorf("%w: EPCData without its bit count", ErrParamLen)
			}
			bits := int(binary.BigEndian.Uint16(p.Value))
			n := (bits + 7) / 8
			if n > len(p.Value)-2 {
				return fmt.Errorf("%w: EPCData claims %d bits in %d bytes", ErrParamLen, bits, len(p.Value)-2)
			}
			t.EPC = p.Value[2 : 2+n]
		}
	}
	if t.EPC == nil {
		return fmt.Errorf("%w: TagReportData without an EPC", ErrParamLen)
	}
	return nil
}

// ConnectionStatus is the status of a ConnectionAttemptEvent (§16.2.7.6.12).
type ConnectionStatus uint16

// Connection attempt outcomes.
const (
	ConnectionSuccess               ConnectionStatus = 0
	ConnectionReaderInitiatedExists ConnectionStatus = 1
	ConnectionClientInitiatedExists ConnectionStatus = 2
	ConnectionOtherFailure          ConnectionStatus = 3
	ConnectionAnotherAttempted      ConnectionStatus = 4
)

// English is the operator text of a connection attempt's outcome.
func (s ConnectionStatus) English() string {
	switch s {
	case ConnectionSuccess:
		return "connected"
	case ConnectionReaderInitiatedExists:
		return "the reader already has a connection it opened itself"
	case ConnectionClientInitiatedExists:
		return "the reader is already connected to another client (a second agent, or the vendor's tool?)"
	case ConnectionOtherFailure:
		return "the reader refused the connection"
	case ConnectionAnotherAttempted:
		return "another client tried to connect"
	}
	return fmt.Sprintf("unknown connection status %d", uint16(s))
}

// Chinese is the operator text in zh-CN.
func (s ConnectionStatus) Chinese() string {
	switch s {
	case ConnectionSuccess:
		return "已连接"
	case ConnectionReaderInitiatedExists:
		return "读写器已有其自行发起的连接"
	case ConnectionClientInitiatedExists:
		return "读写器已被其他客户端连接（另一个 agent 或厂商工具？）"
	case ConnectionOtherFailure:
		return "读写器拒绝了连接"
	case ConnectionAnotherAttempted:
		return "另一个客户端尝试连接"
	}
	return fmt.Sprintf("未知连接状态 %d", uint16(s))
}

// ROSpecEventType says what happened to a ROSpec (§16.2.7.6.4).
type ROSpecEventType uint8

// ROSpec events.
const (
	ROSpecStarted   ROSpecEventType = 0
	ROSpecEnded     ROSpecEventType = 1
	ROSpecPreempted ROSpecEventType = 2
)

// Event is the content of a ReaderEventNotificationData (§16.2.7.6) this driver acts on; the
// Has* fields say which events it carried (a notification may carry several).
type Event struct {
	TimeUTC uint64 // microseconds since the epoch, or the reader's uptime when Uptime is set
	Uptime  bool

	HasConnection bool
	Connection    ConnectionStatus
	HasClose      bool // ConnectionCloseEvent: the reader is closing the connection

	HasROSpec   bool
	ROSpecEvent ROSpecEventType
	ROSpecID    uint32

	HasAntenna       bool
	AntennaConnected bool
	AntennaID        int

	HasException bool
	Exception    string // ReaderExceptionEvent's message
}

// ParseEvent reads the body of a READER_EVENT_NOTIFICATION. Events it does not know (hopping, GPI,
// buffer levels, custom) are skipped.
func ParseEvent(body []byte) (Event, error) {
	var e Event
	p, ok, err := Find(body, ParamReaderEventNotificationData)
	if err != nil {
		return e, fmt.Errorf("READER_EVENT_NOTIFICATION: %w", err)
	}
	if !ok {
		return e, fmt.Errorf("READER_EVENT_NOTIFICATION: %w: no ReaderEventNotificationData", ErrParamLen)
	}
	b := p.Value
	for len(b) > 0 {
		q, rest, err := NextParam(b)
		if err != nil {
			return e, fmt.Errorf("ReaderEventNotificationData: %w", err)
		}
		b = rest
		v := q.Value
		short := func(n int) error {
			if len(v) < n {
				return fmt.Errorf("ReaderEventNotificationData: %w: parameter %d has %d bytes, needs %d", ErrParamLen, q.Type, len(v), n)
			}
			return nil
		}
		switch q.Type {
		case ParamUTCTimestamp, ParamUptime:
			if err := short(8); err != nil {
				return e, err
			}
			e.TimeUTC, e.Uptime = binary.BigEndian.Uint64(v), q.Type == ParamUptime
		case ParamConnectionAttemptEvent:
			if err := short(2); err != nil {
				return e, err
			}
			e.HasConnection, e.Connection = true, ConnectionStatus(binary.BigEndian.Uint16(v))
		case ParamConnectionCloseEvent:
			e.HasClose = true
		case ParamROSpecEvent:
			if err := short(5); err != nil {
				return e, err
			}
			e.HasROSpec, e.ROSpecEvent, e.ROSpecID = true, ROSpecEventType(v[0]), binary.BigEndian.Uint32(v[1:])
		case ParamAntennaEvent:
			if err := short(3); err != nil {
				return e, err
			}
			e.HasAntenna, e.AntennaConnected, e.AntennaID = true, v[0] == 1, int(binary.BigEndian.Uint16(v[1:]))
		case ParamReaderExceptionEvent:
			e.HasException = true
			if len(v) >= 2 {
				n := int(binary.BigEndian.Uint16(v))
				if n <= len(v)-2 {
					e.Exception = string(v[2 : 2+n])
				}
			}
		}
	}
	return e, nil
}

// Capabilities is what this driver reads from GET_READER_CAPABILITIES_RESPONSE (§16.1.2).
type Capabilities struct {
	Antennas     int
	Manufacturer uint32 // IANA private enterprise number (Impinj 25882, Zebra/Motorola 161)
	Model        uint32
	Firmware     string
	// PowerTable maps TransmitPowerLevelTableEntry indices to dBm (§16.2.3.6.1).
	PowerTable []PowerLevel
	// StateAware: LLRPCapabilities' CanDoTagInventoryStateAwareSingulation (§16.2.3.3).
	StateAware bool
}

// PowerLevel is one entry of the reader's transmit power table.
type PowerLevel struct {
	Index uint16
	DBm   float64
}

// ParseCapabilities reads a GET_READER_CAPABILITIES_RESPONSE body (after its LLRPStatus).
func ParseCapabilities(body []byte) (Capabilities, error) {
	var c Capabilities
	g, ok, err := Find(body, ParamGeneralDeviceCapabilities)
	if err != nil {
		return c, fmt.Errorf("GET_READER_CAPABILITIES_RESPONSE: %w", err)
	}
	if ok {
		// MaxNumberOfAntennaSupported u16, two flag bits and 14 reserved, DeviceManufacturerName
		// u32, ModelName u32, ReaderFirmwareVersion utf8v, then sub-parameters.
		v := g.Value
		if len(v) < 12 {
			return c, fmt.Errorf("GeneralDeviceCapabilities: %w: %d bytes", ErrParamLen, len(v))
		}
		c.Antennas = int(binary.BigEndian.Uint16(v))
		c.Manufacturer = binary.BigEndian.Uint32(v[4:])
		c.Model = binary.BigEndian.Uint32(v[8:])
		if len(v) >= 14 {
			n := int(binary.BigEndian.Uint16(v[12:]))
			if n <= len(v)-14 {
				c.Firmware = string(v[14 : 14+n])
			}
		}
	}
	if l, ok, err := Find(body, ParamLLRPCapabilities); err == nil && ok && len(l.Value) >= 1 {
		c.StateAware = l.Value[0]&0x10 != 0
	}
	r, ok, err := Find(body, ParamRegulatoryCapabilities)
	if err != nil || !ok || len(r.Value) < 4 {
		return c, nil // the power table is optional: without it the reader's own power stands
	}
	// RegulatoryCapabilities: CountryCode u16, CommunicationsStandard u16, then UHFBandCapabilities.
	u, ok, err := Find(r.Value[4:], ParamUHFBandCapabilities)
	if err != nil || !ok {
		return c, nil
	}
	for b := u.Value; len(b) > 0; {
		p, rest, err := NextParam(b)
		if err != nil {
			break
		}
		b = rest
		if p.Type == ParamTransmitPowerLevelTableEntry && len(p.Value) >= 4 {
			c.PowerTable = append(c.PowerTable, PowerLevel{Index: binary.BigEndian.Uint16(p.Value),
				DBm: float64(int16(binary.BigEndian.Uint16(p.Value[2:]))) / 100})
		}
	}
	return c, nil
}

// PowerIndex returns the table index whose power is nearest dBm, and false when the table is empty.
func (c Capabilities) PowerIndex(dBm float64) (uint16, bool) {
	best, found := uint16(0), false
	bestDiff := 0.0
	for _, p := range c.PowerTable {
		d := p.DBm - dBm
		if d < 0 {
			d = -d
		}
		if !found || d < bestDiff {
			best, bestDiff, found = p.Index, d, true
		}
	}
	return best, found
}
