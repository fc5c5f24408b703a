package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/mattn/go-sqlite3"
)

// Backup writes a consistent copy of the live database to dest with SQLite's online backup API,
// while custodyd keeps serving. The copy is checked with PRAGMA integrity_check before Backup
// returns, and custodyd can start from it as it is. On PostgreSQL it refuses with
// ErrNotOnPostgres: the database server's pg_dump takes the backup there.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.dialect == Postgres {
		return fmt.Errorf("backup of %s: %w", s.path, ErrNotOnPostgres)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup to %s: %w: the file exists; choose a new name", dest, ErrConflict)
	}
	dst, err := sql.Open("sqlite3", "file:"+dest+"?_journal_mode=DELETE")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	defer dst.Close()
	dconn, err := dst.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, Classify(err))
	}
	defer dconn.Close()
	sconn, err := s.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup from %s: %w", s.path, Classify(err))
	}
	defer sconn.Close()
	err = dconn.Raw(func(dc any) error {
		return sconn.Raw(func(sc any) error {
			b, err := dc.(*sqlite3.SQLiteConn).Backup("main", sc.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			for {
				if err := ctx.Err(); err != nil {
					b.Close()
					return err
				}
				// A few hundred pages at a time lets writers proceed between steps.
				done, err := b.Step(256)
				if err != nil {
					b.Close()
					return err
				}
				if done {
					return b.Finish()
				}
			}
		})
	})
	if err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup %s to %s: %w", s.path, dest, Classify(err))
	}
	var ok string
	if err := dconn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("backup %s: the copy failed its integrity check (%q, %v)", dest, ok, err)
	}
	return nil
}
