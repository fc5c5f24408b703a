package ctl

import (
	"context"
	"flag"
	"fmt"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/sealedbackup"
)

// keysBackupArgs are the arguments of custodyctl keys backup: the key file backup --encrypt and
// restore use — 32 random bytes and the profile (SM4-GCM under sm, AES-256-GCM under standard),
// readable by its owner only. Whoever holds it can read every backup made with it: keep it apart
// from the backups.
type keysBackupArgs struct {
	profile, out string
}

func init() {
	add(define[keysBackupArgs]("keys backup", "",
		"make a backup encryption key file (-o FILE, owner only): -profile sm (SM4-GCM) or standard (AES-256-GCM)"))
}

func (a *keysBackupArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.profile, "profile", "standard", "the installation's [crypto] profile: standard or sm")
	fs.StringVar(&a.out, "o", "", "the key file to write (must not exist)")
}

func (a *keysBackupArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.out == "" {
		return exitf(ExitUsage, "-o FILE is required")
	}
	p, err := cryptoprofile.Parse(a.profile)
	if err != nil {
		return exitf(ExitUsage, "-profile: %v", err)
	}
	_, text, err := sealedbackup.NewKey(p)
	if err != nil {
		return err
	}
	if err := writeNew(a.out, text, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, c.say("已生成备份密钥 %s（%s，仅本人可读）；与备份分开保管\n", "made backup key %s (%s, owner only); keep it apart from the backups\n"), a.out, p.BackupCipher())
	return nil
}
