// Package r2000 speaks the "A0" serial protocol of R2000 / Impinj Indy reader modules (IND903,
// YR903, YR904 and their clones): a pure frame codec (Decoder, Parse, Append*) and a driver that
// joins the reader registry as "r2000".
//
// Contract: the codec never panics and never allocates per frame on the hot path; a bad stretch
// of bytes comes back as a *reader.DecodeError carrying its stream offset, and decoding resumes at
// the next valid frame. Frame layout and tables follow the YR903 Serial Interface Protocol v2.38
// (see firmware-protocol/r2000.md for what we implement and how ambiguities were resolved).
package r2000

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/reader"
)

// Sync is the first byte of every frame.
const Sync = 0xA0

// MaxFrame is the longest possible frame: Len is one byte and counts the bytes after itself.
const MaxFrame = 255 + 2

// Broadcast is the address every reader answers.
const Broadcast = 0xFF

// Command codes (v2.38 §2).
const (
	CmdReset           = 0x70
	CmdSetBaud         = 0x71
	CmdGetFirmware     = 0x72
	CmdSetAddress      = 0x73
	CmdSetWorkAntenna  = 0x74
	CmdGetWorkAntenna  = 0x75
	CmdSetPower        = 0x76
	CmdGetPower        = 0x77
	CmdSetRegion       = 0x78
	CmdGetRegion       = 0x79
	CmdRead            = 0x81
	CmdWrite           = 0x82
	CmdRealtimeInv     = 0x89
	CmdFastSwitchInv   = 0x8A
	CmdSessionInv      = 0x8B
	CmdGetBuffer       = 0x90
	CmdGetResetBuffer  = 0x91
	CmdBufferTagCount  = 0x92
	CmdResetInvBuffer  = 0x93
	CmdInventoryBuffer = 0x80
)

// Kind names what a frame is; it is the "kind" a decode tool prints.
type Kind string

// Frame kinds.
const (
	KindTag          Kind = "tag"           // tag report of 0x89/0x8A/0x8B
	KindSummary      Kind = "summary"       // end of an inventory round
	KindStatus       Kind = "status"        // Len 0x04 reply: one status/error code
	KindAntennaFault Kind = "antenna_fault" // 0x8A: antenna missing during fast switch
	KindVersion      Kind = "version"
	KindAntenna      Kind = "antenna" // reply to 0x75
	KindPower        Kind = "power"   // reply to 0x77
	KindRegion       Kind = "region"  // reply to 0x79
	KindWrite        Kind = "write"   // per-tag reply to 0x82
	KindReply        Kind = "reply"   // any other reply, payload in Data
	KindCommand      Kind = "command" // host → reader frame (command decoder only)
)

// Frame is one decoded frame. Slices point into the decoder's buffer and are valid until the
// next call to Next; Clone copies them out.
type Frame struct {
	Kind   Kind
	Offset int64
	Raw    []byte
	Addr   byte
	Cmd    byte
	Data   []byte

	// KindTag, KindWrite
	Antenna   int // from 1
	FreqIndex int
	PC        uint16
	EPC       []byte
	RSSIRaw   byte
	// KindStatus, KindAntennaFault, KindWrite
	Code byte
	// KindSummary
	ReadRate   int
	TotalReads int
	DurationMS int
	// KindVersion
	Major, Minor byte
	// KindPower
	PowerDBm int
	// KindRegion
	Region, StartFreq, EndFreq byte
	// KindWrite
	TagCount   int
	WriteCount int
}

// Checksum is the A0 check byte: the two's complement of the 8-bit sum of b.
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// check is the framing rule for reader.Scanner: Len ≥ 3 (Addr, Cmd, Check) and the whole frame
// sums to zero. A frame of plausible length that does not sum to zero is reported with its
// length, so the scanner reports it as one damaged frame.
func check(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	l := int(b[1])
	if l < 3 {
		return 0, fmt.Errorf("%w: Len 0x%02X below the minimum 0x03", reader.ErrLength, l)
	}
	n := l + 2
	if len(b) < n {
		return 0, nil
	}
	var s byte
	for _, c := range b[:n] {
		s += c
	}
	if s != 0 {
		return n, fmt.Errorf("%w: got check 0x%02X, want 0x%02X", reader.ErrChecksum, b[n-1], Checksum(b[:n-1]))
	}
	return n, nil
}

