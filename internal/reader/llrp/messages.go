package llrp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// This file writes the messages of both sides: the client's requests (the driver's) and the
// reader's responses, reports and events (the simulator's, and the tests' and vectors'). Every
// function appends one whole message to w.

// Simple writes a message whose body is a ROSpecID (ENABLE/START/STOP/DELETE/DISABLE_ROSPEC,
// §16.1.4–8; ROSpecID 0 means all ROSpecs for DELETE and DISABLE).
func Simple(w *Builder, t MessageType, id, rospecID uint32) {
	w.Message(Version101, t, id).U32(rospecID).EndMessage()
}

// Empty writes a message without a body (KEEPALIVE, KEEPALIVE_ACK, CLOSE_CONNECTION).
func Empty(w *Builder, t MessageType, id uint32) {
	w.Message(Version101, t, id).EndMessage()
}

// Capability sets of GET_READER_CAPABILITIES (§16.1.1).
const (
	CapabilitiesAll     = 0
	CapabilitiesGeneral = 1
)

// GetCapabilities writes GET_READER_CAPABILITIES.
func GetCapabilities(w *Builder, id uint32, requested uint8) {
	w.Message(Version101, GetReaderCapabilities, id).U8(requested).EndMessage()
}

// Event types of EventNotificationState (§16.2.7.5.1).
const (
	EventHopping         = 0
	EventGPI             = 1
	EventROSpec          = 2
	EventBufferFill      = 3
	EventReaderException = 4
	EventRFSurvey        = 5
	EventAISpec          = 6
	EventAISpecDetails   = 7
	EventAntenna         = 8
)

// ReaderConfig is what the driver sets with SET_READER_CONFIG.
type ReaderConfig struct {
	ResetToFactoryDefault bool
	Events                []uint16      // event types to switch on (the others are switched off)
	Keepalive             time.Duration // 0: no keepalives
}

// SetConfig writes SET_READER_CONFIG (§16.1.3): the reset flag, the event notifications, a
// ROReportSpec that reports upon the end of each AISpec (trigger 1, N = 0) with the antenna, peak
// RSSI, channel, first-seen time and seen count in every TagReportData, and the KeepaliveSpec.
func SetConfig(w *Builder, id uint32, c ReaderConfig) {
	w.Message(Version101, SetReaderConfig, id)
	var flag uint8
	if c.ResetToFactoryDefault {
		flag = 0x80
	}
	w.U8(flag)
	if len(c.Events) > 0 {
		w.Begin(ParamReaderEventNotificationSpec)
		for _, e := range c.Events {
			w.Begin(ParamEventNotificationState).U16(e).U8(0x80).End()
		}
		w.End()
	}
	w.Begin(ParamROReportSpec).U8(1).U16(0)
	// TagReportContentSelector bits, from the top: ROSpecID, SpecIndex, InventoryParameterSpecID,
	// AntennaID, ChannelIndex, PeakRSSI, FirstSeenTimestamp, LastSeenTimestamp, TagSeenCount,
	// AccessSpecID, then six reserved bits.
	w.Begin(ParamTagReportContentSelector).U16(1<<15 | 1<<12 | 1<<11 | 1<<10 | 1<<9 | 1<<7).End()
	w.End()
	if c.Keepalive > 0 {
		w.Begin(ParamKeepaliveSpec).U8(1).U32(uint32(c.Keepalive / time.Millisecond)).End()
	} else {
		w.Begin(ParamKeepaliveSpec).U8(0).U32(0).End()
	}
	w.EndMessage()
}

// ROSpec is one inventory round as the driver asks for it: one AISpec over Antennas that stops
// after Duration, or — when Duration is 0 — once no new tag has been seen for Quiet or Timeout has
// passed (TagObservationTrigger type 1, §16.2.4.2.1.1).
type ROSpec struct {
	ID         uint32
	Antennas   []int // from 1
	Duration   time.Duration
	Quiet      time.Duration
	Timeout    time.Duration
	Session    int
	TargetB    bool   // honoured only with StateAware
	StateAware bool   // the reader can do state-aware singulation (LLRPCapabilities)
	PowerIndex uint16 // TransmitPowerLevelTableEntry index; 0 leaves the reader's power alone
}

