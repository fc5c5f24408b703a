package r2000

import "fmt"

// Status is a reader status/error code (v2.38 appendix "Error code").
type Status byte

// Status codes the driver acts on.
const (
	StatusSuccess        Status = 0x10
	StatusFail           Status = 0x11
	StatusAntennaMissing Status = 0x22
	StatusNoTag          Status = 0x36
)

type statusText struct{ en, zh string }

// statusTable holds the operator text for every code we know. Codes outside it still print,
// with their number, so an unknown firmware code is never hidden.
var statusTable = map[Status]statusText{
	0x10: {"command succeeded", "命令成功"},
	0x11: {"command failed", "命令失败"},
	0x20: {"MCU reset", "控制器复位"},
	0x21: {"CW carrier is on", "载波已打开"},
	0x22: {"antenna missing", "天线未连接"},
	0x23: {"flash write failed", "写闪存失败"},
	0x24: {"flash read failed", "读闪存失败"},
	0x25: {"set TX power failed", "设置发射功率失败"},
	0x31: {"tag inventory error", "盘存标签出错"},
	0x32: {"tag read error", "读标签出错"},
	0x33: {"tag write error", "写标签出错"},
	0x34: {"tag lock error", "锁定标签出错"},
	0x35: {"tag kill error", "灭活标签出错"},
	0x36: {"no tag to operate on", "无可操作标签"},
	0x37: {"tag inventoried but access failed", "盘存成功但访问失败"},
	0x38: {"buffer is empty", "缓存为空"},
	0x40: {"access failed or wrong password", "访问标签失败或访问密码错误"},
	0x41: {"invalid parameter", "参数无效"},
	0x42: {"word count too long", "字数过长"},
	0x43: {"memory bank out of range", "存储区超出范围"},
	0x44: {"lock region out of range", "锁定区超出范围"},
	0x45: {"lock type out of range", "锁定类型超出范围"},
	0x46: {"invalid reader address", "读写器地址无效"},
	0x47: {"antenna ID out of range", "天线号超出范围"},
	0x48: {"RF power out of range", "输出功率超出范围"},
	0x49: {"frequency region out of range", "射频规范超出范围"},
	0x4A: {"baud rate out of range", "波特率超出范围"},
	0x4B: {"beeper mode out of range", "蜂鸣器模式超出范围"},
	0x4C: {"EPC match too long", "EPC匹配长度过长"},
	0x4D: {"EPC match inconsistent", "EPC匹配长度不一致"},
	0x4E: {"invalid EPC match mode", "EPC匹配模式无效"},
	0x4F: {"invalid frequency range", "频率范围无效"},
	0x50: {"no RN16 received from tag", "未收到标签RN16"},
	0x51: {"DRM mode setting invalid", "DRM设置无效"},
	0x52: {"PLL cannot lock", "锁相环无法锁定"},
	0x53: {"RF chip does not respond", "射频芯片无响应"},
	0x54: {"output power cannot be reached", "无法达到输出功率"},
	0x55: {"copyright authentication failed", "版权认证未通过"},
	0x56: {"spectrum regulation error", "频谱规范设置错误"},
	0x57: {"output power too low", "输出功率过低"},
}

// English is the operator text in English.
func (s Status) English() string {
	if t, ok := statusTable[s]; ok {
		return t.en
	}
	return fmt.Sprintf("unknown status 0x%02X", byte(s))
}

// Chinese is the operator text in zh-CN.
func (s Status) Chinese() string {
	if t, ok := statusTable[s]; ok {
		return t.zh
	}
	return fmt.Sprintf("未知状态码 0x%02X", byte(s))
}

func (s Status) String() string { return fmt.Sprintf("0x%02X %s", byte(s), s.English()) }

// StatusError is a reader's refusal of a command.
type StatusError struct {
	Cmd    byte
	Status Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("command 0x%02X: reader answered %v", e.Cmd, e.Status)
}
