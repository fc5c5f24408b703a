package store

import (
	"context"
	"database/sql"
	"fmt"
)

// ScrubAgentKeys removes every agent's HMAC key from a backup copy at path (issue 13): a backup
// leaves the machine with whoever took it, and an agent's key lets its holder forge that agent's
// observations. The agents stay listed, revoked, so a custodyd restored from the copy refuses
// them until each is enrolled again (custodyctl agent enroll ID issues a new key). secure_delete
// overwrites the freed bytes and VACUUM rewrites the file, so the keys are not left in free pages.
func ScrubAgentKeys(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE&_secure_delete=on")
	if err != nil {
		return fmt.Errorf("scrub agent keys in %s: %w", path, err)
	}
	defer db.Close()
	for _, q := range []string{
		`PRAGMA secure_delete = ON`,
		`UPDATE agents SET key = x'', revoked_at = coalesce(revoked_at, '` + Now() + `')`,
		`VACUUM`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("scrub agent keys in %s: %w", path, Classify(err))
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM agents WHERE length(key) > 0`).Scan(&n); err != nil || n != 0 {
		return fmt.Errorf("scrub agent keys in %s: %d keys left (%v)", path, n, err)
	}
	return nil
}
