package llrp

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/custodyhq/custody/internal/reader"
)

// Records turns one message into the records `custody-agent decode` prints: one "tag" record per
// TagReportData of an RO_ACCESS_REPORT (a report without tags is one "report" record), one
// "event" record per READER_EVENT_NOTIFICATION, a "response" record with the status for each
// response, "reader_error" for ERROR_MESSAGE, "keepalive"/"keepalive_ack", and "command" for the
// client's requests. A message whose body breaks the encoding gives an error instead.
func Records(m Message) ([]reader.Record, error) {
	base := reader.Record{Offset: m.Offset, Command: m.Type.String()}
	switch m.Type {
	case ROAccessReport:
		var out []reader.Record
		err := ForEachTag(m.Body, func(t *Tag) {
			r := base
			r.Kind = "tag"
			r.EPC = reader.HexUpper(t.EPC)
			r.Antenna = t.Antenna
			if t.HasRSSI {
				v := t.PeakRSSI
				r.RSSIDBm = &v
			}
			r.ReadCount = t.SeenCount
			d := map[string]any{}
			if t.HasChannel {
				d["channel_index"] = t.ChannelIndex
			}
			if t.HasFirstSeen {
				d["first_seen"] = t.FirstSeen().Format(time.RFC3339Nano)
			}
			if t.HasROSpecID {
				d["rospec_id"] = t.ROSpecID
			}
			if t.HasPC {
				d["pc"] = t.PC
			}
			if len(d) > 0 {
				r.Detail = d
			}
			out = append(out, r)
		})
		if err != nil {
			return nil, err
		}
		if len(out) == 0 {
			r := base
			r.Kind = "report"
			r.Detail = map[string]any{"tags": 0}
			out = append(out, r)
		}
		return out, nil
	case ReaderEventNotification:
		e, err := ParseEvent(m.Body)
		if err != nil {
			return nil, err
		}
		r := base
		r.Kind = "event"
		d := map[string]any{}
		if !e.Uptime && e.TimeUTC != 0 {
			d["time"] = time.UnixMicro(int64(e.TimeUTC)).UTC().Format(time.RFC3339Nano)
		}
		if e.HasConnection {
			d["connection"] = uint16(e.Connection)
			r.Message, r.MessageZH = e.Connection.English(), e.Connection.Chinese()
		}
		if e.HasClose {
			d["connection_close"] = true
			r.Message, r.MessageZH = "the reader is closing the connection", "读写器正在关闭连接"
		}
		if e.HasROSpec {
			d["rospec_id"] = e.ROSpecID
			switch e.ROSpecEvent {
			case ROSpecStarted:
				d["rospec_event"] = "start"
			case ROSpecEnded:
				d["rospec_event"] = "end"
			case ROSpecPreempted:
				d["rospec_event"] = "preempted"
			default:
				d["rospec_event"] = fmt.Sprintf("event %d", e.ROSpecEvent)
			}
		}
		if e.HasAntenna {
			d["antenna"] = e.AntennaID
			d["antenna_connected"] = e.AntennaConnected
			if !e.AntennaConnected {
				r.Message, r.MessageZH = "antenna disconnected", "天线断开"
			}
		}
		if e.HasException {
			d["exception"] = e.Exception
			r.Message = e.Exception
		}
		r.Detail = d
		return []reader.Record{r}, nil
	case Keepalive:
		base.Kind = "keepalive"
		return []reader.Record{base}, nil
	case KeepaliveAck:
		base.Kind = "keepalive_ack"
		return []reader.Record{base}, nil
	case ErrorMessage:
		base.Kind = "reader_error"
		if err := statusRecord(&base, m); err != nil {
			return nil, err
		}
		return []reader.Record{base}, nil
	case CustomMessage:
		base.Kind = "custom"
		return []reader.Record{base}, nil
	}
	if isResponse(m.Type) {
		base.Kind = "response"
		if err := statusRecord(&base, m); err != nil {
			return nil, err
		}
		if m.Type == GetReaderCapabilitiesResponse {
			if c, err := ParseCapabilities(m.Body); err == nil {
				base.Detail = map[string]any{"antennas": c.Antennas, "manufacturer": c.Manufacturer, "model": c.Model, "firmware": c.Firmware}
			}
		}
		return []reader.Record{base}, nil
	}
	base.Kind = "command"
	if m.Type == AddROSpec {
		s, err := ParseAddSpec(m.Body)
		if err != nil {
			return nil, err
		}
		base.Detail = map[string]any{"rospec_id": s.ID, "antennas": s.Antennas, "session": s.Session}
	}
	return []reader.Record{base}, nil
}

func isResponse(t MessageType) bool {
	switch t {
	case GetReaderCapabilitiesResponse, GetReaderConfigResponse, SetReaderConfigResponse, CloseConnectionResponse,
		AddROSpecResponse, DeleteROSpecResponse, StartROSpecResponse, StopROSpecResponse, EnableROSpecResponse,
		DisableROSpecResponse, GetROSpecsResponse, AddAccessSpecResponse, DeleteAccessSpecResponse,
		EnableAccessSpecResponse, DisableAccessSpecResponse, GetAccessSpecsResponse, ClientRequestOpResponse,
		GetSupportedVersionResponse, SetProtocolVersionResponse:
		return true
	}
	return false
}

func statusRecord(r *reader.Record, m Message) error {
	err := ParseStatus(m.Type, m.Body)
	var se *StatusError
	switch {
	case err == nil:
		r.Status = StatusSuccess.Name()
	case errors.As(err, &se):
		r.Status = se.Code.Name()
		r.Message, r.MessageZH = se.Error(), se.Chinese()
	default:
		return err
	}
	return nil
}

// RecordStream yields the records of an LLRP byte stream one at a time, for the decode tool and the
// conformance vectors: a message whose body is malformed is a *reader.DecodeError covering the
// whole message (cause malformed), and decoding goes on with the next one.
func RecordStream(r io.Reader) func() (reader.Record, error) {
	dec := NewDecoder(r)
	var queue []reader.Record
	return func() (reader.Record, error) {
		for len(queue) == 0 {
			m, err := dec.Next()
			if err != nil {
				return reader.Record{}, err
			}
			recs, err := Records(m)
			if err != nil {
				return reader.Record{}, &reader.DecodeError{Offset: m.Offset, Skipped: int64(m.Length), Err: err}
			}
			queue = recs
		}
		r := queue[0]
		queue = queue[1:]
		return r, nil
	}
}
