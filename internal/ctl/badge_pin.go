package ctl

import (
	"context"
	"flag"
	"fmt"
)

// badgePinArgs are the arguments of custodyctl badge pin.
type badgePinArgs struct {
	pinStdin bool
}

func init() {
	add(define[badgePinArgs]("badge pin", "",
		"choose or change your own badge PIN: current PIN (empty for a new or reset badge), then the new one, from the terminal or lines of stdin"))
}

func (a *badgePinArgs) flags(fs *flag.FlagSet) {
	fs.BoolVar(&a.pinStdin, "pin-stdin", false, "read the PINs from standard input")
}

func (a *badgePinArgs) run(ctx context.Context, c *CLI, args []string) error {
	old, err := c.password(a.pinStdin, "当前 PIN（新证或已重置则直接回车）：", "Current PIN (press Enter for a new or reset badge): ")
	if err != nil && !a.pinStdin {
		return err
	}
	pin, err := c.password(a.pinStdin, "新 PIN（4–12 位数字）：", "New PIN (4–12 digits): ")
	if err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/me/badge-pin", map[string]string{"old": old, "new": pin}, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("工作证 PIN 已设置", "badge PIN set"))
	return nil
}