// AddSpec writes ADD_ROSPEC (§16.1.4) for s, its state Disabled, started by START_ROSPEC (null
// start trigger) and ending with its AISpec (null ROSpec stop trigger).
func AddSpec(w *Builder, id uint32, s ROSpec) {
	w.Message(Version101, AddROSpec, id)
	w.Begin(ParamROSpec).U32(s.ID).U8(0).U8(0) // priority 0, state Disabled
	w.Begin(ParamROBoundarySpec)
	w.Begin(ParamROSpecStartTrigger).U8(0).End()
	w.Begin(ParamROSpecStopTrigger).U8(0).U32(0).End()
	w.End()
	w.Begin(ParamAISpec).U16(uint16(len(s.Antennas)))
	for _, a := range s.Antennas {
		w.U16(uint16(a))
	}
	if s.Duration > 0 {
		w.Begin(ParamAISpecStopTrigger).U8(1).U32(ms(s.Duration)).End()
	} else {
		w.Begin(ParamAISpecStopTrigger).U8(3).U32(0)
		// TriggerType 1: upon seeing no more new tags for T ms, or the timeout.
		w.Begin(ParamTagObservationTrigger).U8(1).U8(0).U16(0).U16(0).U16(uint16(min(ms(s.Quiet), 0xFFFF))).U32(ms(s.Timeout)).End()
		w.End()
	}
	w.Begin(ParamInventoryParameterSpec).U16(1).U8(1) // spec 1, protocol EPCGlobalClass1Gen2
	w.Begin(ParamAntennaConfiguration).U16(0)         // antenna 0: every antenna of the AISpec
	if s.PowerIndex != 0 {
		w.Begin(ParamRFTransmitter).U16(1).U16(1).U16(s.PowerIndex).End()
	}
	// C1G2InventoryCommand. Where the reader can do state-aware singulation, TagInventoryStateAware
	// is set so that the target flag of our plan holds: the singulation action selects tags in
	// state A or B of the session (§16.3.1.2.1). A reader that cannot (many Impinj models say so
	// in LLRPCapabilities) would refuse that, so it gets the session alone and chooses the target
	// itself.
	aware := uint8(0)
	if s.StateAware {
		aware = 0x80
	}
	w.Begin(ParamC1G2InventoryCommand).U8(aware)
	w.Begin(ParamC1G2SingulationControl).U8(uint8(s.Session&3) << 6).U16(0).U32(0)
	if s.StateAware {
		action := uint8(0)
		if s.TargetB {
			action = 0x80
		}
		w.Begin(ParamC1G2StateAwareAction).U8(action).End()
	}
	w.End() // SingulationControl
	w.End() // InventoryCommand
	w.End() // AntennaConfiguration
	w.End() // InventoryParameterSpec
	w.End() // AISpec
	w.End() // ROSpec
	w.EndMessage()
}

func ms(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min(d/time.Millisecond, 0xFFFFFFFF))
}

