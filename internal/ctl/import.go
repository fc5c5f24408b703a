package ctl

import (
	"context"
	"flag"
)

// importArgs are the arguments of custodyctl import.
type importArgs struct {
	dry      bool
	template string
}

func init() {
	add(define[importArgs]("import", "FILE.xlsx|FILE.csv",
		"import a ledger (导入台账): every row received as by hand, all or nothing; --dry-run lists every row's problems; --template FILE writes the template"))
}

func (a *importArgs) flags(fs *flag.FlagSet) {
	fs.BoolVar(&a.dry, "dry-run", false, "check every row and write nothing (试导入)")
	fs.StringVar(&a.template, "template", "", "write the ledger template (台账模板.xlsx) to this file and exit")
}

func (a *importArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.template != "" {
		if len(args) != 0 {
			return exitf(ExitUsage, "--template FILE takes no other argument")
		}
		return c.writeTemplate(ctx, a.template)
	}
	if err := needArgs(args, 1, "FILE.xlsx or FILE.csv"); err != nil {
		return err
	}
	return c.importLedger(ctx, args[0], a.dry)
}