// Decoder reads frames from a byte stream.
type Decoder struct {
	sc       *reader.Scanner
	commands bool
}

// NewDecoder decodes reader → host frames (replies and tag reports) from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{sc: reader.NewScanner(r, Sync, MaxFrame, check)}
}

// NewCommandDecoder decodes host → reader frames (commands) from r. The two directions share the
// framing but not the meaning of a payload (A0 04 01 89 01 is a command with Repeat 1 one way and
// would be a status reply the other), so the caller says which side it listens to.
func NewCommandDecoder(r io.Reader) *Decoder {
	return &Decoder{sc: reader.NewScanner(r, Sync, MaxFrame, check), commands: true}
}

// Abandon gives up on a frame that has begun but not completed; see reader.Scanner.Abandon.
func (d *Decoder) Abandon() { d.sc.Abandon() }

// Next returns the next frame. A bad stretch gives *reader.DecodeError and decoding goes on with
// the next call; io.EOF (or the reader's error) ends the stream.
func (d *Decoder) Next() (Frame, error) {
	raw, off, err := d.sc.Next()
	if err != nil {
		return Frame{}, err
	}
	var f Frame
	if d.commands {
		f = Frame{Kind: KindCommand, Raw: raw, Addr: raw[2], Cmd: raw[3], Data: raw[4 : len(raw)-1]}
	} else if f, err = parse(raw); err != nil {
		return Frame{}, &reader.DecodeError{Offset: off, Skipped: int64(len(raw)), Err: err}
	}
	f.Offset = off
	return f, nil
}

// Parse interprets one whole reader → host frame whose checksum has been verified (or not: Parse
// checks it again, so it is safe on any bytes).
func Parse(raw []byte) (Frame, error) {
	if len(raw) < 5 || raw[0] != Sync {
		return Frame{}, fmt.Errorf("%w: %d bytes is no frame", reader.ErrTruncated, len(raw))
	}
	if n, err := check(raw); err != nil || n != len(raw) {
		if err == nil {
			err = fmt.Errorf("%w: Len says %d bytes, frame has %d", reader.ErrLength, n, len(raw))
		}
		return Frame{}, err
	}
	return parse(raw)
}

