package ctl

import (
	"context"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// checkScanArgs are the arguments of custodyctl check scan.
type checkScanArgs struct{}

func init() {
	add(define[checkScanArgs]("check scan", "ID CODE...",
		"copies scanned at the desk during the check (label, EPC or item number)"))
}

func (*checkScanArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/scans")
	if err != nil {
		return err
	}
	if len(args) < 2 {
		return exitf(ExitUsage, "expected ID CODE...")
	}
	var ch apitype.Check
	for _, code := range args[1:] {
		if err := c.call(ctx, "POST", path, map[string]string{"data": code}, &ch); err != nil {
			return err
		}
	}
	return c.output(ch, showCheck(c, ch, false))
}
