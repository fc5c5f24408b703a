package m6e

import "fmt"

type statusText struct{ en, zh string }

// statusTable holds operator text for the status words we know (Mercury API tmr_status.h
// families 0x01xx message faults, 0x04xx protocol faults, 0x05xx analogue/RF faults). An unknown
// word still prints with its number.
var statusTable = map[uint16]statusText{
	0x0000: {"OK", "正常"},
	0x0100: {"wrong number of data bytes", "数据字节数错误"},
	0x0101: {"invalid opcode", "无效操作码"},
	0x0102: {"unimplemented opcode", "未实现的操作码"},
	0x0103: {"power setting too high", "功率设置过高"},
	0x0104: {"invalid frequency", "无效频率"},
	0x0105: {"invalid parameter value", "参数值无效"},
	0x0106: {"power setting too low", "功率设置过低"},
	0x0109: {"unimplemented feature", "未实现的功能"},
	0x010A: {"invalid baud rate", "无效波特率"},
	0x010B: {"invalid region", "无效区域"},
	0x0400: {"no tag found (keep-alive during continuous read)", "未发现标签（连续读取中的保活消息）"},
	0x0401: {"no tag protocol defined", "未设置标签协议"},
	0x0402: {"invalid tag protocol", "标签协议无效"},
	0x0403: {"write succeeded, lock failed", "写入成功但锁定失败"},
	0x0404: {"no data read from tag", "未从标签读到数据"},
	0x0405: {"RF front end not on", "射频前端未开启"},
	0x0406: {"tag write failed", "写标签失败"},
	0x0407: {"not implemented for this protocol", "该协议不支持此操作"},
	0x0503: {"antenna not connected", "天线未连接"},
	0x0504: {"temperature too high: reading throttled", "温度过高，读取已降速"},
	0x0505: {"high return loss: check the antenna and its cable", "回波损耗过高，请检查天线及馈线"},
	0x7F00: {"unknown system error", "未知系统错误"},
}

// StatusText is the operator text for a status word, in English and zh-CN.
func StatusText(s uint16) (en, zh string) {
	if t, ok := statusTable[s]; ok {
		return t.en, t.zh
	}
	return fmt.Sprintf("unknown status 0x%04X", s), fmt.Sprintf("未知状态字 0x%04X", s)
}

// StatusError is a module's refusal of a command.
type StatusError struct {
	Opcode byte
	Status uint16
}

func (e *StatusError) Error() string {
	en, _ := StatusText(e.Status)
	return fmt.Sprintf("opcode 0x%02X: module answered status 0x%04X %s", e.Opcode, e.Status, en)
}
