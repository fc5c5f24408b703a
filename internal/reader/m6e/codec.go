// Package m6e speaks the ThingMagic Mercury serial protocol of M6e / M6e Nano modules: a pure
// frame codec (Decoder, Parse, Append*) with the module's own nibble CRC, and a driver that joins
// the reader registry as "m6e".
//
// Contract: the codec never panics and never allocates per frame on the hot path; a bad stretch
// of bytes comes back as a *reader.DecodeError carrying its stream offset, and decoding resumes at
// the next valid frame. Continuous-read tag records are parsed by their metadata flags, never at
// fixed offsets. See firmware-protocol/m6e.md for what we implement and how ambiguities were
// resolved.
package m6e

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/reader"
)

// Sync is the first byte of every frame.
const Sync = 0xFF

// MaxFrame is the longest reader → host frame: LEN 255 + header, LEN, opcode, status, CRC.
const MaxFrame = 255 + 7

// Opcodes.
const (
	OpVersion        = 0x03
	OpReadSingle     = 0x21
	OpReadMultiple   = 0x22 // continuous-read records and keep-alives arrive under it
	OpWriteTagID     = 0x23
	OpWriteTagData   = 0x24
	OpMultiProtocol  = 0x2F // start/stop continuous read
	OpGetReadPower   = 0x62
	OpSetAntenna     = 0x91
	OpSetReadPower   = 0x92
	OpSetProtocol    = 0x93
	OpSetRegion      = 0x97
	OpGetRegion      = 0x67
	OpSetGen2Param   = 0x9B
	ProtocolGen2     = 0x0005
	StatusOK         = 0x0000
	StatusNoTags     = 0x0400 // keep-alive during continuous read; "no tag found" otherwise
	StatusNoAntenna  = 0x0503
	StatusThrottle   = 0x0504
	StatusReturnLoss = 0x0505
)

// Regions (Mercury API region codes).
const (
	RegionNA   = 0x01
	RegionIN   = 0x04
	RegionJP   = 0x05
	RegionPRC  = 0x06
	RegionEU3  = 0x08
	RegionKR2  = 0x09
	RegionAU   = 0x0B
	RegionNZ   = 0x0C
	RegionNA2  = 0x0D
	RegionNA3  = 0x0E
	RegionOpen = 0xFF
)

// Metadata flags of a tag record, in the order their fields appear.
const (
	MetaReadCount = 0x0001 // 1 byte
	MetaRSSI      = 0x0002 // 1 byte, int8 dBm
	MetaAntenna   = 0x0004 // 1 byte: TX port high nibble, RX port low nibble
	MetaFrequency = 0x0008 // 3 bytes, kHz
	MetaTimestamp = 0x0010 // 4 bytes, ms since the last keep-alive
	MetaPhase     = 0x0020 // 2 bytes, degrees
	MetaProtocol  = 0x0040 // 1 byte
	MetaData      = 0x0080 // 2 bytes length in bits, then the data
	MetaGPIO      = 0x0100 // 1 byte
	MetaKnown     = 0x01FF // every flag whose field size we know
)

// crcTable is k·0x1021 for each nibble k: the module shifts data in four bits at a time.
var crcTable = [16]uint16{
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
}

// crcByteTable folds the module's two nibble steps into one lookup per byte: shifting in byte c
// turns crc into (crc<<8 | c) ^ crcByteTable[crc>>8] (see crcNibbles, which it is tested against).
var crcByteTable = func() (t [256]uint16) {
	for h := range 256 {
		a := crcTable[h>>4]
		t[h] = a<<4 ^ crcTable[uint16(h&0x0F)^a>>12]
	}
	return t
}()

// CRC is the module's frame check: a 16-bit register from 0xFFFF, each nibble shifted in MSB
// first with polynomial 0x1021, no augmentation. It is not CRC-16/CCITT-FALSE.
func CRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = (crc<<8 | uint16(c)) ^ crcByteTable[crc>>8]
	}
	return crc
}

// crcNibbles is the module's algorithm as published, a nibble at a time.
func crcNibbles(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = (crc<<4 | uint16(c>>4)) ^ crcTable[crc>>12]
		crc = (crc<<4 | uint16(c&0x0F)) ^ crcTable[crc>>12]
	}
	return crc
}

// Kind names what a frame is; it is the "kind" a decode tool prints.
type Kind string

// Frame kinds.
const (
	KindTag       Kind = "tag"       // continuous-read tag record
	KindKeepAlive Kind = "keepalive" // opcode 0x22, no data, status 0x0400
	KindStatus    Kind = "status"    // any frame with a non-zero status
	KindVersion   Kind = "version"
	KindPower     Kind = "power"
	KindReply     Kind = "reply"   // any other reply, payload in Data
	KindCommand   Kind = "command" // host → reader frame (command decoder only)
)

