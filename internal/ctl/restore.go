package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/custodyhq/custody/internal/sealedbackup"
)

// restoreArgs are the arguments of custodyctl restore: an encrypted backup (backup --encrypt)
// decrypted into a custody.db that custodyd can start from. The key is checked before anything
// is written; the file appears only once every chunk has authenticated (a wrong key, a damaged or
// cut-off backup leave nothing behind).
type restoreArgs struct {
	out, key string
}

func init() {
	add(define[restoreArgs]("restore", "FILE",
		"decrypt an encrypted backup (backup --encrypt) into -o custody.db with --key KEYFILE; a wrong key is refused and nothing is written"))
}

func (a *restoreArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "the register file to write (must not exist), e.g. /var/lib/custody/custody.db with custodyd stopped")
	fs.StringVar(&a.key, "key", "", "the backup key file the backup was encrypted with")
}

func (a *restoreArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "FILE"); err != nil {
		return err
	}
	if a.out == "" || a.key == "" {
		return exitf(ExitUsage, "-o FILE and --key KEYFILE are required")
	}
	if _, err := os.Stat(a.out); err == nil {
		return exitf(ExitConflict, "%s exists; choose a new file name", a.out)
	}
	text, err := os.ReadFile(a.key)
	if err != nil {
		return exitf(ExitNotFound, "%v", err)
	}
	key, err := sealedbackup.ReadKey(text)
	if err != nil {
		return exitf(ExitUsage, "%s: %v", a.key, err)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return exitf(ExitNotFound, "%v", err)
	}
	defer f.Close()
	r, err := sealedbackup.NewReader(f, key)
	switch {
	case errors.Is(err, sealedbackup.ErrWrongKey):
		return exitf(ExitConflict, "%s", c.say(
			fmt.Sprintf("密钥不对：%s 不是用 %s 加密的（%v）；未写入任何文件", args[0], a.key, err),
			fmt.Sprintf("%s: %v (key %s); nothing written", args[0], err, a.key)))
	case errors.Is(err, sealedbackup.ErrNotSealed):
		return exitf(ExitUsage, "%s", c.say(
			fmt.Sprintf("%s 不是加密备份（未加密的备份直接放入数据目录即可）", args[0]),
			fmt.Sprintf("%s: %v (a backup taken without --encrypt is a custody.db as it is)", args[0], err)))
	case err != nil:
		return err
	}
	err = c.writeOutWith(a.out, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
	if errors.Is(err, sealedbackup.ErrDamaged) || errors.Is(err, sealedbackup.ErrTruncated) {
		return exitf(ExitTampered, "%s", c.say(
			fmt.Sprintf("加密备份 %s 已损坏或被改动（%v）；未写入任何文件", args[0], err),
			fmt.Sprintf("%s: %v; nothing written", args[0], err)))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Stderr, c.say(
		fmt.Sprintf("已用 %s 解密还原到 %s；将其作为数据目录中的 custody.db 启动 custodyd（之后须重新登记各代理）", r.Cipher, a.out),
		fmt.Sprintf("decrypted (%s) into %s; start custodyd with it as custody.db in its data directory (then enrol each agent again)", r.Cipher, a.out)))
	return nil
}