// parse interprets a frame whose framing and checksum the scanner has verified.
func parse(raw []byte) (Frame, error) {
	f := Frame{Kind: KindReply, Raw: raw, Addr: raw[2], Cmd: raw[3], Data: raw[4 : len(raw)-1]}
	d := f.Data
	if len(d) == 1 && f.Cmd != CmdGetWorkAntenna && f.Cmd != CmdGetPower {
		f.Kind, f.Code = KindStatus, d[0]
		return f, nil
	}
	switch f.Cmd {
	case CmdRealtimeInv, CmdSessionInv, CmdFastSwitchInv:
		switch {
		case f.Cmd == CmdFastSwitchInv && len(d) == 2: // AntID ErrorCode
			f.Kind, f.Antenna, f.Code = KindAntennaFault, int(d[0])+1, d[1]
			return f, nil
		case len(d) == 7 && f.Cmd == CmdFastSwitchInv: // TotalRead(3) CommandDuration(4)
			f.Kind = KindSummary
			f.TotalReads = int(d[0])<<16 | int(d[1])<<8 | int(d[2])
			f.DurationMS = int(binary.BigEndian.Uint32(d[3:7]))
			return f, nil
		case len(d) == 7: // AntID ReadRate(2) TotalRead(4)
			f.Kind = KindSummary
			f.Antenna = int(d[0]) + 1
			f.ReadRate = int(binary.BigEndian.Uint16(d[1:3]))
			f.TotalReads = int(binary.BigEndian.Uint32(d[3:7]))
			return f, nil
		}
		return parseTag(f)
	case CmdGetFirmware:
		if len(d) != 2 {
			return Frame{}, fmt.Errorf("%w: firmware reply with %d data bytes, want 2", reader.ErrMalformed, len(d))
		}
		f.Kind, f.Major, f.Minor = KindVersion, d[0], d[1]
	case CmdGetWorkAntenna:
		if len(d) != 1 {
			return Frame{}, fmt.Errorf("%w: work-antenna reply with %d data bytes, want 1", reader.ErrMalformed, len(d))
		}
		if d[0] >= 0x10 { // a status code, not an antenna index (indices are 0–3, codes ≥ 0x10)
			f.Kind, f.Code = KindStatus, d[0]
			return f, nil
		}
		f.Kind, f.Antenna = KindAntenna, int(d[0])+1
	case CmdGetPower:
		if len(d) != 1 && len(d) != 4 && len(d) != 8 {
			return Frame{}, fmt.Errorf("%w: power reply with %d data bytes", reader.ErrMalformed, len(d))
		}
		f.Kind, f.PowerDBm = KindPower, int(d[0])
	case CmdGetRegion:
		if len(d) != 3 {
			return Frame{}, fmt.Errorf("%w: region reply with %d data bytes, want 3", reader.ErrMalformed, len(d))
		}
		f.Kind, f.Region, f.StartFreq, f.EndFreq = KindRegion, d[0], d[1], d[2]
	case CmdWrite:
		// TagCount(2) DataLen(1) Data(PC EPC CRC) ErrCode(1) AntID(1) WriteCount(1)
		if len(d) < 3 || len(d) != 3+int(d[2])+3 || d[2] < 4 {
			return Frame{}, fmt.Errorf("%w: write reply of %d data bytes does not match its DataLen", reader.ErrMalformed, len(d))
		}
		dl := int(d[2])
		body := d[3 : 3+dl]
		f.Kind = KindWrite
		f.TagCount = int(binary.BigEndian.Uint16(d[0:2]))
		f.PC = binary.BigEndian.Uint16(body[0:2])
		f.EPC = body[2 : dl-2]
		f.Code = d[3+dl]
		f.Antenna = int(d[4+dl]&0x03) + 1
		f.WriteCount = int(d[5+dl])
	}
	return f, nil
}

// parseTag reads FreqAnt PC(2) EPC(N) RSSI, with N taken from the PC word as Gen2 defines it.
func parseTag(f Frame) (Frame, error) {
	d := f.Data
	if len(d) < 4 {
		return Frame{}, fmt.Errorf("%w: tag report of %d data bytes", reader.ErrMalformed, len(d))
	}
	pc := binary.BigEndian.Uint16(d[1:3])
	n := int(pc>>11) * 2
	if len(d) != 1+2+n+1 {
		return Frame{}, fmt.Errorf("%w: PC 0x%04X says a %d-byte EPC, tag report holds %d", reader.ErrMalformed, pc, n, len(d)-4)
	}
	f.Kind = KindTag
	f.FreqIndex = int(d[0] >> 2)
	f.Antenna = int(d[0]&0x03) + 1
	f.PC = pc
	f.EPC = d[3 : 3+n]
	f.RSSIRaw = d[3+n]
	return f, nil
}

// RSSIDBm converts a raw RSSI byte to dBm with the v2.38 table: raw−129 from 0x5A up, raw−130
// below (the table skips −40 dBm). The printed table's typo at 0x41 is resolved by this rule.
func RSSIDBm(raw byte) int {
	if raw >= 0x5A {
		return int(raw) - 129
	}
	return int(raw) - 130
}

// RSSIRawFor is the inverse of RSSIDBm for simulators; −40 dBm, which the table lacks, maps to
// the raw value for −39.
func RSSIRawFor(dBm int) byte {
	r := dBm + 129
	if dBm < -40 {
		r = dBm + 130
	}
	return byte(min(max(r, 0), 0xFF))
}

// FrequencyKHz converts a frequency index: 0–6 are 865.0 + 0.5k MHz, 7–59 are 902.0 + 0.5(k−7)
// MHz; others are unknown (0).
func FrequencyKHz(index int) int {
	switch {
	case index >= 0 && index <= 6:
		return 865000 + 500*index
	case index >= 7 && index <= 59:
		return 902000 + 500*(index-7)
	}
	return 0
}

