package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/custodyhq/custody/internal/sealedbackup"
)

// backupArgs are the arguments of custodyctl backup: an online copy of the register. With
// --encrypt the stream is encrypted as it arrives (SM4-GCM or AES-256-GCM, by the key file's
// profile; package sealedbackup), so no clear byte of it is written to disk here; restore turns
// it back into a custody.db.
type backupArgs struct {
	out, key string
	encrypt  bool
}

func init() {
	add(define[backupArgs]("backup", "",
		"take an online backup of the register into -o FILE (custodyd can start from it); --encrypt --key KEYFILE encrypts it on the way (restore decrypts)"))
}

func (a *backupArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (must not exist)")
	fs.BoolVar(&a.encrypt, "encrypt", false, "encrypt the backup as it arrives: SM4-GCM under the sm profile, AES-256-GCM under standard (the key file's)")
	fs.StringVar(&a.key, "key", "", "with --encrypt: the backup key file (keys backup makes one)")
}

func (a *backupArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.out == "" {
		return exitf(ExitUsage, "-o FILE is required")
	}
	if a.encrypt != (a.key != "") {
		return exitf(ExitUsage, "%s", c.say("--encrypt 与 --key 须同时给出", "--encrypt and --key go together"))
	}
	if _, err := os.Stat(a.out); err == nil {
		return exitf(ExitConflict, "%s exists; choose a new file name", a.out)
	}
	var key sealedbackup.Key
	if a.encrypt {
		text, err := os.ReadFile(a.key)
		if err != nil {
			return exitf(ExitNotFound, "%v", err)
		}
		if key, err = sealedbackup.ReadKey(text); err != nil {
			return exitf(ExitUsage, "%s: %v", a.key, err)
		}
	}
	resp, err := c.send(ctx, "POST", "/api/v1/backup", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !a.encrypt {
		if err := c.receive(resp, a.out, "下载备份", "downloading the backup"); err != nil {
			return err
		}
		fmt.Fprintln(c.Stderr, c.say("备份已写入 "+a.out, "backup written to "+a.out))
		return nil
	}
	p := c.startProgress(resp.ContentLength, true, "下载并加密备份", "downloading and encrypting the backup")
	err = c.writeOutWith(a.out, func(w io.Writer) error {
		ew, err := sealedbackup.NewWriter(w, key)
		if err != nil {
			return err
		}
		if _, err := io.Copy(ew, io.TeeReader(resp.Body, p)); err != nil {
			return err
		}
		return ew.Close()
	})
	p.Done()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Stderr, c.say(
		fmt.Sprintf("加密备份（%s）已写入 %s；用 custodyctl restore --key 还原", key.Profile.BackupCipher(), a.out),
		fmt.Sprintf("encrypted backup (%s) written to %s; custodyctl restore --key turns it back into custody.db", key.Profile.BackupCipher(), a.out)))
	return nil
}
