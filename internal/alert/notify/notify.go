// Package notify delivers alert notices to people and integrations outside custodyd: mail over
// SMTP (github.com/wneessen/go-mail: implicit TLS on 465, STARTTLS, PLAIN or LOGIN; see Mail)
// and webhooks (generic JSON, and the DingTalk, WeCom and Feishu robot formats).
//
// Contract: a Notice can only hold what DESIGN.md §5 rule 11 lets leave the secure network — an
// opaque alert ref, the severity, the cabinet or room code, the time, the state and a console
// link. There is no field for a title, a level, a holder, an item or document number, and the
// tests render every alert kind through every channel and search the bytes on the wire for them.
// Every channel is off until configured: a zero Config builds no channel at all. Delivery errors
// are returned wrapped with the channel's name; retrying is the escalator's business.
package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/sitetime"
)

// Notice is everything an external channel may say about an alert.
type Notice struct {
	Ref      string    `json:"id"`       // opaque alert id
	Severity string    `json:"severity"` // info, warning, major, critical
	Place    string    `json:"place"`    // cabinet or room code; may be empty
	At       time.Time `json:"at"`
	State    string    `json:"state"` // open, acknowledged, resolved
	Link     string    `json:"link"`  // console address of the alert
	Repeat   bool      `json:"repeat,omitempty"`
}

// Channel delivers notices.
type Channel interface {
	Name() string
	Send(ctx context.Context, n Notice) error
}

var severityZH = map[string]string{"info": "提示", "warning": "警告", "major": "严重", "critical": "紧急"}

// Text is the notice as one short message in Chinese with the English below, the same in every
// channel; the time is in the site's zone (nil: Asia/Shanghai, as the people reading it live by,
// never the server's own zone), in both lines, named as the console names it (北京时间 /
// Beijing time): a notice is read on a phone, away from the console's footer that says so.
func Text(n Notice, loc *time.Location) string {
	z := sitetime.Default()
	if loc != nil {
		z = sitetime.Of(loc)
	}
	var b strings.Builder
	head := "【涉密载体告警】"
	switch {
	case n.State == "resolved":
		head = "【涉密载体告警·已解除】"
	case n.Repeat:
		head = "【涉密载体告警·再次提醒】"
	}
	fmt.Fprintf(&b, "%s编号 %s，级别 %s，", head, n.Ref, severityZH[n.Severity])
	if n.Place != "" {
		fmt.Fprintf(&b, "位置 %s，", n.Place)
	}
	at := z.Format(n.At, "2006-01-02 15:04:05")
	fmt.Fprintf(&b, "时间 %s（%s）。请登录控制台查看：%s\n", at, z.LabelAt("zh-CN", n.At), n.Link)
	fmt.Fprintf(&b, "Custody alert %s, severity %s", n.Ref, n.Severity)
	if n.State == "resolved" {
		b.WriteString(", resolved")
	}
	if n.Place != "" {
		fmt.Fprintf(&b, ", at %s", n.Place)
	}
	fmt.Fprintf(&b, ", %s %s. Details in the console only: %s", at, z.LabelAt("en", n.At), n.Link)
	return b.String()
}

// Subject is a mail subject line: no content, only the ref and severity.
func Subject(n Notice) string {
	return fmt.Sprintf("[custody] %s %s / 告警 %s", n.Severity, n.Ref, severityZH[n.Severity])
}
