package llrp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// StatusCode is an LLRPStatus code (§14.2.4, table of status codes).
type StatusCode uint16

// Status codes. M_ codes are about a message, P_ about a parameter, A_ about a field value,
// R_ about the reader itself.
const (
	StatusSuccess               StatusCode = 0
	StatusMParameterError       StatusCode = 100
	StatusMFieldError           StatusCode = 101
	StatusMUnexpectedParameter  StatusCode = 102
	StatusMMissingParameter     StatusCode = 103
	StatusMDuplicateParameter   StatusCode = 104
	StatusMOverflowParameter    StatusCode = 105
	StatusMOverflowField        StatusCode = 106
	StatusMUnknownParameter     StatusCode = 107
	StatusMUnknownField         StatusCode = 108
	StatusMUnsupportedMessage   StatusCode = 109
	StatusMUnsupportedVersion   StatusCode = 110
	StatusMUnsupportedParameter StatusCode = 111
	StatusMUnexpectedMessage    StatusCode = 112 // LLRP 1.1
	StatusPParameterError       StatusCode = 200
	StatusPFieldError           StatusCode = 201
	StatusPUnexpectedParameter  StatusCode = 202
	StatusPMissingParameter     StatusCode = 203
	StatusPDuplicateParameter   StatusCode = 204
	StatusPOverflowParameter    StatusCode = 205
	StatusPOverflowField        StatusCode = 206
	StatusPUnknownParameter     StatusCode = 207
	StatusPUnknownField         StatusCode = 208
	StatusPUnsupportedParameter StatusCode = 209
	StatusAInvalid              StatusCode = 300
	StatusAOutOfRange           StatusCode = 301
	StatusRDeviceError          StatusCode = 401
)

type statusText struct{ name, en, zh string }

// statusTable holds the operator text for every code of the specification. The text says what an
// operator can do about it; the name is the specification's, for the engineer.
var statusTable = map[StatusCode]statusText{
	StatusSuccess:               {"M_Success", "success", "成功"},
	StatusMParameterError:       {"M_ParameterError", "the reader rejected a parameter of the request", "读写器拒绝了请求中的参数"},
	StatusMFieldError:           {"M_FieldError", "the reader rejected a field of the request", "读写器拒绝了请求中的字段"},
	StatusMUnexpectedParameter:  {"M_UnexpectedParameter", "the reader did not expect a parameter of the request", "读写器不接受请求中的某个参数"},
	StatusMMissingParameter:     {"M_MissingParameter", "the request lacks a parameter the reader needs", "请求缺少读写器需要的参数"},
	StatusMDuplicateParameter:   {"M_DuplicateParameter", "the request repeats a parameter", "请求中参数重复"},
	StatusMOverflowParameter:    {"M_OverflowParameter", "the request has more parameters than the reader supports", "请求参数数量超出读写器支持"},
	StatusMOverflowField:        {"M_OverflowField", "a field of the request is larger than the reader supports", "请求字段超出读写器支持"},
	StatusMUnknownParameter:     {"M_UnknownParameter", "the reader does not know a parameter of the request", "读写器不认识请求中的参数"},
	StatusMUnknownField:         {"M_UnknownField", "the reader does not know a field of the request", "读写器不认识请求中的字段"},
	StatusMUnsupportedMessage:   {"M_UnsupportedMessage", "the reader does not support this request; check its LLRP firmware", "读写器不支持该请求，请检查其 LLRP 固件"},
	StatusMUnsupportedVersion:   {"M_UnsupportedVersion", "the reader does not speak this LLRP version", "读写器不支持该 LLRP 版本"},
	StatusMUnsupportedParameter: {"M_UnsupportedParameter", "the reader does not support a parameter of the request", "读写器不支持请求中的参数"},
	StatusMUnexpectedMessage:    {"M_UnexpectedMessage", "the reader did not expect this request now", "读写器此时不接受该请求"},
	StatusPParameterError:       {"P_ParameterError", "the reader rejected a sub-parameter", "读写器拒绝了子参数"},
	StatusPFieldError:           {"P_FieldError", "the reader rejected a field value (antenna, session or power out of its range?)", "读写器拒绝了字段值（天线号、会话或功率超出范围？）"},
	StatusPUnexpectedParameter:  {"P_UnexpectedParameter", "the reader did not expect a sub-parameter", "读写器不接受某个子参数"},
	StatusPMissingParameter:     {"P_MissingParameter", "a sub-parameter the reader needs is missing", "缺少读写器需要的子参数"},
	StatusPDuplicateParameter:   {"P_DuplicateParameter", "a sub-parameter is repeated", "子参数重复"},
	StatusPOverflowParameter:    {"P_OverflowParameter", "more sub-parameters than the reader supports", "子参数数量超出读写器支持"},
	StatusPOverflowField:        {"P_OverflowField", "a field is larger than the reader supports", "字段超出读写器支持"},
	StatusPUnknownParameter:     {"P_UnknownParameter", "the reader does not know a sub-parameter", "读写器不认识某个子参数"},
	StatusPUnknownField:         {"P_UnknownField", "the reader does not know a field", "读写器不认识某个字段"},
	StatusPUnsupportedParameter: {"P_UnsupportedParameter", "the reader does not support a sub-parameter", "读写器不支持某个子参数"},
	StatusAInvalid:              {"A_Invalid", "a value is invalid for this reader", "取值对该读写器无效"},
	StatusAOutOfRange:           {"A_OutOfRange", "a value is out of the reader's range (antenna number, power?)", "取值超出读写器范围（天线号、功率？）"},
	StatusRDeviceError:          {"R_DeviceError", "the reader reports a device error; check its antennas and power, or restart it", "读写器报告设备故障，请检查天线与电源或重启读写器"},
}