// Clone copies the frame out of the decoder's buffer.
func (f Frame) Clone() Frame {
	raw := append([]byte(nil), f.Raw...)
	if f.Kind == KindCommand {
		return Frame{Kind: KindCommand, Offset: f.Offset, Raw: raw, Addr: raw[2], Cmd: raw[3], Data: raw[4 : len(raw)-1]}
	}
	g, err := Parse(raw)
	if err != nil {
		return Frame{Kind: KindReply, Offset: f.Offset, Raw: raw}
	}
	g.Offset = f.Offset
	return g
}

// Record turns the frame into its JSON-friendly form for decode tools.
func (f Frame) Record() reader.Record {
	r := reader.Record{Kind: string(f.Kind), Offset: f.Offset, Command: fmt.Sprintf("0x%02X", f.Cmd), Raw: reader.HexUpper(f.Raw)}
	switch f.Kind {
	case KindTag:
		rssi := RSSIDBm(f.RSSIRaw)
		r.EPC, r.PC, r.Antenna, r.RSSIDBm = reader.HexUpper(f.EPC), fmt.Sprintf("%04X", f.PC), f.Antenna, &rssi
		r.FrequencyKHz, r.ReadCount = FrequencyKHz(f.FreqIndex), 1
	case KindSummary:
		r.Antenna = f.Antenna
		r.Detail = map[string]any{"total_reads": f.TotalReads}
		if f.Cmd == CmdFastSwitchInv {
			r.Detail["duration_ms"] = f.DurationMS
		} else {
			r.Detail["read_rate"] = f.ReadRate
		}
	case KindStatus, KindAntennaFault:
		r.Antenna = f.Antenna
		r.Status = fmt.Sprintf("0x%02X", f.Code)
		r.Message, r.MessageZH = Status(f.Code).English(), Status(f.Code).Chinese()
	case KindVersion:
		r.Detail = map[string]any{"firmware": fmt.Sprintf("%d.%d", f.Major, f.Minor)}
	case KindAntenna:
		r.Antenna = f.Antenna
	case KindPower:
		r.Detail = map[string]any{"power_dbm": f.PowerDBm}
	case KindRegion:
		r.Detail = map[string]any{"region": int(f.Region), "start_freq": int(f.StartFreq), "end_freq": int(f.EndFreq)}
	case KindWrite:
		r.EPC, r.PC, r.Antenna = reader.HexUpper(f.EPC), fmt.Sprintf("%04X", f.PC), f.Antenna
		r.Status = fmt.Sprintf("0x%02X", f.Code)
		r.Message, r.MessageZH = Status(f.Code).English(), Status(f.Code).Chinese()
		r.Detail = map[string]any{"tag_count": f.TagCount, "write_count": f.WriteCount}
	default:
		r.Detail = map[string]any{"data": reader.HexUpper(f.Data)}
	}
	return r
}

// AppendFrame appends one frame with its checksum to dst.
func AppendFrame(dst []byte, addr, cmd byte, data ...byte) []byte {
	start := len(dst)
	dst = append(dst, Sync, byte(len(data)+3), addr, cmd)
	dst = append(dst, data...)
	return append(dst, Checksum(dst[start:]))
}

// AppendTag appends a tag report (as a reader sends it for cmd 0x89/0x8A/0x8B). antenna is from 1;
// the PC word's length field is set from len(epc), which must be even and at most 62 bytes.
func AppendTag(dst []byte, addr, cmd byte, antenna, freqIndex int, epc []byte, rssiRaw byte) []byte {
	start := len(dst)
	pc := uint16(len(epc)/2) << 11
	dst = append(dst, Sync, byte(len(epc)+7), addr, cmd, byte(freqIndex<<2)|byte((antenna-1)&0x03), byte(pc>>8), byte(pc))
	dst = append(dst, epc...)
	dst = append(dst, rssiRaw)
	return append(dst, Checksum(dst[start:]))
}
