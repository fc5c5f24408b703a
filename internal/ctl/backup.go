package ctl

import (
	"context"
	"flag"
	"fmt"
	"os"
)

// backupArgs are the arguments of custodyctl backup.
type backupArgs struct {
	out string
}

func init() {
	add(define[backupArgs]("backup", "",
		"take an online backup of the register into -o FILE (custodyd can start from it)"))
}

func (a *backupArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (must not exist)")
}

func (a *backupArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.out == "" {
		return exitf(ExitUsage, "-o FILE is required")
	}
	if _, err := os.Stat(a.out); err == nil {
		return exitf(ExitConflict, "%s exists; choose a new file name", a.out)
	}
	resp, err := c.send(ctx, "POST", "/api/v1/backup", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := c.receive(resp, a.out, "下载备份", "downloading the backup"); err != nil {
		return err
	}
	fmt.Fprintln(c.Stderr, c.say("备份已写入 "+a.out, "backup written to "+a.out))
	return nil
}