// ParseAddSpec reads the parts of an ADD_ROSPEC the simulator honours: the ROSpecID, the
// antennas, the AISpec stop trigger, the session and the target.
func ParseAddSpec(body []byte) (ROSpec, error) {
	var s ROSpec
	p, ok, err := Find(body, ParamROSpec)
	if err != nil || !ok || len(p.Value) < 6 {
		return s, errorOr(err, "ADD_ROSPEC without a ROSpec")
	}
	s.ID = be32(p.Value)
	ai, ok, err := Find(p.Value[6:], ParamAISpec)
	if err != nil || !ok || len(ai.Value) < 2 {
		return s, errorOr(err, "ROSpec without an AISpec")
	}
	n := int(be16(ai.Value))
	if len(ai.Value) < 2+2*n {
		return s, errorOr(nil, "AISpec antenna list runs past its end")
	}
	for i := range n {
		s.Antennas = append(s.Antennas, int(be16(ai.Value[2+2*i:])))
	}
	rest := ai.Value[2+2*n:]
	if st, ok, _ := Find(rest, ParamAISpecStopTrigger); ok && len(st.Value) >= 5 {
		switch st.Value[0] {
		case 1:
			s.Duration = time.Duration(be32(st.Value[1:])) * time.Millisecond
		case 3:
			if ot, ok, _ := Find(st.Value[5:], ParamTagObservationTrigger); ok && len(ot.Value) >= 12 {
				s.Quiet = time.Duration(be16(ot.Value[6:])) * time.Millisecond
				s.Timeout = time.Duration(be32(ot.Value[8:])) * time.Millisecond
			}
		}
	}
	if ips, ok, _ := Find(rest, ParamInventoryParameterSpec); ok && len(ips.Value) >= 3 {
		if ac, ok, _ := Find(ips.Value[3:], ParamAntennaConfiguration); ok && len(ac.Value) >= 2 {
			if ic, ok, _ := Find(ac.Value[2:], ParamC1G2InventoryCommand); ok && len(ic.Value) >= 1 {
				if sc, ok, _ := Find(ic.Value[1:], ParamC1G2SingulationControl); ok && len(sc.Value) >= 7 {
					s.Session = int(sc.Value[0] >> 6)
					if act, ok, _ := Find(sc.Value[7:], ParamC1G2StateAwareAction); ok && len(act.Value) >= 1 {
						s.TargetB = act.Value[0]&0x80 != 0
					}
					s.StateAware = ic.Value[0]&0x80 != 0
				}
			}
			if tx, ok, _ := Find(ac.Value[2:], ParamRFTransmitter); ok && len(tx.Value) >= 6 {
				s.PowerIndex = be16(tx.Value[4:])
			}
		}
	}
	return s, nil
}

func errorOr(err error, what string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrParamLen, what)
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// Status writes a response whose body is an LLRPStatus (§16.2.8.1) with an error description.
func Status(w *Builder, t MessageType, id uint32, code StatusCode, description string) {
	w.Message(Version101, t, id)
	StatusParam(w, code, description)
	w.EndMessage()
}

// StatusParam writes an LLRPStatus parameter.
func StatusParam(w *Builder, code StatusCode, description string) {
	w.Begin(ParamLLRPStatus).U16(uint16(code)).UTF8(description).End()
}

// CapabilitiesResponse writes GET_READER_CAPABILITIES_RESPONSE with M_Success, the
// GeneralDeviceCapabilities and, when c has a power table, RegulatoryCapabilities with it.
func CapabilitiesResponse(w *Builder, id uint32, c Capabilities) {
	w.Message(Version101, GetReaderCapabilitiesResponse, id)
	StatusParam(w, StatusSuccess, "")
	w.Begin(ParamGeneralDeviceCapabilities).U16(uint16(c.Antennas)).U16(0x4000).U32(c.Manufacturer).U32(c.Model).UTF8(c.Firmware).End()
	if c.StateAware {
		// LLRPCapabilities: flags (CanDoTagInventoryStateAwareSingulation), max priority 1,
		// ClientRequestOpSpecTimeout 0, MaxNumROSpecs 1, MaxNumSpecsPerROSpec 1,
		// MaxNumInventoryParameterSpecsPerAISpec 1, MaxNumAccessSpecs 0, MaxNumOpSpecsPerAccessSpec 0.
		w.Begin(ParamLLRPCapabilities).U8(0x10).U8(1).U16(0).U32(1).U32(1).U32(1).U32(0).U32(0).End()
	}
	if len(c.PowerTable) > 0 {
		w.Begin(ParamRegulatoryCapabilities).U16(156).U16(0) // country 156 (China), standard unspecified
		w.Begin(ParamUHFBandCapabilities)
		for _, p := range c.PowerTable {
			w.Begin(ParamTransmitPowerLevelTableEntry).U16(p.Index).U16(uint16(int16(p.DBm * 100))).End()
		}
		w.End()
		w.End()
	}
	w.EndMessage()
}

