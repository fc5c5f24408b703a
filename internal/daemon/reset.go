package daemon

import (
	"context"
	"fmt"
	"io"
	"os/user"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// ResetAdmin is custodyd reset-admin: a new one-time password for an administrator account,
// written straight into cfg's register (audited as the local OS user). The data directory's lock
// keeps it from running beside its own custodyd; its audit record joins the chain the way every
// write does, at the head read inside its transaction.
func ResetAdmin(ctx context.Context, cfg Config, username string, out io.Writer) error {
	if username == "" {
		username = cfg.Bootstrap.AdminUser
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := store.Open(ctx, cfg.StoreTarget(), nil)
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
