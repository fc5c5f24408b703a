package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/custodyhq/custody/internal/store"
)

// Migrate is custodyd migrate: it moves the SQLite register in cfg's data directory into the
// empty PostgreSQL database at target (store.MoveInto: one transaction, counts and the audit
// chain's head checked on both sides), and says what to put in the config next. custodyd must
// be stopped (the data directory's lock says whether one runs); the SQLite file is left as it
// was, the fallback until the operator is satisfied.
func Migrate(ctx context.Context, cfg Config, target string, out io.Writer) error {
	if !store.IsURL(target) {
		return fmt.Errorf("-to: %q is not a postgres:// URL", store.Redact(target))
	}
	if err := store.CheckURL(target); err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	path := filepath.Join(cfg.DataDir, "custody.db")
	// store.Open would create an empty register: moving nothing must not look like success.
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("data_dir: %s holds no register (custody.db) to move", cfg.DataDir)
		}
		return fmt.Errorf("data_dir: %w", err)
	}
	src, err := store.Open(ctx, path, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.VerifyAudit(ctx); err != nil {
		return fmt.Errorf("audit chain in %s: %w — refusing to move a register whose history was edited outside custodyd", path, err)
	}
	dst, err := store.Open(ctx, target, nil)
	if err != nil {
		return err
	}
	defer dst.Close()
	fmt.Fprintf(out, "正在迁移登记簿：%s → %s\nMoving the register: %s → %s\n", path, store.Redact(target), path, store.Redact(target))
	moved, err := src.MoveInto(ctx, dst, func(t store.TableRows) {
		if t.Rows > 0 {
			fmt.Fprintf(out, "  %-24s %d\n", t.Table, t.Rows)
		}
	})
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range moved.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(out, "迁移完成：%d 张表 %d 行，两边行数一致；审计链一致，末条 %d %s\nDone: %d tables, %d rows, counts equal on both sides; audit chain identical, head %d %s\n",
		len(moved.Tables), rows, moved.AuditSeq, moved.AuditHead, len(moved.Tables), rows, moved.AuditSeq, moved.AuditHead)
	fmt.Fprintf(out, "下一步：将配置文件 [store] 的 url 设为 -to 所给的地址（%s），再启动 custodyd。原 SQLite 文件保持不变。\nNext: set [store] url in the config to the -to URL (%s) and start custodyd. The SQLite file is left unchanged.\n",
		store.Redact(target), store.Redact(target))
	return nil
}