// Frame is one decoded frame. Slices point into the decoder's buffer and are valid until the
// next call to Next; Clone copies them out.
type Frame struct {
	Kind   Kind
	Offset int64
	Raw    []byte
	Opcode byte
	Status uint16
	Data   []byte

	// KindTag: fields present when their metadata flag is set.
	MetaFlags    uint16
	ReadCount    int
	RSSIDBm      int
	Antenna      int // TX port, from 1
	FrequencyKHz int
	TimestampMS  uint32
	Phase        int
	Protocol     int
	PC           uint16
	EPC          []byte
	TagCRC       uint16
	// KindVersion
	Bootloader, Hardware, FirmwareDate, FirmwareVersion [4]byte
	// KindPower
	PowerCentiDBm int
}

func checkFor(extra int) reader.CheckFunc {
	return func(b []byte) (int, error) {
		if len(b) < 2 {
			return 0, nil
		}
		n := int(b[1]) + extra
		if len(b) < n {
			return 0, nil
		}
		got := binary.BigEndian.Uint16(b[n-2 : n])
		if want := CRC(b[1 : n-2]); got != want {
			// A damaged frame of plausible length: the scanner reports it as one error.
			return n, fmt.Errorf("%w: got CRC %04X, want %04X", reader.ErrChecksum, got, want)
		}
		return n, nil
	}
}

// Reader → host frames are LEN+7 bytes (status word); host → reader frames LEN+5.
var (
	checkResponse = checkFor(7)
	checkCommand  = checkFor(5)
)

// Decoder reads frames from a byte stream.
type Decoder struct {
	sc       *reader.Scanner
	commands bool
}

// NewDecoder decodes reader → host frames from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{sc: reader.NewScanner(r, Sync, MaxFrame, checkResponse)}
}

// NewCommandDecoder decodes host → reader frames (no status word) from r.
func NewCommandDecoder(r io.Reader) *Decoder {
	return &Decoder{sc: reader.NewScanner(r, Sync, MaxFrame, checkCommand), commands: true}
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
		f = Frame{Kind: KindCommand, Raw: raw, Opcode: raw[2], Data: raw[3 : len(raw)-2]}
	} else if f, err = parse(raw); err != nil {
		return Frame{}, &reader.DecodeError{Offset: off, Skipped: int64(len(raw)), Err: err}
	}
	f.Offset = off
	return f, nil
}

// Parse interprets one whole reader → host frame; it checks the CRC itself, so it is safe on any
// bytes.
func Parse(raw []byte) (Frame, error) {
	if len(raw) < 7 || raw[0] != Sync {
		return Frame{}, fmt.Errorf("%w: %d bytes is no frame", reader.ErrTruncated, len(raw))
	}
	if n, err := checkResponse(raw); err != nil || n != len(raw) {
		if err == nil {
			err = fmt.Errorf("%w: LEN says %d bytes, frame has %d", reader.ErrLength, n, len(raw))
		}
		return Frame{}, err
	}
	return parse(raw)
}

// parse interprets a frame whose framing and CRC the scanner has verified.
func parse(raw []byte) (Frame, error) {
	f := Frame{Kind: KindReply, Raw: raw, Opcode: raw[2], Status: binary.BigEndian.Uint16(raw[3:5]), Data: raw[5 : len(raw)-2]}
	switch {
	case f.Opcode == OpReadMultiple && f.Status == StatusNoTags && len(f.Data) == 0:
		f.Kind = KindKeepAlive
	case f.Status != StatusOK:
		f.Kind = KindStatus
		if f.Status == StatusNoAntenna && len(f.Data) == 1 {
			f.Antenna = int(f.Data[0])
		}
	case f.Opcode == OpReadMultiple && len(f.Data) > 0:
		return parseRecord(f)
	case f.Opcode == OpVersion:
		if len(f.Data) < 16 {
			return Frame{}, fmt.Errorf("%w: version reply of %d data bytes, want at least 16", reader.ErrMalformed, len(f.Data))
		}
		f.Kind = KindVersion
		copy(f.Bootloader[:], f.Data[0:4])
		copy(f.Hardware[:], f.Data[4:8])
		copy(f.FirmwareDate[:], f.Data[8:12])
		copy(f.FirmwareVersion[:], f.Data[12:16])
	case f.Opcode == OpGetReadPower:
		if len(f.Data) < 3 {
			return Frame{}, fmt.Errorf("%w: read-power reply of %d data bytes, want 3", reader.ErrMalformed, len(f.Data))
		}
		f.Kind = KindPower
		f.PowerCentiDBm = int(int16(binary.BigEndian.Uint16(f.Data[1:3])))
	}
	return f, nil
}