// Name is the specification's name of the code.
func (c StatusCode) Name() string {
	if t, ok := statusTable[c]; ok {
		return t.name
	}
	return fmt.Sprintf("status %d", uint16(c))
}

// English is the operator text in English.
func (c StatusCode) English() string {
	if t, ok := statusTable[c]; ok {
		return t.en
	}
	return fmt.Sprintf("unknown LLRP status %d", uint16(c))
}

// Chinese is the operator text in zh-CN.
func (c StatusCode) Chinese() string {
	if t, ok := statusTable[c]; ok {
		return t.zh
	}
	return fmt.Sprintf("未知 LLRP 状态码 %d", uint16(c))
}

// StatusError is a reader's refusal: a response whose LLRPStatus is not M_Success, or an
// ERROR_MESSAGE.
type StatusError struct {
	Message     MessageType // the response (or ERROR_MESSAGE) that carried it
	Code        StatusCode
	Description string    // the reader's own ErrorDescription, may be empty
	Parameter   ParamType // the parameter in error, when the reader says (ParameterError)
	Field       int       // the field number in error, when the reader says (FieldError); -1 when not
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: %s (%s)", e.Message, e.Code.English(), e.Code.Name())
	if e.Parameter != 0 {
		s += fmt.Sprintf(", parameter %d", e.Parameter)
	}
	if e.Field >= 0 {
		s += fmt.Sprintf(", field %d", e.Field)
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Chinese is the operator text of the refusal in zh-CN.
func (e *StatusError) Chinese() string {
	s := "读写器拒绝 " + e.Message.String() + "：" + e.Code.Chinese()
	if e.Description != "" {
		s += "（" + e.Description + "）"
	}
	return s
}

// Is lets errors.Is(err, &StatusError{Code: c}) match any refusal with that code.
func (e *StatusError) Is(target error) bool {
	var t *StatusError
	return errors.As(target, &t) && t.Code == e.Code && t.Message == 0
}

// ParseStatus reads the LLRPStatus among the top-level parameters of a response body (§16.2.8.1)
// and returns nil when it says M_Success, a *StatusError otherwise. A body without one is
// malformed.
func ParseStatus(t MessageType, body []byte) error {
	p, ok, err := Find(body, ParamLLRPStatus)
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w: no LLRPStatus", t, ErrParamLen)
	}
	v := p.Value
	if len(v) < 4 {
		return fmt.Errorf("%s: LLRPStatus: %w", t, ErrParamLen)
	}
	code := StatusCode(binary.BigEndian.Uint16(v))
	if code == StatusSuccess {
		return nil
	}
	e := &StatusError{Message: t, Code: code, Field: -1}
	n := int(binary.BigEndian.Uint16(v[2:]))
	if n > len(v)-4 {
		n = len(v) - 4
	}
	e.Description = string(v[4 : 4+n])
	for b := v[4+n:]; len(b) > 0; {
		q, rest, err := NextParam(b)
		if err != nil {
			break // the code is what matters; a damaged detail does not hide it
		}
		b = rest
		switch {
		case q.Type == ParamFieldError && len(q.Value) >= 2:
			e.Field = int(binary.BigEndian.Uint16(q.Value))
		case q.Type == ParamParameterError && len(q.Value) >= 2:
			e.Parameter = ParamType(binary.BigEndian.Uint16(q.Value))
			if f, ok, _ := Find(q.Value[min(4, len(q.Value)):], ParamFieldError); ok && len(f.Value) >= 2 {
				e.Field = int(binary.BigEndian.Uint16(f.Value))
			}
		}
	}
	return e
}