// Notification writes a READER_EVENT_NOTIFICATION carrying the events of e that are set, with its
// UTCTimestamp.
func Notification(w *Builder, id uint32, e Event) {
	w.Message(Version101, ReaderEventNotification, id)
	w.Begin(ParamReaderEventNotificationData)
	w.Begin(ParamUTCTimestamp).U64(e.TimeUTC).End()
	if e.HasROSpec {
		w.Begin(ParamROSpecEvent).U8(uint8(e.ROSpecEvent)).U32(e.ROSpecID).U32(0).End()
	}
	if e.HasException {
		w.Begin(ParamReaderExceptionEvent).UTF8(e.Exception).End()
	}
	if e.HasAntenna {
		c := uint8(0)
		if e.AntennaConnected {
			c = 1
		}
		w.Begin(ParamAntennaEvent).U8(c).U16(uint16(e.AntennaID)).End()
	}
	if e.HasConnection {
		w.Begin(ParamConnectionAttemptEvent).U16(uint16(e.Connection)).End()
	}
	if e.HasClose {
		w.Begin(ParamConnectionCloseEvent).End()
	}
	w.End()
	w.EndMessage()
}

// AppendTag writes one TagReportData into a report being built: the EPC as EPC-96 (TV) when it
// is 12 bytes and as EPCData (TLV) otherwise, then the optional fields t has. A custom parameter
// with vendor 0 is added when custom is set, as some readers add their own.
func AppendTag(w *Builder, t *Tag, custom bool) {
	w.Begin(ParamTagReportData)
	if len(t.EPC) == 12 {
		w.TV(ParamEPC96, t.EPC...)
	} else {
		w.Begin(ParamEPCData).U16(uint16(8 * len(t.EPC))).Raw(t.EPC).End()
	}
	if t.HasROSpecID {
		w.TV(ParamROSpecID).U32(t.ROSpecID)
	}
	if t.HasAntenna {
		w.TV(ParamAntennaID).U16(uint16(t.Antenna))
	}
	if t.HasRSSI {
		w.TV(ParamPeakRSSI, byte(int8(t.PeakRSSI)))
	}
	if t.HasChannel {
		w.TV(ParamChannelIndex).U16(uint16(t.ChannelIndex))
	}
	if t.HasFirstSeen {
		w.TV(ParamFirstSeenTimestampUTC).U64(t.FirstSeenUTC)
	}
	if t.HasSeenCount {
		w.TV(ParamTagSeenCount).U16(uint16(t.SeenCount))
	}
	if t.HasPC {
		w.TV(ParamC1G2PC).U16(t.PC)
	}
	if custom {
		w.Begin(ParamCustom).U32(25882).U32(57).Raw([]byte{0xDE, 0xAD, 0xBE, 0xEF}).End()
	}
	w.End()
}

// ParamAntennaProperties is the AntennaProperties parameter (§16.2.6.6).
const ParamAntennaProperties ParamType = 221

// GetAntennaProperties writes GET_READER_CONFIG asking for the AntennaProperties of every
// antenna (AntennaID 0, RequestedData 2, §16.1.2.1).
func GetAntennaProperties(w *Builder, id uint32) {
	w.Message(Version101, GetReaderConfig, id).U16(0).U8(2).U16(0).U16(0).EndMessage()
}

// AntennaPropertiesResponse writes GET_READER_CONFIG_RESPONSE with M_Success and one
// AntennaProperties per antenna, connected or not.
func AntennaPropertiesResponse(w *Builder, id uint32, connected []bool) {
	w.Message(Version101, GetReaderConfigResponse, id)
	StatusParam(w, StatusSuccess, "")
	for i, c := range connected {
		flag := uint8(0)
		if c {
			flag = 0x80
		}
		w.Begin(ParamAntennaProperties).U8(flag).U8(0).U16(uint16(i + 1)).U16(0).End()
	}
	w.EndMessage()
}

// ParseAntennaProperties reads the AntennaProperties of a GET_READER_CONFIG_RESPONSE body: which
// antennas (from 1) the reader says are connected.
func ParseAntennaProperties(body []byte) (map[int]bool, error) {
	out := map[int]bool{}
	for b := body; len(b) > 0; {
		p, rest, err := NextParam(b)
		if err != nil {
			return nil, fmt.Errorf("GET_READER_CONFIG_RESPONSE: %w", err)
		}
		b = rest
		if p.Type == ParamAntennaProperties && len(p.Value) >= 4 {
			out[int(be16(p.Value[2:]))] = p.Value[0]&0x80 != 0
		}
	}
	return out, nil
}
