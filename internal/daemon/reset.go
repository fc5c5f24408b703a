package daemon

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"path/filepath"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// ResetAdmin is custodyd reset-admin: a new one-time password for an administrator account,
// written straight into the register in cfg's data directory (audited as the local OS user).
// custodyd must be stopped: it keeps the audit chain's head in memory (the data directory's lock
// says whether one runs).
func ResetAdmin(ctx context.Context, cfg Config, username string, out io.Writer) error {
	if username == "" {
		username = cfg.Bootstrap.AdminUser
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	dbPath := filepath.Join(cfg.DataDir, "custody.db")
	st, err := store.Open(ctx, dbPath, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.UseProfile(ctx, cfg.CryptoProfile()); err != nil {
		return err
	}
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	pw, err := register.New(st, nil).ResetAdmin(ctx, username, who)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n  已重置管理员 %q 的密码；一次性密码（仅显示这一次，首次登录后须修改）：\n  Administrator %q reset; one-time password (shown once, to be changed at first login):\n\n      %s\n\n  custodyctl login --user %s\n\n", username, username, pw, username)
	return nil
}
