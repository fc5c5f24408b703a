package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// alertStepArgs are the arguments of custodyctl alert ack and alert resolve: the same step
// but for its path and words.
type alertStepArgs struct {
	path, zh, en string
	note         string
}

func init() {
	add(defineNew("alert ack", "ID", "acknowledge an alert, with a note (required)",
		func() *alertStepArgs { return &alertStepArgs{path: "ack", zh: "确认收到", en: "acknowledge"} }))
}

func (a *alertStepArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.note, "note", "", "what was done (required)")
}

func (a *alertStepArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	if strings.TrimSpace(a.note) == "" {
		return exitf(ExitUsage, "%s", c.say("需要 --note 说明处理情况", "--note is required"))
	}
	var al apitype.Alert
	if err := c.call(ctx, "POST", "/api/v1/alerts/"+url.PathEscape(args[0])+"/"+a.path, map[string]string{"note": a.note}, &al); err != nil {
		return err
	}
	return c.output(al, func(w io.Writer) {
		fmt.Fprintf(w, c.say("告警 %s 已%s\n", "alert %s %s\n"), al.Ref, c.say(a.zh, a.en+"d"))
	})
}
