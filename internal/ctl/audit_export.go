package ctl

import (
	"context"
	"flag"
)

// auditExportArgs are the arguments of custodyctl audit export.
type auditExportArgs struct {
	out string
}

func init() {
	add(define[auditExportArgs]("audit export", "",
		"write the audit chain as JSON lines (to -o FILE or stdout)"))
}

func (a *auditExportArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
}

func (a *auditExportArgs) run(ctx context.Context, c *CLI, args []string) error {
	resp, err := c.send(ctx, "GET", "/api/v1/audit", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.receive(resp, a.out, "导出审计链", "exporting the audit chain")
}
