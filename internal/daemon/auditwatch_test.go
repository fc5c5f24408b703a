package daemon

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An edit of the register's history behind a running custodyd — the triggers dropped and the
// newest audit record rewritten, hash and all, as someone holding the database file and the
// sqlite3 shell could — is a critical audit_broken alert within seconds ([audit] verify_every),
// for the leaders and the secrecy office at once: not news at the next start.
func TestAChainEditedWhileRunningIsAnAlert(t *testing.T) {
	dir, _, addr := startSite(t, func(c *Config) { c.Audit.VerifyEvery.Duration = 200 * time.Millisecond })
	enrollAgent(t, addr, "room-1") // a few audit records: the sign-in, the enrolment
	count := counter(t, dir)
	time.Sleep(time.Second) // the watch has looked at them: the edit comes after a verification
	if n := count(`SELECT count(*) FROM alerts WHERE kind = 'audit_broken'`); n != 0 {
		t.Fatalf("audit_broken alerts on a sound chain: got %d, want 0", n)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "custody.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory', hash = '` + strings.Repeat("ab", 32) + `' WHERE seq = (SELECT max(seq) FROM audit WHERE action = 'agent.enroll')`); err != nil {
		t.Fatal(err)
	}
	waitCount(t, count, `SELECT count(*) FROM alerts WHERE kind = 'audit_broken' AND severity = 'critical' AND state = 'open'`, 20*time.Second,
		func() string { return "no open critical audit_broken alert 20 s after the chain was edited" })
	waitCount(t, count, `SELECT count(DISTINCT e.audience) - 1 FROM alert_events e JOIN alerts a ON a.id = e.alert_id
		WHERE a.kind = 'audit_broken' AND e.audience IN ('leaders', 'secrecy_office')`, 30*time.Second,
		func() string { return "the broken chain's alert did not go to both the leaders and the secrecy office" })
	if n := count(`SELECT count(*) FROM alerts WHERE kind = 'audit_broken'`); n != 1 {
		t.Errorf("audit_broken alerts: got %d, want one (the watch does not raise it again at each look)", n)
	}
}
