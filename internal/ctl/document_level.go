package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/custody"
)

// documentLevelArgs are the arguments of custodyctl document level.
type documentLevelArgs struct {
	level     string
	term      string
	termStart string
	decisionArgs
}

func init() {
	add(define[documentLevelArgs]("document level", "NUMBER",
		"record a 密级变更 decided by --authority in --decision: --level and/or --term (--term-start)"))
}

func (a *documentLevelArgs) flags(fs *flag.FlagSet) {
	a.decisionArgs.flags(fs)
	fs.StringVar(&a.level, "level", "", "the new level: 绝密|机密|秘密 or top-secret|secret|confidential")
	fs.StringVar(&a.term, "term", "", "the new secrecy term: 10年, 6个月, 长期 or 2030-12-31 (default: unchanged)")
	fs.StringVar(&a.termStart, "term-start", "", "the date the new term counts from (YYYY-MM-DD)")
}

func (a *documentLevelArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "the document number (发文字号)"); err != nil {
		return err
	}
	lvl := custody.Level(a.level)
	if a.level != "" {
		l, err := custody.ParseLevel(a.level)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		lvl = l
	}
	body := map[string]any{"number": args[0], "level": lvl, "term": a.term, "term_start": a.termStart, "authority": a.authority, "decision_no": a.decision, "note": a.note}
	var d documentInfo
	if err := c.call(ctx, "POST", "/api/v1/level-changes", body, &d); err != nil {
		return err
	}
	return c.output(d, func(w io.Writer) {
		line(w, c.say("已登记密级变更：%s 现为 %s★%s；已打印的标签须重新打印\n", "level change recorded: %s is now %s★%s; reprint its labels\n"), d.Number, c.levelName(d.Level), d.SecrecyTerm)
	})
}
