package ctl

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverScanArgs are the arguments of custodyctl handover scan.
type handoverScanArgs struct {
	fromStdin bool
}

func init() {
	add(define[handoverScanArgs]("handover scan", "ID CODE...",
		"add scans (badge or item label, typed or pasted); --stdin reads one code per line until an empty line"))
}

func (a *handoverScanArgs) flags(fs *flag.FlagSet) {
	fs.BoolVar(&a.fromStdin, "stdin", false, "read codes from standard input, one per line (a keyboard-wedge scanner)")
}

func (a *handoverScanArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := sessionPath(args, "/scans")
	if err != nil {
		return err
	}
	codes := args[1:]
	if len(codes) == 0 && !a.fromStdin {
		return exitf(ExitUsage, "give at least one CODE, or --stdin")
	}
	var last apitype.ScanResult
	failed := 0
	scanOne := func(code string) error {
		var res apitype.ScanResult
		if err := c.call(ctx, "POST", path, map[string]string{"data": code}, &res); err != nil {
			if ee, ok := err.(*exitError); ok && ee.code != ExitUnreachable && ee.code != ExitAuth {
				// A bad scan is reported and the others go on, as at the desk.
				fmt.Fprintf(c.Stderr, "custodyctl: %s: %s\n", code, ee.msg)
				failed++
				return nil
			}
			return err
		}
		last = res
		if !c.json {
			if res.Kind == "badge" {
				fmt.Fprintf(c.Stdout, c.say("对方：%s（%s）\n", "counterpart: %s (%s)\n"), res.Session.CounterpartName, res.Session.Counterpart)
			} else {
				fmt.Fprintf(c.Stdout, c.say("+ %s 第%d份（%s）  已扫描 %d 份\n", "+ %s copy %d (%s)  %d scanned\n"), res.Item.Document, res.Item.Copy, c.levelName(res.Item.Level), res.Session.Count)
			}
		}
		return nil
	}
	for _, code := range codes {
		if err := scanOne(code); err != nil {
			return err
		}
	}
	if a.fromStdin {
		for {
			line, err := c.readLine()
			if err != nil || strings.TrimSpace(line) == "" {
				break
			}
			if err := scanOne(strings.TrimSpace(line)); err != nil {
				return err
			}
		}
	}
	if c.json {
		if err := c.output(last, nil); err != nil {
			return err
		}
	}
	if failed > 0 {
		return exitf(ExitConflict, "%s", c.say(fmt.Sprintf("%d 个扫描未被接受", failed), fmt.Sprintf("%d scans were not accepted", failed)))
	}
	return nil
}