// parseRecord reads a continuous-read tag record: Option(1) SearchFlags(2) MetadataFlags(2)
// TagCount(1), then one field per metadata flag in flag order, then EPC length in bits (PC + EPC
// + tag CRC), PC(2), EPC, tag CRC(2).
func parseRecord(f Frame) (Frame, error) {
	d := f.Data
	if len(d) < 6 {
		return Frame{}, fmt.Errorf("%w: tag record of %d bytes", reader.ErrMalformed, len(d))
	}
	f.MetaFlags = binary.BigEndian.Uint16(d[3:5])
	if f.MetaFlags&^MetaKnown != 0 {
		return Frame{}, fmt.Errorf("%w: unknown metadata flags %04X: field sizes unknown", reader.ErrMalformed, f.MetaFlags&^MetaKnown)
	}
	if d[5] != 1 {
		return Frame{}, fmt.Errorf("%w: record holds %d tags, want 1", reader.ErrMalformed, d[5])
	}
	p := d[6:]
	short := func() error {
		return fmt.Errorf("%w: tag record shorter than its metadata flags %04X say", reader.ErrMalformed, f.MetaFlags)
	}
	take := func(n int) []byte {
		if n > len(p) {
			return nil
		}
		b := p[:n]
		p = p[n:]
		return b
	}
	for bit := uint16(1); bit <= MetaGPIO; bit <<= 1 {
		if f.MetaFlags&bit == 0 {
			continue
		}
		var b []byte
		switch bit {
		case MetaReadCount:
			if b = take(1); b != nil {
				f.ReadCount = int(b[0])
			}
		case MetaRSSI:
			if b = take(1); b != nil {
				f.RSSIDBm = int(int8(b[0]))
			}
		case MetaAntenna:
			if b = take(1); b != nil {
				f.Antenna = int(b[0] >> 4)
			}
		case MetaFrequency:
			if b = take(3); b != nil {
				f.FrequencyKHz = int(b[0])<<16 | int(b[1])<<8 | int(b[2])
			}
		case MetaTimestamp:
			if b = take(4); b != nil {
				f.TimestampMS = binary.BigEndian.Uint32(b)
			}
		case MetaPhase:
			if b = take(2); b != nil {
				f.Phase = int(binary.BigEndian.Uint16(b))
			}
		case MetaProtocol:
			if b = take(1); b != nil {
				f.Protocol = int(b[0])
			}
		case MetaData:
			if b = take(2); b != nil {
				bits := int(binary.BigEndian.Uint16(b))
				b = take((bits + 7) / 8)
			}
		case MetaGPIO:
			b = take(1)
		}
		if b == nil {
			return Frame{}, short()
		}
	}
	lb := take(2)
	if lb == nil {
		return Frame{}, short()
	}
	bits := int(binary.BigEndian.Uint16(lb))
	if bits%16 != 0 || bits < 32 || bits/8 != len(p) {
		return Frame{}, fmt.Errorf("%w: EPC length %d bits, record has %d bytes left", reader.ErrMalformed, bits, len(p))
	}
	f.Kind = KindTag
	f.PC = binary.BigEndian.Uint16(p[0:2])
	f.EPC = p[2 : len(p)-2]
	f.TagCRC = binary.BigEndian.Uint16(p[len(p)-2:])
	if f.MetaFlags&MetaReadCount == 0 {
		f.ReadCount = 1
	}
	return f, nil
}

// Clone copies the frame out of the decoder's buffer.
func (f Frame) Clone() Frame {
	raw := append([]byte(nil), f.Raw...)
	if f.Kind == KindCommand {
		return Frame{Kind: KindCommand, Offset: f.Offset, Raw: raw, Opcode: raw[2], Data: raw[3 : len(raw)-2]}
	}
	g, err := Parse(raw)
	if err != nil {
		return Frame{Kind: KindReply, Offset: f.Offset, Raw: raw}
	}
	g.Offset = f.Offset
	return g
}

// Firmware formats the firmware version as the module prints it.
func (f Frame) Firmware() string {
	v := f.FirmwareVersion
	return fmt.Sprintf("%02X.%02X.%02X.%02X", v[0], v[1], v[2], v[3])
}

