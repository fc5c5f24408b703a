package custody

import (
	"testing"
	"time"
)

func TestSpanTextReadsAsPeopleSayIt(t *testing.T) {
	for d, want := range map[time.Duration]Text{
		45 * time.Second:              {ZH: "45 秒", EN: "45 s"},
		time.Minute:                   {ZH: "1 分钟", EN: "1 min"},
		90 * time.Minute:              {ZH: "1 小时 30 分钟", EN: "1 h 30 min"},
		26*time.Hour + 29*time.Second: {ZH: "1 天 2 小时", EN: "1 d 2 h"},
		2*time.Hour + 59*time.Second:  {ZH: "2 小时 1 分钟", EN: "2 h 1 min"},
	} {
		if got := SpanText(d); got != want {
			t.Errorf("SpanText(%v): got %+v, want %+v", d, got, want)
		}
	}
}
