package ctl

import (
	"context"
	"flag"
)

// checkReportArgs are the arguments of custodyctl check report.
type checkReportArgs struct {
	out string
}

func init() {
	add(define[checkReportArgs]("check report", "ID",
		"the signed 清查记录 (PDF, as stored when the check closed) to -o FILE"))
}

func (a *checkReportArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
}

func (a *checkReportArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := checkPath(args, "/report")
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return exitf(ExitUsage, "expected ID")
	}
	return c.download(ctx, path, a.out)
}