// Record turns the frame into its JSON-friendly form for decode tools.
func (f Frame) Record() reader.Record {
	r := reader.Record{Kind: string(f.Kind), Offset: f.Offset, Command: fmt.Sprintf("0x%02X", f.Opcode), Raw: reader.HexUpper(f.Raw)}
	if f.Kind != KindCommand {
		r.Status = fmt.Sprintf("0x%04X", f.Status)
	}
	switch f.Kind {
	case KindTag:
		r.EPC, r.PC, r.ReadCount = reader.HexUpper(f.EPC), fmt.Sprintf("%04X", f.PC), f.ReadCount
		if f.MetaFlags&MetaRSSI != 0 {
			rssi := f.RSSIDBm
			r.RSSIDBm = &rssi
		}
		if f.MetaFlags&MetaAntenna != 0 {
			r.Antenna = f.Antenna
		}
		r.FrequencyKHz = f.FrequencyKHz
		r.Detail = map[string]any{"metadata_flags": fmt.Sprintf("%04X", f.MetaFlags)}
		if f.MetaFlags&MetaTimestamp != 0 {
			r.Detail["timestamp_ms"] = f.TimestampMS
		}
		if f.MetaFlags&MetaPhase != 0 {
			r.Detail["phase"] = f.Phase
		}
		if f.MetaFlags&MetaProtocol != 0 {
			r.Detail["protocol"] = f.Protocol
		}
	case KindStatus, KindKeepAlive:
		r.Antenna = f.Antenna
		r.Message, r.MessageZH = StatusText(f.Status)
	case KindVersion:
		r.Detail = map[string]any{"firmware": f.Firmware(), "hardware": reader.HexUpper(f.Hardware[:]), "bootloader": reader.HexUpper(f.Bootloader[:])}
	case KindPower:
		r.Detail = map[string]any{"power_cdbm": f.PowerCentiDBm}
	default:
		r.Detail = map[string]any{"data": reader.HexUpper(f.Data)}
	}
	return r
}

// AppendCommand appends a host → reader frame.
func AppendCommand(dst []byte, op byte, data ...byte) []byte {
	start := len(dst)
	dst = append(dst, Sync, byte(len(data)), op)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint16(dst, CRC(dst[start+1:]))
}

// AppendResponse appends a reader → host frame.
func AppendResponse(dst []byte, op byte, status uint16, data ...byte) []byte {
	start := len(dst)
	dst = append(dst, Sync, byte(len(data)), op, byte(status>>8), byte(status))
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint16(dst, CRC(dst[start+1:]))
}

// TagMeta is what a simulator puts in a tag record besides the EPC.
type TagMeta struct {
	Flags        uint16
	ReadCount    int
	RSSIDBm      int
	Antenna      int
	FrequencyKHz int
	TimestampMS  uint32
	Phase        int
}

// AppendTagRecord appends a continuous-read tag record carrying the fields m.Flags selects (any
// of the known flags; MetaData adds an empty data field, MetaGPIO a zero byte). epc must be of
// even length.
func AppendTagRecord(dst []byte, m TagMeta, epc []byte) []byte {
	start := len(dst)
	dst = append(dst, Sync, 0, OpReadMultiple, 0, 0, 0x10, 0x00, 0x1B, byte(m.Flags>>8), byte(m.Flags), 1)
	fl := m.Flags & MetaKnown
	if fl&MetaReadCount != 0 {
		dst = append(dst, byte(m.ReadCount))
	}
	if fl&MetaRSSI != 0 {
		dst = append(dst, byte(int8(m.RSSIDBm)))
	}
	if fl&MetaAntenna != 0 {
		dst = append(dst, byte(m.Antenna<<4|m.Antenna&0x0F))
	}
	if fl&MetaFrequency != 0 {
		dst = append(dst, byte(m.FrequencyKHz>>16), byte(m.FrequencyKHz>>8), byte(m.FrequencyKHz))
	}
	if fl&MetaTimestamp != 0 {
		dst = binary.BigEndian.AppendUint32(dst, m.TimestampMS)
	}
	if fl&MetaPhase != 0 {
		dst = binary.BigEndian.AppendUint16(dst, uint16(m.Phase))
	}
	if fl&MetaProtocol != 0 {
		dst = append(dst, ProtocolGen2)
	}
	if fl&MetaData != 0 {
		dst = append(dst, 0, 0)
	}
	if fl&MetaGPIO != 0 {
		dst = append(dst, 0)
	}
	pc := uint16(len(epc)/2) << 11
	dst = binary.BigEndian.AppendUint16(dst, uint16((len(epc)+4)*8))
	dst = binary.BigEndian.AppendUint16(dst, pc)
	dst = append(dst, epc...)
	dst = binary.BigEndian.AppendUint16(dst, gen2CRC(dst[len(dst)-len(epc)-2:]))
	dst[start+1] = byte(len(dst) - start - 5)
	return binary.BigEndian.AppendUint16(dst, CRC(dst[start+1:]))
}

// gen2CRC is the tag's own CRC-16 over PC+EPC (poly 0x1021, init 0xFFFF, inverted).
func gen2CRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}
