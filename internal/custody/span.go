package custody

import (
	"fmt"
	"strings"
	"time"
)

// SpanText words a span of time as people read it — 1 分钟, 1 小时 30 分钟 — where a page or
// a notice would otherwise show Go's "1m0s" (issue 21 point 8). Seconds are shown only under a
// minute; a span is whole days, hours and minutes otherwise.
func SpanText(d time.Duration) Text {
	if d < time.Minute {
		s := int(d.Round(time.Second) / time.Second)
		return Text{ZH: fmt.Sprintf("%d 秒", s), EN: fmt.Sprintf("%d s", s)}
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var zh, en []string
	for _, p := range []struct {
		n      int
		zh, en string
	}{{days, "天", "d"}, {hours, "小时", "h"}, {mins, "分钟", "min"}} {
		if p.n > 0 {
			zh, en = append(zh, fmt.Sprintf("%d %s", p.n, p.zh)), append(en, fmt.Sprintf("%d %s", p.n, p.en))
		}
	}
	return Text{ZH: strings.Join(zh, " "), EN: strings.Join(en, " ")}
}
